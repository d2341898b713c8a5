package submission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// RateWindow is the length of a rate limit's fixed window.
const RateWindow = time.Minute

// RateCounter counts a connection's accepted submissions in fixed windows,
// shared by every instance of the function
// (submissionstore.RateCounter: one conditional UpdateItem of a counter
// item in the idempotency table).
type RateCounter interface {
	// Take counts one submission of connection id in the window that
	// starts at window, unless the window already counts limit (or
	// more): then nothing is counted and the error is ErrRateLimited.
	// expiresAt is when the counter may be forgotten (its TTL).
	Take(ctx context.Context, id string, window time.Time, limit int, expiresAt time.Time) error
}

// RateLimit is a per-connection limit of accepted submissions.
type RateLimit struct {
	Counter RateCounter
	// PerMinute is the most submissions a connection may have accepted in
	// one minute (SUBMISSIONS_PER_CONNECTION_PER_MINUTE); 0: no limit.
	PerMinute int
}

// ErrRateLimited: the connection's own rate limit is spent for now.
var ErrRateLimited = errors.New("the connection's submission rate limit is exceeded")

// RateLimitedError is ErrRateLimited with the time until the window ends.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrRateLimited, e.RetryAfter)
}
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfterSeconds is the Retry-After of a rate-limited answer: the
// whole seconds to the window's end, at least 1.
func (e *RateLimitedError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// take counts one submission of connection id at now, or refuses it
// (*RateLimitedError). A counter that cannot be reached lets the
// submission through (logged): the limit protects an org's credits, and
// losing a submission to a table's hiccup is the worse failure.
func (l RateLimit) take(ctx context.Context, log *slog.Logger, id string, now time.Time) error {
	if l.PerMinute <= 0 || l.Counter == nil {
		return nil
	}
	window := now.UTC().Truncate(RateWindow)
	end := window.Add(RateWindow)
	// Kept a window past its end: DynamoDB's TTL deletes late anyway, and
	// a counter is only ever read in its own window.
	err := l.Counter.Take(ctx, id, window, l.PerMinute, end.Add(RateWindow))
	switch {
	case errors.Is(err, ErrRateLimited):
		return &RateLimitedError{RetryAfter: end.Sub(now)}
	case err != nil:
		log.Error("the rate limit counter failed: submission let through", "err", err.Error())
	}
	return nil
}
