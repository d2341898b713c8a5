package refresh

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces calls evenly: at most perSecond a second, one every
// 1/perSecond, with no burst. Secrets Manager's PutSecretValue quota is
// shared by the whole account and region, so the refresh run paces its
// writes rather than relying on the SDK's retries after throttling.
// It is safe for concurrent use.
type Pacer struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu   sync.Mutex
	next time.Time
}

// NewPacer returns a pacer for perSecond calls a second (at least 1).
func NewPacer(perSecond int) *Pacer {
	if perSecond < 1 {
		perSecond = 1
	}
	return &Pacer{interval: time.Second / time.Duration(perSecond), now: time.Now, sleep: sleepCtx}
}

// Wait blocks until the caller's turn, or until ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	now := p.now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	return p.sleep(ctx, slot.Sub(now))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
