package submissionstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// QueueAPI is the part of the SQS client the queue adapter uses.
type QueueAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

var _ QueueAPI = (*sqs.Client)(nil)

// QueueMessage is one received message.
type QueueMessage struct {
	ID            string
	ReceiptHandle string
	Body          string
	SentAt        time.Time
	// ReceiveCount counts every receive, an operator's listing included.
	ReceiveCount int
	Attributes   map[string]sqstypes.MessageAttributeValue
}

// MessageQueue is one SQS queue, as the operator's command handles it.
type MessageQueue struct {
	SQS QueueAPI
	URL string
}

// Receive takes up to n (at most 10) messages and hides them for
// visibility. It waits up to wait for the first one; a wait of a second or
// more asks every SQS server, so an empty answer means an empty queue.
func (q *MessageQueue) Receive(ctx context.Context, n int, visibility, wait time.Duration) ([]QueueMessage, error) {
	n = min(max(n, 1), 10)
	out, err := q.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &q.URL,
		MaxNumberOfMessages:         int32(n),
		VisibilityTimeout:           int32(visibility / time.Second),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.URL, err)
	}
	msgs := make([]QueueMessage, 0, len(out.Messages))
	for _, m := range out.Messages {
		qm := QueueMessage{
			ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.MessageAttributes,
		}
		if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			qm.SentAt = time.UnixMilli(ms).UTC()
		}
		qm.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs = append(msgs, qm)
	}
	return msgs, nil
}

// Send puts a copy of m (body and message attributes) on this queue.
func (q *MessageQueue) Send(ctx context.Context, m QueueMessage) error {
	_, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: &q.URL, MessageBody: aws.String(m.Body), MessageAttributes: m.Attributes,
	})
	if err != nil {
		return fmt.Errorf("send to %s: %w", q.URL, err)
	}
	return nil
}

// Delete removes a received message.
func (q *MessageQueue) Delete(ctx context.Context, receiptHandle string) error {
	_, err := q.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.URL, ReceiptHandle: aws.String(receiptHandle)})
	if err != nil {
		return fmt.Errorf("delete from %s: %w", q.URL, err)
	}
	return nil
}

// Release makes a received message visible again at once.
func (q *MessageQueue) Release(ctx context.Context, receiptHandle string) error {
	_, err := q.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &q.URL, ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: 0,
	})
	if err != nil {
		return fmt.Errorf("release message on %s: %w", q.URL, err)
	}
	return nil
}

// ApproximateCount is SQS's estimate of the messages waiting and of those
// received and not yet deleted.
func (q *MessageQueue) ApproximateCount(ctx context.Context) (visible, inFlight int, err error) {
	out, err := q.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &q.URL,
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read attributes of %s: %w", q.URL, err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

// DeadLetterQueueURL finds the dead-letter queue of a queue from its
// redrive policy, for when only the source queue's URL is configured.
func DeadLetterQueueURL(ctx context.Context, api QueueAPI, sourceURL string) (string, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &sourceURL,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return "", fmt.Errorf("read the redrive policy of %s: %w", sourceURL, err)
	}
	raw := out.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)]
	var rp struct {
		Target string `json:"deadLetterTargetArn"`
	}
	if raw == "" || json.Unmarshal([]byte(raw), &rp) != nil || rp.Target == "" {
		return "", fmt.Errorf("%s has no dead-letter queue in its redrive policy", sourceURL)
	}
	// arn:aws:sqs:region:account:name
	parts := strings.Split(rp.Target, ":")
	if len(parts) != 6 || parts[2] != "sqs" {
		return "", fmt.Errorf("the redrive policy of %s names %q, not an SQS queue ARN", sourceURL, rp.Target)
	}
	u, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", fmt.Errorf("find the dead-letter queue %s: %w", parts[5], err)
	}
	return aws.ToString(u.QueueUrl), nil
}
