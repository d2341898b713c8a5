//go:build integration

package submissionstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

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
	// That the claim is then held against others, and that an entry moved
	// on is nobody's claim, is the contract's (idempotencyOwnClaim, run on
	// this adapter in contract_integration_test.go).
	other := *e
	other.ClaimToken = "run-2"
	if prev, err := s.Claim(ctx, &other, now); !errors.Is(err, submission.ErrClaimHeld) || prev.ClaimToken != "run-1" {
		t.Fatalf("another claim after the lost answer: %+v %v", prev, err)
	}
}

// Requeue writes only over a rejected entry: a second replay of the same
// dead letter (the entry now queued) loses.
func TestIdempotencyRequeueOnlyWhileRejected(t *testing.T) {
	env := testenv.New(t)
	s := &submissionstore.IdempotencyStore{DB: env.DynamoDB, Table: env.Tables["IdempotencyTable"]}
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	e := &submission.Entry{Key: "b_requeue", ConnectionID: "zc_1", Module: "Leads", SubmissionID: "sub_1",
		State: submission.Claimed, ClaimToken: "run-1", ClaimExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	if _, err := s.Claim(ctx, e, now); err != nil {
		t.Fatal(err)
	}
	rejected := *e
	rejected.State, rejected.LastError, rejected.Record, rejected.Attempts = submission.Rejected, "reauth_timeout", []byte(`{"fields":{"a":"b"}}`), 3
	requeued := rejected
	if err := requeued.Requeue(now, submission.Timings{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, &requeued); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("requeue of a claimed entry: %v", err)
	}
	if err := s.Put(ctx, &rejected, "run-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, &requeued); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, e.Key)
	if err != nil || got.State != submission.Queued || got.Attempts != 0 || !got.HoldUntil.Equal(now.Add(7*24*time.Hour)) || string(got.Record) != `{"fields":{"a":"b"}}` {
		t.Fatalf("%+v %v", got, err)
	}
	if err := s.Requeue(ctx, &requeued); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("second requeue: %v", err)
	}
}
