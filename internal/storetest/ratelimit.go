package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// RunRateCounterContract runs the rate limit's counter contract
// (submission.RateCounter: submissionstore.RateCounter, and the in-memory
// one of submission's tests) against the counters newCounter makes (a
// fresh, empty one per call).
func RunRateCounterContract(t *testing.T, newCounter func(t *testing.T) submission.RateCounter) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c submission.RateCounter)
	}{
		{"counts up to the limit, per connection and window", rateCounts},
		{"concurrent takes never exceed the limit", rateRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newCounter(t)) })
	}
}

func rateCounts(t *testing.T, c submission.RateCounter) {
	w := time.Now().UTC().Truncate(submission.RateWindow)
	exp := w.Add(2 * submission.RateWindow)
	for i := range 3 {
		if err := c.Take(ctx, "zc_1", w, 3, exp); err != nil {
			t.Fatalf("take %d: %v", i+1, err)
		}
	}
	for i := range 2 {
		if err := c.Take(ctx, "zc_1", w, 3, exp); !errors.Is(err, submission.ErrRateLimited) {
			t.Fatalf("take over the limit %d: %v", i+1, err)
		}
	}
	// A refused take counted nothing: a higher limit has room for exactly
	// the difference.
	if err := c.Take(ctx, "zc_1", w, 4, exp); err != nil {
		t.Fatalf("take under a higher limit: %v", err)
	}
	if err := c.Take(ctx, "zc_1", w, 4, exp); !errors.Is(err, submission.ErrRateLimited) {
		t.Fatalf("refused takes were counted: %v", err)
	}
	// Another connection, and the next window, count from zero.
	if err := c.Take(ctx, "zc_2", w, 1, exp); err != nil {
		t.Fatalf("another connection: %v", err)
	}
	next := w.Add(submission.RateWindow)
	if err := c.Take(ctx, "zc_1", next, 1, next.Add(2*submission.RateWindow)); err != nil {
		t.Fatalf("next window: %v", err)
	}
}

func rateRace(t *testing.T, c submission.RateCounter) {
	w := time.Now().UTC().Truncate(submission.RateWindow)
	const limit, racers = 7, 24
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			switch err := c.Take(ctx, "zc_race", w, limit, w.Add(2*submission.RateWindow)); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, submission.ErrRateLimited):
				limited.Add(1)
			default:
				t.Errorf("take: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != limit || limited.Load() != racers-limit {
		t.Fatalf("%d taken, %d limited; want %d and %d", ok.Load(), limited.Load(), limit, racers-limit)
	}
}
