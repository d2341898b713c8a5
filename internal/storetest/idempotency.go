package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// RunIdempotencyContract runs the idempotency table's contract
// (submission.Idempotency: submissionstore.IdempotencyStore, and the
// in-memory one of submission's tests) against the stores newStore makes
// (a fresh, empty one per call).
func RunIdempotencyContract(t *testing.T, newStore func(t *testing.T) submission.Idempotency) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s submission.Idempotency)
	}{
		{"claims, writes by the owner, TTL and take", idempotencyConditions},
		{"MarkSent only while queued under the same token", idempotencyMarkSent},
		{"a retried claim is its own", idempotencyOwnClaim},
		{"an entry round-trips, its times in whole seconds", idempotencyRoundTrip},
		{"claim expiry is judged in whole seconds", idempotencyClaimSeconds},
		{"a claim without an expiry is held until the entry's", idempotencyClaimWithoutExpiry},
		{"nothing is written for an unknown key", idempotencyUnknown},
		{"of racing claims exactly one wins", idempotencyRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

func claimed(key, token string, now time.Time) *submission.Entry {
	return &submission.Entry{Key: key, ConnectionID: "zc_1", Module: "Leads", Fingerprint: "f", SubmissionID: "sub_1",
		State: submission.Claimed, ClaimToken: token, ClaimExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
}

// Moved from submissionstore's TestIdempotencyStoreConditions.
func idempotencyConditions(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	e := claimed("b_1", "run-1", now)

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

	// A taken entry whose claim expired (its consumer crashed) is taken
	// again.
	q.Key = "b_4"
	q.State, q.ClaimToken, q.ClaimExpiresAt = submission.Claimed, "run-5", now.Add(time.Minute)
	if _, err := s.Claim(ctx, &q, now); err != nil {
		t.Fatal(err)
	}
	t3 := q
	t3.ClaimToken = "consumer-3"
	if err := s.Take(ctx, &t3, now.Add(30*time.Second)); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("take of a live claim: %v", err)
	}
	if err := s.Take(ctx, &t3, now.Add(61*time.Second)); err != nil {
		t.Fatalf("take of an expired claim: %v", err)
	}
}

// Moved from submissionstore's TestIdempotencyMarkSent.
func idempotencyMarkSent(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	e := claimed("b_q", "run-1", now)
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

// The semantic half of submissionstore's TestIdempotencyClaimSurvivesASDKRetry
// (which loses a real answer on the wire).
func idempotencyOwnClaim(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	e := claimed("b_retry", "run-1", now)
	if prev, err := s.Claim(ctx, e, now); err != nil || prev != nil {
		t.Fatalf("claim: %+v %v", prev, err)
	}
	// The same claim again, as a retried request would write it: won.
	if prev, err := s.Claim(ctx, e, now); err != nil || prev != nil {
		t.Fatalf("the same claim again: %+v %v", prev, err)
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
	// A claim without a token is never anyone's own.
	anon := claimed("b_anon", "", now)
	if _, err := s.Claim(ctx, anon, now); err != nil {
		t.Fatal(err)
	}
	if prev, err := s.Claim(ctx, anon, now); !errors.Is(err, submission.ErrClaimHeld) || prev == nil {
		t.Fatalf("a tokenless claim again: %+v %v", prev, err)
	}
}

func idempotencyRoundTrip(t *testing.T, s submission.Idempotency) {
	base := time.Now().Truncate(time.Second)
	now := base.Add(300 * time.Millisecond)
	e := claimed("b_rt", "run-1", now)
	if _, err := s.Claim(ctx, e, now); err != nil {
		t.Fatal(err)
	}
	full := *e
	full.State, full.Answer, full.Record = submission.Queued, submission.Answer{Status: 202, Body: `{"status":"queued"}`}, []byte(`{"Email":"a@b.c"}`)
	full.QueuedAt, full.HoldUntil, full.MessageSent, full.Attempts = now, now.Add(7*24*time.Hour), true, 3
	full.DeliveredStatus, full.RecordID, full.LastError = 201, "9001", "zoho_unavailable"
	if err := s.Put(ctx, &full, "run-1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "b_rt")
	if err != nil || got == nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	want := full
	want.ClaimExpiresAt, want.QueuedAt, want.HoldUntil, want.ExpiresAt = second(full.ClaimExpiresAt), second(now), second(full.HoldUntil), second(full.ExpiresAt)
	sameExcept(t, "entry", &want, got)
	// No record, or an empty one, is read back as no bytes.
	for _, rec := range [][]byte{nil, {}} {
		empty := full
		empty.Record = rec
		if err := s.Put(ctx, &empty, "run-1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "b_rt"); len(got.Record) != 0 {
			t.Fatalf("record %q", got.Record)
		}
	}
	// Past its TTL an entry is gone, though DynamoDB deletes it only later.
	old := claimed("b_old", "run-1", time.Now().Add(-48*time.Hour))
	if _, err := s.Claim(ctx, old, time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "b_old"); err != nil || got != nil {
		t.Fatalf("an entry past its TTL: %+v %v", got, err)
	}
}

func idempotencyClaimSeconds(t *testing.T, s submission.Idempotency) {
	base := time.Now().Truncate(time.Second)
	e := claimed("b_s", "run-1", base)
	e.ClaimExpiresAt = base.Add(700 * time.Millisecond) // kept as base
	if _, err := s.Claim(ctx, e, base.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	other := *e
	other.ClaimToken = "run-2"
	if _, err := s.Claim(ctx, &other, base.Add(900*time.Millisecond)); !errors.Is(err, submission.ErrClaimHeld) {
		t.Fatalf("a claim taken within the second it expires in: %v", err)
	}
	if prev, err := s.Claim(ctx, &other, base.Add(time.Second)); err != nil || prev != nil {
		t.Fatalf("a claim not taken the second after it expired: %+v %v", prev, err)
	}
}

func idempotencyClaimWithoutExpiry(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	e := claimed("b_n", "run-1", now)
	e.ClaimExpiresAt = time.Time{}
	if _, err := s.Claim(ctx, e, now); err != nil {
		t.Fatal(err)
	}
	other := *e
	other.ClaimToken = "run-2"
	if _, err := s.Claim(ctx, &other, now.Add(time.Hour)); !errors.Is(err, submission.ErrClaimHeld) {
		t.Fatalf("a claim without expiry was taken: %v", err)
	}
	if err := s.Take(ctx, &other, now.Add(time.Hour)); !errors.Is(err, submission.ErrClaimLost) {
		t.Fatalf("a claim without expiry was taken from the queue: %v", err)
	}
	if prev, err := s.Claim(ctx, &other, now.Add(25*time.Hour)); err != nil || prev != nil {
		t.Fatalf("claim after the entry's TTL: %+v %v", prev, err)
	}
}

func idempotencyUnknown(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	e := claimed("b_u", "run-1", now)
	if got, err := s.Get(ctx, "b_u"); got != nil || err != nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	q := *e
	q.State = submission.Queued
	for name, write := range map[string]func() error{
		"put":      func() error { return s.Put(ctx, e, "run-1") },
		"take":     func() error { return s.Take(ctx, e, now) },
		"marksent": func() error { return s.MarkSent(ctx, &q) },
		"release":  func() error { return s.Release(ctx, "b_u", "run-1") },
	} {
		if err := write(); !errors.Is(err, submission.ErrClaimLost) {
			t.Errorf("%s of an unknown key: %v", name, err)
		}
	}
	if got, err := s.Get(ctx, "b_u"); got != nil || err != nil {
		t.Fatalf("something was written: %+v %v", got, err)
	}
}

func idempotencyRace(t *testing.T, s submission.Idempotency) {
	now := time.Now().Truncate(time.Second)
	var (
		wg           sync.WaitGroup
		mu           sync.Mutex
		wins, denied int
	)
	for i := range 8 {
		wg.Go(func() {
			e := claimed("b_race", "run-"+string(rune('a'+i)), now)
			prev, err := s.Claim(ctx, e, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && prev == nil:
				wins++
			case errors.Is(err, submission.ErrClaimHeld) && prev != nil:
				denied++
			default:
				t.Errorf("claim: %+v %v", prev, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || denied != 7 {
		t.Fatalf("%d won, %d denied", wins, denied)
	}
}
