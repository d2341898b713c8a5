//go:build integration

package submissionstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/storetest"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

// The adapters pass the contracts the fakes the unit tests use pass
// (internal/submission, contract_test.go), each on a fresh table or queue
// made from template.yaml.

func TestIdempotencyContract(t *testing.T) {
	storetest.RunIdempotencyContract(t, func(t *testing.T) submission.Idempotency {
		env := testenv.New(t)
		return &submissionstore.IdempotencyStore{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
	})
}

func TestQueueContract(t *testing.T) {
	storetest.RunQueueContract(t, func(t *testing.T) (submission.Queue, storetest.QueueProbe) {
		env := testenv.New(t, testenv.WithQueues())
		url := env.Queues["SubmissionQueue"]
		return &submissionstore.SubmissionQueue{SQS: env.SQS, URL: url}, sqsProbe{env.SQS, url}
	})
}

// sqsProbe receives as the SQS event source does.
type sqsProbe struct {
	sqs *sqs.Client
	url string
}

func (p sqsProbe) Receive(t *testing.T) []storetest.Received {
	t.Helper()
	out, err := p.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(p.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []storetest.Received
	for _, m := range out.Messages {
		var msg submission.Message
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
			t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
		}
		got = append(got, storetest.Received{Message: msg, ReceiptHandle: aws.ToString(m.ReceiptHandle)})
	}
	return got
}

func TestRateCounterContract(t *testing.T) {
	storetest.RunRateCounterContract(t, func(t *testing.T) submission.RateCounter {
		env := testenv.New(t)
		return &submissionstore.RateCounter{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
	})
}

func TestSlotsContract(t *testing.T) {
	storetest.RunSlotsContract(t, func(t *testing.T) submission.SlotStore {
		env := testenv.New(t)
		return &submissionstore.SlotStore{DB: env.DynamoDB, Table: env.Tables["ConcurrencyTable"]}
	})
}
