//go:build integration

package awsstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submissionstore"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestConnectionListPagesAndFilters(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	store := awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	want := map[connection.Status]int{}
	for i := range 25 {
		st := []connection.Status{connection.Active, connection.ReauthRequired, connection.Disconnected}[i%3]
		want[st]++
		id := connection.ID("eu", zoho.Sandbox, fmt.Sprint(9000+i))
		if _, err := store.Update(ctx, id, func(c *connection.Connection) error {
			c.Location, c.Environment, c.OrgID, c.OrgName = "eu", "sandbox", fmt.Sprint(9000+i), "Org"
			c.FieldMapping = map[string]string{"email": "Email"}
			c.SetStatus(st, "", time.Now())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	l := awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	l.PageSize = 10
	seen := map[string]bool{}
	st, err := l.List(ctx, "", func(c *connection.Connection) error {
		if seen[c.ID] || c.OrgName != "Org" || c.FieldMapping["email"] != "Email" || c.Version != 1 {
			t.Errorf("listed %+v", c)
		}
		seen[c.ID] = true
		return nil
	})
	if err != nil || len(seen) != 25 || st.Matched != 25 || st.Scanned != 25 || st.Pages < 3 {
		t.Fatalf("%v: %d seen, %+v", err, len(seen), st)
	}
	for status, n := range want {
		got := 0
		st, err := l.List(ctx, status, func(c *connection.Connection) error {
			if c.Status != status {
				t.Errorf("%s listed for %s", c.Status, status)
			}
			got++
			return nil
		})
		if err != nil || got != n || st.Scanned != 25 {
			t.Errorf("%s: %d of %d, %+v, %v", status, got, n, st, err)
		}
	}
	stop := errors.New("stop")
	if _, err := l.List(ctx, "", func(*connection.Connection) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("the callback's error: %v", err)
	}
}

func TestTokenSecretInspector(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	vault := &awsstore.TokenVault{SM: env.SecretsManager, Prefix: env.TokenSecretPrefix}
	insp := &awsstore.TokenSecretInspector{SM: env.SecretsManager, Prefix: env.TokenSecretPrefix}
	id := connection.ID("us", zoho.Production, "77")
	if err := vault.PutRefreshToken(ctx, id, "1000.refresh-value"); err != nil {
		t.Fatal(err)
	}
	got, err := insp.Describe(ctx, id)
	if err != nil || len(got) != 2 {
		t.Fatal(got, err)
	}
	if got[0].Kind != "access" || got[0].Exists || got[0].Name != env.TokenSecretPrefix+"access/"+id {
		t.Errorf("access: %+v", got[0])
	}
	if got[1].Kind != "refresh" || !got[1].Exists || time.Since(got[1].LastChanged) > time.Minute {
		t.Errorf("refresh: %+v", got[1])
	}
}

func TestMessageQueueAndDeadLetterDiscovery(t *testing.T) {
	env := testenv.New(t, testenv.WithQueues())
	ctx := context.Background()
	main, dlq := env.Queues["SubmissionQueue"], env.Queues["SubmissionDeadLetterQueue"]
	found, err := submissionstore.DeadLetterQueueURL(ctx, env.SQS, main)
	if err != nil || found != dlq {
		t.Fatalf("found %q, %v; want %q", found, err, dlq)
	}
	if _, err := submissionstore.DeadLetterQueueURL(ctx, env.SQS, dlq); err == nil {
		t.Fatal("a queue without a redrive policy has a dead-letter queue")
	}
	q := &submissionstore.MessageQueue{SQS: env.SQS, URL: dlq}
	if _, err := env.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Receive(ctx, 10, 30*time.Second, time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != 1 || time.Since(msgs[0].SentAt) > time.Minute || msgs[0].Body != `{"a":1}` {
		t.Fatalf("%+v %v", msgs, err)
	}
	if again, _ := q.Receive(ctx, 10, 30*time.Second, time.Second); len(again) != 0 {
		t.Fatal("a received message is visible")
	}
	if err := q.Release(ctx, msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if visible, _, err := q.ApproximateCount(ctx); err != nil || visible != 1 {
		t.Fatalf("after release: %d visible, %v", visible, err)
	}
	msgs, _ = q.Receive(ctx, 10, 30*time.Second, time.Second)
	if len(msgs) != 1 || msgs[0].ReceiveCount != 2 {
		t.Fatalf("%+v", msgs)
	}
	if err := (&submissionstore.MessageQueue{SQS: env.SQS, URL: main}).Send(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(ctx, msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if visible, inFlight, _ := q.ApproximateCount(ctx); visible+inFlight != 0 {
		t.Fatalf("the dead-letter queue holds %d", visible+inFlight)
	}
}
