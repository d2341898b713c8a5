package submissionstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// SQS is the part of the SQS client the submission queue uses.
type SQS interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ SQS = (*sqs.Client)(nil)

// SubmissionQueue is the sync function's retry queue. Its messages are
// references to idempotency entries, never submitted content.
type SubmissionQueue struct {
	SQS SQS
	URL string
}

var _ submission.Queue = (*SubmissionQueue)(nil)

// SQS limits: DelaySeconds at most 15 minutes, a visibility timeout at
// most 12 hours.
const (
	maxDelay      = 15 * time.Minute
	maxVisibility = 12 * time.Hour
)

// Send queues m, delivered after delay (at most 15 minutes).
func (q *SubmissionQueue) Send(ctx context.Context, m submission.Message, delay time.Duration) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	delay = min(max(delay, 0), maxDelay)
	_, err = q.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(q.URL),
		MessageBody:  aws.String(string(b)),
		DelaySeconds: int32(delay / time.Second),
	})
	if err != nil {
		return fmt.Errorf("send to the submission queue: %w", err)
	}
	return nil
}

// Delay hides a received message for d (at most 12 hours) before it is
// received again.
func (q *SubmissionQueue) Delay(ctx context.Context, receiptHandle string, d time.Duration) error {
	d = min(max(d, 0), maxVisibility)
	_, err := q.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.URL),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		return fmt.Errorf("change a message's visibility: %w", err)
	}
	return nil
}
