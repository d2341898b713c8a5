package refresh

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
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
	return NewPacerRate(float64(perSecond))
}

// NewPacerRate returns a pacer for perSecond calls a second, a fraction
// allowed (one shard's worker gets its share of a deployment's rate); at
// least one call a minute.
func NewPacerRate(perSecond float64) *Pacer {
	interval := time.Minute
	if perSecond > 1.0/60 {
		interval = time.Duration(float64(time.Second) / perSecond)
	}
	return &Pacer{interval: interval, now: time.Now, sleep: sleepCtx}
}

// WriteRater is a token vault that knows how many token writes a second
// the whole deployment's refresh run may make (its store's own quota:
// Secrets Manager's PutSecretValue share, or the DynamoDB store's KMS and
// DynamoDB request rates; the tokens branch's tokentable.Vault has the
// same method). A vault without it is paced by SECRET_WRITES_PER_SECOND.
type WriteRater interface {
	WritesPerSecond() int
}

// MaxWriteWait is how long, at most, a token Zoho issued should wait for
// its write slot (WorkerShare); writeTimeout bounds it anyway.
const MaxWriteWait = 5 * time.Second

// WorkerShare divides a deployment's write rate among the shard
// workers, which run at once in separate processes, and bounds a
// worker's pool so that no token Zoho issued waits more than about
// maxWait for its write: the pacing rate and the pool size of one
// worker.
func WorkerShare(perSecond float64, workers int, maxWait time.Duration) (float64, int) {
	share := perSecond / float64(connection.RefreshShards)
	pool := max(1, min(workers, int(math.Ceil(share*maxWait.Seconds()))))
	return share, pool
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
