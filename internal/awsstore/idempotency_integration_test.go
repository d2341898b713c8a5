//go:build integration

package awsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

func TestIdempotencyStoreConditions(t *testing.T) {
	env := testenv.New(t)
	s := &awsstore.IdempotencyStore{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	e := &submission.Entry{Key: "b_1", ConnectionID: "zc_1", Module: "Leads", Fingerprint: "f", SubmissionID: "sub_1",
		State: submission.Claimed, ClaimToken: "run-1", ClaimExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}

	if prev, err := s.Claim(ctx, e, now); err != nil || prev != nil {
		t.Fatalf("first claim: %v %v", prev, err)
	}
	other := *e
	other.ClaimToken = "run-2"
	prev, err := s.Claim(ctx, &other, now)
	if !errors.Is(err, submission.ErrClaimHeld) || prev == nil || prev.ClaimToken != "run-1" || prev.State != submission.Claimed {
		t.Fatalf("second claim: %+v %v", prev, err)
	}
	// Only the owner writes.
	done := *e
	done.State, done.Answer = submission.Done, submission.Answer{Status: 201, Body: `{"status":"created"}`}
	if err := s.Put(ctx, &done, "run-2"); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("put by another: %v", err)
	}
	if err := s.Put(ctx, &done, "run-1"); err != nil {
		t.Fatal(err)
	}
	prev, err = s.Claim(ctx, &other, now.Add(2*time.Minute))
	if !errors.Is(err, submission.ErrClaimHeld) || prev.Answer.Status != 201 || prev.Answer.Body != `{"status":"created"}` {
		t.Fatalf("claim of a done entry: %+v %v", prev, err)
	}
	if err := s.Take(ctx, &other, now); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("take of a done entry: %v", err)
	}
	// Past its TTL (not yet deleted by DynamoDB) the key is free.
	if prev, err := s.Claim(ctx, &other, now.Add(25*time.Hour)); err != nil || prev != nil {
		t.Fatalf("claim after TTL: %v %v", prev, err)
	}

	// A crashed run's claim can be taken after claim_expires_at.
	crashed := *e
	crashed.Key = "b_2"
	if _, err := s.Claim(ctx, &crashed, now); err != nil {
		t.Fatal(err)
	}
	next := crashed
	next.ClaimToken = "run-3"
	if _, err := s.Claim(ctx, &next, now.Add(30*time.Second)); !errors.Is(err, submission.ErrClaimHeld) {
		t.Fatalf("claim before expiry: %v", err)
	}
	if prev, err := s.Claim(ctx, &next, now.Add(61*time.Second)); err != nil || prev != nil {
		t.Fatalf("claim after expiry: %v %v", prev, err)
	}

	// Queued → taken once; the record survives the round trip.
	q := *e
	q.Key, q.ClaimToken = "b_3", "run-4"
	if _, err := s.Claim(ctx, &q, now); err != nil {
		t.Fatal(err)
	}
	q.State, q.ClaimExpiresAt, q.Record, q.QueuedAt, q.HoldUntil = submission.Queued, time.Time{}, []byte(`{"Last_Name":"L"}`), now, now.Add(time.Hour)
	if err := s.Put(ctx, &q, "run-4"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "b_3")
	if err != nil || got.State != submission.Queued || string(got.Record) != `{"Last_Name":"L"}` || !got.HoldUntil.Equal(now.Add(time.Hour)) {
		t.Fatalf("get: %+v %v", got, err)
	}
	t1, t2 := *got, *got
	t1.State, t1.ClaimToken, t1.ClaimExpiresAt = submission.Claimed, "consumer-1", now.Add(time.Minute)
	t2.State, t2.ClaimToken, t2.ClaimExpiresAt = submission.Claimed, "consumer-2", now.Add(time.Minute)
	if err := s.Take(ctx, &t1, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, &t2, now); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("second take: %v", err)
	}
	if err := s.Release(ctx, "b_3", "consumer-2"); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("release by another: %v", err)
	}
	if err := s.Release(ctx, "b_3", "consumer-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "b_3"); err != nil || got != nil {
		t.Fatalf("after release: %+v %v", got, err)
	}
}

func TestSubmissionQueue(t *testing.T) {
	env := testenv.New(t, testenv.WithQueues())
	url := env.Queues["SubmissionQueue"]
	q := &awsstore.SubmissionQueue{SQS: env.SQS, URL: url}
	ctx := context.Background()
	m := submission.Message{Key: "b_1", ConnectionID: "zc_1", SubmissionID: "sub_1"}
	if err := q.Send(ctx, m, time.Hour); err != nil { // capped at 15 min
		t.Fatal(err)
	}
	if err := q.Send(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	out, err := env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages visible, want 1 (the other is delayed)", len(out.Messages))
	}
	var got submission.Message
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got); err != nil || got != m {
		t.Fatalf("message %s", aws.ToString(out.Messages[0].Body))
	}
	if err := q.Delay(ctx, aws.ToString(out.Messages[0].ReceiptHandle), 0); err != nil {
		t.Fatal(err)
	}
	again, err := env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("not visible again after Delay(0): %v", err)
	}
}
