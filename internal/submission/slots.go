package submission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// SlotStore keeps the leases of every org's concurrency slots, shared by
// every instance of every function that calls the org's CRM API
// (submissionstore.SlotStore: the concurrency table, one item a slot).
// A slot is one call to the org in flight; an org of limit N has the
// slots <pool>#0 .. <pool>#N-1 (SlotKey).
type SlotStore interface {
	// Take leases slot to owner until until, if it is free: no lease, or
	// one that ended at or before now. Otherwise ErrSlotTaken (ErrSlotHeld
	// when the lease is a hold's), and nothing is written.
	Take(ctx context.Context, slot, owner string, now, until time.Time) error
	// Release ends owner's lease of slot. A slot leased to another (owner's
	// lease ran out and was taken, or a hold took it) is left as it is,
	// without an error.
	Release(ctx context.Context, slot, owner string) error
	// Hold leases slot to no one until until, whoever holds it now, unless
	// its lease already lasts longer: nothing takes it before until.
	Hold(ctx context.Context, slot string, until time.Time) error
}

// ErrSlotTaken: the slot is leased to another.
var ErrSlotTaken = errors.New("the concurrency slot is taken")

// ErrSlotHeld is ErrSlotTaken for a slot held (Hold) rather than leased
// to a run: the org's calls are held, so its other slots are too.
var ErrSlotHeld = fmt.Errorf("%w: held", ErrSlotTaken)

// ErrNoSlot: every concurrency slot of the org is in use or held; the
// call is not made (the submission is queued).
var ErrNoSlot = errors.New("no free concurrency slot for the org")

// HoldOwner is the owner of a held slot (Hold): no run's.
const HoldOwner = "hold"

// SlotKey names slot n of pool.
func SlotKey(pool string, n int) string { return pool + "#" + strconv.Itoa(n) }

// DefaultConcurrency is the limit of a connection whose edition is not
// known (connected before editions were stored): Free's 5, the lowest.
const DefaultConcurrency = 5

// ConcurrencyOf is how many CRM calls sync makes to c's org at once: the
// connection's own concurrency_limit when set, else its edition's, else
// DefaultConcurrency.
func ConcurrencyOf(c *connection.Connection) int {
	if c.ConcurrencyLimit > 0 {
		return c.ConcurrencyLimit
	}
	if l, ok := zoho.EditionLimits(c.Edition); ok {
		return l.Concurrency
	}
	return DefaultConcurrency
}

// orgPool is the pool of c's org: every connection of one org (one per
// tenant) shares it, since Zoho counts the app's calls per org.
func orgPool(c *connection.Connection) string {
	return "org#" + strings.ToLower(c.Location) + "/" + strings.ToLower(c.Environment) + "/" + c.OrgID
}

// bulkPool is the pool of the org's writes of more than
// zoho.BulkWriteRecords records (Zoho's sub-concurrency).
func bulkPool(c *connection.Connection) string { return "bulk#" + orgPool(c)[len("org#"):] }

// Limiter bounds the calls every instance makes to one org at once.
type Limiter struct {
	// Slots is the shared store (nil: no limit, as before).
	Slots SlotStore
	// Lease is how long a slot is leased: longer than any run that holds
	// one can last (the function's timeout, 20 s, and a margin), so a
	// crashed run's slot is free again after it and a live run's never is
	// taken from it. Default 30 s.
	Lease time.Duration
}

func (l Limiter) lease() time.Duration {
	if l.Lease <= 0 {
		return 30 * time.Second
	}
	return l.Lease
}

// slot is a lease won; release gives it back.
type slot struct {
	store      SlotStore
	key, owner string
}

func (s *slot) release(ctx context.Context, log *slog.Logger) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Release(ctx, s.key, s.owner); err != nil {
		log.Warn("releasing a concurrency slot failed: it is free again when its lease ends", "err", err.Error())
	}
}

// acquire leases one of limit slots of pool, trying them in a random
// order (so that racing runs spread over the slots rather than all
// fighting for #0): ErrNoSlot when none is free. A store that fails is
// an error: the call is not made unbounded.
func (l Limiter) acquire(ctx context.Context, pool string, limit int, now time.Time) (*slot, error) {
	if l.Slots == nil {
		return nil, nil
	}
	owner := randomID("run_")
	until := now.Add(l.lease())
	var firstErr error
	for _, n := range rand.Perm(max(limit, 1)) {
		key := SlotKey(pool, n)
		err := l.Slots.Take(ctx, key, owner, now, until)
		switch {
		case err == nil:
			return &slot{store: l.Slots, key: key, owner: owner}, nil
		case errors.Is(err, ErrSlotHeld):
			// The org is held (a 429): every slot is, so trying the
			// others would only spend writes.
			return nil, ErrNoSlot
		case errors.Is(err, ErrSlotTaken):
		case firstErr == nil:
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("concurrency slots: %w", firstErr)
	}
	return nil, ErrNoSlot
}

// hold takes every slot of pool until until: Zoho answered 429 (its
// concurrency or its daily credits spent), so no instance calls the org
// before then, and every submission meanwhile is queued without a call.
func (l Limiter) hold(ctx context.Context, pool string, limit int, until time.Time) error {
	if l.Slots == nil {
		return nil
	}
	var errs []error
	for n := range max(limit, 1) {
		if err := l.Slots.Hold(ctx, SlotKey(pool, n), until); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// jitter spreads d over [d/2, d] ("equal jitter"): the submissions of one
// outage, queued together, do not all come back at the same instant, and
// none comes back sooner than half the delay meant.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
