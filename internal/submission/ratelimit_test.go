package submission

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func (w *world) limit(perMinute int) *memRateCounter {
	rc := &memRateCounter{n: map[string]int{}}
	w.svc.RateLimit = RateLimit{Counter: rc, PerMinute: perMinute}
	return rc
}

func lead(i int) string {
	return fmt.Sprintf(`{"email":"p%d@example.com","name":"Person %d"}`, i, i)
}

// Over the limit: 429 rate_limited with the seconds to the window's end,
// nothing sent to Zoho, and the claim given back (its retry is a new
// submission, not a 409).
func TestRateLimitRefusesOverTheLimit(t *testing.T) {
	w := newWorld(t)
	w.limit(2)
	for i := range 2 {
		if status, body := w.post(t, w.request("application/json", lead(i))); status != 201 {
			t.Fatalf("submission %d: %d %v", i, status, body)
		}
	}
	resp := w.h.Handle(context.Background(), w.request("application/json", lead(2)))
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	if resp.StatusCode != 429 || body["error"] != "rate_limited" || body["message"] == "" || resp.Headers["Retry-After"] == "" {
		t.Fatalf("over the limit: %d %v %v", resp.StatusCode, resp.Headers, body)
	}
	if w.crm.count() != 2 || len(w.queue.take()) != 0 {
		t.Fatalf("%d Zoho calls, queue %v", w.crm.count(), w.queue.take())
	}
	w.idem.mu.Lock()
	n := len(w.idem.m)
	w.idem.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d idempotency entries: the refused claim was kept", n)
	}
}

// A repeat is answered from its entry and never counted, even when the
// limit is spent; only new submissions take from it.
func TestRateLimitRepeatNotCounted(t *testing.T) {
	w := newWorld(t)
	rc := w.limit(1)
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 201 {
		t.Fatalf("first: %d", status)
	}
	for range 3 {
		if status, body := w.post(t, w.request("application/json", leadJSON)); status != 201 || body["record_id"] != "9001" {
			t.Fatalf("repeat: %d %v", status, body)
		}
	}
	if status, body := w.post(t, w.request("application/json", lead(1))); status != 429 {
		t.Fatalf("a new submission over the limit: %d %v", status, body)
	}
	if rc.takes != 2 || w.crm.count() != 1 {
		t.Fatalf("%d takes of the counter (want 2: the repeats take none), %d Zoho calls", rc.takes, w.crm.count())
	}
	// A refusal (422) before the claim takes nothing either.
	if status, _ := w.post(t, w.request("application/json", `{"email":"x@example.com"}`)); status != 422 || rc.takes != 2 {
		t.Fatalf("refused submission: %d, %d takes", status, rc.takes)
	}
}

// Retry-After is the whole seconds to the end of the minute's window,
// rounded up; the next window has room again.
func TestRateLimitRetryAfter(t *testing.T) {
	w := newWorld(t)
	w.limit(1)
	base := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	now := base.Add(44*time.Second + 300*time.Millisecond)
	w.svc.Now = func() time.Time { return now }
	if status, _ := w.post(t, w.request("application/json", lead(0))); status != 201 {
		t.Fatalf("first: %d", status)
	}
	resp := w.h.Handle(context.Background(), w.request("application/json", lead(1)))
	if resp.StatusCode != 429 || resp.Headers["Retry-After"] != "16" {
		t.Fatalf("got %d Retry-After %q, want 429 16", resp.StatusCode, resp.Headers["Retry-After"])
	}
	now = base.Add(time.Minute)
	if status, body := w.post(t, w.request("application/json", lead(1))); status != 201 {
		t.Fatalf("next window: %d %v", status, body)
	}
	for _, tc := range []struct {
		left time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {59*time.Second + 1, 60}} {
		if got := (&RateLimitedError{RetryAfter: tc.left}).RetryAfterSeconds(); got != tc.want {
			t.Errorf("Retry-After of %s: %d, want %d", tc.left, got, tc.want)
		}
	}
}

type failingCounter struct{ takes int }

func (f *failingCounter) Take(context.Context, string, time.Time, int, time.Time) error {
	f.takes++
	return errBoom
}

// 0 is no limit (the counter is never asked); a counter that fails lets
// the submission through.
func TestRateLimitOffAndCounterDown(t *testing.T) {
	w := newWorld(t)
	off := &memRateCounter{n: map[string]int{}}
	w.svc.RateLimit = RateLimit{Counter: off, PerMinute: 0}
	if status, _ := w.post(t, w.request("application/json", lead(0))); status != 201 || off.takes != 0 {
		t.Fatalf("limit off: %d, %d takes", status, off.takes)
	}
	down := &failingCounter{}
	w.svc.RateLimit = RateLimit{Counter: down, PerMinute: 1}
	if status, _ := w.post(t, w.request("application/json", lead(1))); status != 201 || down.takes != 1 {
		t.Fatalf("counter down: %d, %d takes", status, down.takes)
	}
}
