//go:build integration

package submissionstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submissionstore"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

func TestIdempotencyStoreConditions(t *testing.T) {
	env := testenv.New(t)
	s := &submissionstore.IdempotencyStore{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
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
	q := &submissionstore.SubmissionQueue{SQS: env.SQS, URL: url}
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

// losingTransport delivers the first PutItem to DynamoDB, then drops its
// answer as a connection reset would: the SDK retries the same request.
type losingTransport struct {
	lost atomic.Int32
}

func (l *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.PutItem" && l.lost.CompareAndSwap(0, 1) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")
	}
	return resp, err
}

// The SDK retries a claim whose first try was written but whose answer
// was lost: the retry's condition fails on that very claim. It is won, not
// answered as someone else's (which would give the client 409 for its own
// first request).
func TestIdempotencyClaimSurvivesASDKRetry(t *testing.T) {
	env := testenv.New(t)
	lossy := &losingTransport{}
	db := dynamodb.NewFromConfig(env.Config, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: lossy}
		o.DisableValidateResponseChecksum = true
	})
	s := &submissionstore.IdempotencyStore{DB: db, Table: env.Tables["IdempotencyTable"]}
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	e := &submission.Entry{Key: "b_retry", ConnectionID: "zc_1", Module: "Leads", Fingerprint: "f", SubmissionID: "sub_1",
		State: submission.Claimed, ClaimToken: "run-1", ClaimExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
	prev, err := s.Claim(ctx, e, now)
	if lossy.lost.Load() != 1 {
		t.Fatal("no answer was lost: the test did not test anything")
	}
	if err != nil || prev != nil {
		t.Fatalf("claim after a lost answer: %+v %v", prev, err)
	}
	// Someone else's claim is still held.
	other := *e
	other.ClaimToken = "run-2"
	if prev, err := s.Claim(ctx, &other, now); !errors.Is(err, submission.ErrClaimHeld) || prev.ClaimToken != "run-1" {
		t.Fatalf("another claim: %+v %v", prev, err)
	}
	// Once the entry has moved on (done), the same token claims nothing.
	done := *e
	done.State, done.Answer = submission.Done, submission.Answer{Status: 201, Body: "{}"}
	if err := s.Put(ctx, &done, "run-1"); err != nil {
		t.Fatal(err)
	}
	if prev, err := s.Claim(ctx, e, now); !errors.Is(err, submission.ErrClaimHeld) || prev.State != submission.Done {
		t.Fatalf("claim of a done entry with its old token: %+v %v", prev, err)
	}
}

// MarkSent records a queued entry's message only while it is still queued
// under the claim token it was queued with.
func TestIdempotencyMarkSent(t *testing.T) {
	env := testenv.New(t)
	s := &submissionstore.IdempotencyStore{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	e := &submission.Entry{Key: "b_q", ConnectionID: "zc_1", Module: "Leads", Fingerprint: "f", SubmissionID: "sub_1",
		State: submission.Claimed, ClaimToken: "run-1", ClaimExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
	if _, err := s.Claim(ctx, e, now); err != nil {
		t.Fatal(err)
	}
	// Still claimed, not queued: nothing to mark.
	sent := *e
	sent.MessageSent = true
	if err := s.MarkSent(ctx, &sent); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("mark a claimed entry: %v", err)
	}
	q := *e
	q.State, q.ClaimExpiresAt, q.Record, q.QueuedAt = submission.Queued, time.Time{}, []byte(`{"Last_Name":"L"}`), now
	if err := s.Put(ctx, &q, "run-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "b_q"); got.MessageSent {
		t.Fatal("message_sent before MarkSent")
	}
	sent = q
	sent.MessageSent = true
	if err := s.MarkSent(ctx, &sent); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "b_q"); !got.MessageSent || got.State != submission.Queued || string(got.Record) != `{"Last_Name":"L"}` {
		t.Fatalf("after MarkSent: %+v", got)
	}
	// A consumer took it: a late MarkSent of the queued entry loses.
	taken := sent
	taken.State, taken.ClaimToken, taken.ClaimExpiresAt, taken.Attempts = submission.Claimed, "consumer-1", now.Add(time.Minute), 1
	if err := s.Take(ctx, &taken, now); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, &sent); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("mark a taken entry: %v", err)
	}
	// Given up with the queued token (rejected): never queued again.
	rejected := sent
	rejected.Key, rejected.State, rejected.LastError = "b_r", submission.Rejected, "connection_gone"
	r0 := rejected
	r0.State = submission.Claimed
	if _, err := s.Claim(ctx, &r0, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &rejected, rejected.ClaimToken); err != nil {
		t.Fatal(err)
	}
	late := rejected
	late.State = submission.Queued
	if err := s.MarkSent(ctx, &late); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("mark a rejected entry: %v", err)
	}
	if got, _ := s.Get(ctx, "b_r"); got.State != submission.Rejected {
		t.Fatalf("a rejected entry came back: %+v", got)
	}
}
