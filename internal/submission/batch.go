package submission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// MaxBatchRecords is the most records one Zoho write carries (Zoho's
// limit per insert call).
const MaxBatchRecords = 100

// pending is a queued submission taken (claimed) for a delivery from the
// queue.
type pending struct {
	i     int // its message's index in the batch
	m     Message
	log   *slog.Logger
	taken Entry // as claimed, under owner
	owner string
	q     queuedContent
	at    time.Time
	d     delivery
}

// Redeliver delivers one queued submission: RedeliverBatch of one.
func (s *Service) Redeliver(ctx context.Context, m Message) error {
	return s.RedeliverBatch(ctx, []Message{m})[0]
}

// The outcomes of a message finished with (RedeliverOutcomes), besides
// an error's retried or dead_lettered.
const (
	// OutcomeDelivered: Zoho took it (created, or on_duplicate's action).
	OutcomeDelivered = "delivered"
	// OutcomeWaiting: its org busy (no free concurrency slot, held after
	// a 429, its invocation's time spent): sent again as a fresh, delayed
	// message, Zoho not called for it.
	OutcomeWaiting = "waiting"
	// OutcomeHeld: its connection awaits re-authorization (or Zoho
	// answered DOMAIN_TOKEN_MISMATCH): sent again as a fresh, delayed
	// message.
	OutcomeHeld = "held"
	// OutcomeAlreadyDone: its entry was delivered already (a message
	// received twice) or is gone (expired): nothing to do.
	OutcomeAlreadyDone = "already_done"
)

// finished is a message finished with (no error for its receive) that was
// not delivered: why, as an outcome. RedeliverBatch answers nil for it.
type finished struct{ outcome string }

func (f *finished) Error() string { return "not delivered: " + f.outcome }

var (
	errWaiting     = &finished{OutcomeWaiting}
	errHeldAgain   = &finished{OutcomeHeld}
	errAlreadyDone = &finished{OutcomeAlreadyDone}
)

// RedeliverOutcomes is RedeliverBatch with, for each message finished
// with (a nil error), its outcome: delivered, waiting, held or
// already_done ("" beside an error).
func (s *Service) RedeliverOutcomes(ctx context.Context, msgs []Message) ([]error, []string) {
	errs := s.redeliverBatch(ctx, msgs)
	outcomes := make([]string, len(errs))
	for i, err := range errs {
		var f *finished
		switch {
		case err == nil:
			outcomes[i] = OutcomeDelivered
		case errors.As(err, &f):
			outcomes[i], errs[i] = f.outcome, nil
		}
	}
	return errs, outcomes
}

// RedeliverBatch delivers a batch from the retry queue. For each message
// the error says what became of it: nil, finished with (delivered,
// waiting again in a fresh message, or nothing left to do); an
// errRetry-kind error, try again after backoff; errPermanent, give up
// (to the dead-letter queue).
//
// The messages of one connection are delivered together, under one of
// its org's concurrency slots: every entry is taken (a conditional write
// each, as before: exactly once per submission), mapped, and the records
// of one module written in one insert of up to 100 (10 when the org's
// sub-concurrency for larger writes has no slot free); each record's
// answer is then resolved as the connection's on_duplicate says, within
// the same slot. No slot free: every message waits again, and no entry
// is read.
func (s *Service) RedeliverBatch(ctx context.Context, msgs []Message) []error {
	errs, _ := s.RedeliverOutcomes(ctx, msgs)
	return errs
}

// redeliverBatch is RedeliverBatch, a message finished with but not
// delivered a *finished error.
func (s *Service) redeliverBatch(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	byConn := map[string][]int{}
	var order []string
	for i, m := range msgs {
		if _, ok := byConn[m.ConnectionID]; !ok {
			order = append(order, m.ConnectionID)
		}
		byConn[m.ConnectionID] = append(byConn[m.ConnectionID], i)
	}
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Go(func() {
			defer s.recovered(id, byConn[id], errs)
			s.redeliverConnection(ctx, id, msgs, byConn[id], errs)
		})
	}
	wg.Wait()
	return errs
}

// recovered, deferred in a goroutine of a batch's delivery, turns a panic
// there (which no runtime recovers: it would end the process, and with it
// every other connection's delivery in flight, their slots and claims
// left until their leases end) into a retry of the messages idx: the
// panicking run's slot is already given back by its own deferred release,
// and an entry it finished is found done when its message comes back.
// Only the panic's type is logged (its value might hold a submitted one).
func (s *Service) recovered(connectionID string, idx []int, errs []error) {
	r := recover()
	if r == nil {
		return
	}
	err := fmt.Errorf("a delivery panicked (%T)", r)
	if re, ok := r.(runtime.Error); ok {
		err = fmt.Errorf("a delivery panicked: %s", re.Error())
	}
	s.Log.Error("a queued delivery panicked: its messages are tried again", "connection_id", connectionID, "err", err.Error(), "stack", string(debug.Stack()))
	for _, i := range idx {
		errs[i] = retry("panicked", err)
	}
}

func (s *Service) redeliverConnection(ctx context.Context, id string, msgs []Message, idx []int, errs []error) {
	log := s.Log.With("connection_id", id)
	c, cerr := s.Connections.Get(ctx, id)
	if cerr == nil && c.Status == connection.Active {
		sl, err := s.Limiter.acquire(ctx, orgPool(c), ConcurrencyOf(c), s.Now.Now())
		switch {
		case errors.Is(err, ErrNoSlot):
			for _, i := range idx {
				errs[i] = s.wait(ctx, log.With("submission_id", msgs[i].SubmissionID), msgs[i], nil, "", busy("concurrency_limit", err))
			}
			return
		case err != nil:
			for _, i := range idx {
				errs[i] = retry("concurrency_slots_unavailable", err)
			}
			return
		}
		defer sl.release(ctx, log)
		ctx = withSlot(ctx)
	}
	ps := make([]*pending, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Go(func() {
			defer s.recovered(id, []int{i}, errs)
			ps[k], errs[i] = s.takeQueued(ctx, msgs[i], c, cerr)
			if ps[k] != nil {
				ps[k].i = i
			}
		})
	}
	wg.Wait()

	// Mapped, then grouped by module and write options (one insert's
	// records share them), in the order they came.
	groups := map[string][]*pending{}
	var keys []string
	var stop error // a busy org: nothing more is sent in this run
	for _, p := range ps {
		if p == nil {
			continue
		}
		if stop != nil {
			errs[p.i] = s.finish(ctx, p, delivered{}, stop)
			continue
		}
		d, err := s.prepare(ctx, c, p)
		if err != nil {
			if errors.Is(err, errBusy) {
				stop = err
			}
			errs[p.i] = s.finish(ctx, p, delivered{}, err)
			continue
		}
		p.d = d
		k := d.Module + "|" + strings.Join(writeOptions(c, d.Record).DuplicateCheckFields, ",")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	for _, k := range keys {
		for _, round := range rounds(groups[k], writeOptions(c, groups[k][0].d.Record).DuplicateCheckFields) {
			stop = s.insertGroup(ctx, c, round, errs, stop)
		}
	}
}

// rounds splits one insert group so that no two of a round's records
// share a value of the duplicate-check fields (compared as Zoho compares
// Email: trimmed, case-insensitively), each value's n-th record in the
// n-th round, in the order they came. The rounds go to Zoho one after
// another, so a person who submitted twice meets their first record as
// an existing one, and gets what on_duplicate says (a Note), whether or
// not Zoho checks the records of one call against each other (not
// documented). Without a duplicate check (create) the group is one round.
func rounds(ps []*pending, check []string) [][]*pending {
	if len(check) == 0 {
		return [][]*pending{ps}
	}
	var out [][]*pending
	next := map[string]int{} // a value's first round with none of it yet
	for _, p := range ps {
		var vals []string
		n := 0
		for _, f := range check {
			if v := dupValue(p.d.Record[f]); v != "" {
				vals = append(vals, f+"="+v)
				n = max(n, next[f+"="+v])
			}
		}
		for _, v := range vals {
			next[v] = n + 1
		}
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], p)
	}
	return out
}

// dupValue is a duplicate-check field's value as Zoho compares it ("":
// none, not checked).
func dupValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.ToLower(strings.TrimSpace(x))
	}
	return fmt.Sprint(v)
}

// takeQueued reads a message's entry and takes it for a delivery, or
// finishes with it (nil pending): already done, gone, rejected, its
// connection gone or awaiting re-authorization.
func (s *Service) takeQueued(ctx context.Context, m Message, c *connection.Connection, cerr error) (*pending, error) {
	log := s.Log.With("connection_id", m.ConnectionID, "submission_id", m.SubmissionID)
	e, err := s.Idempotency.Get(ctx, m.Key)
	if err != nil {
		return nil, retry("idempotency_read_failed", err)
	}
	now := s.Now.Now()
	switch {
	case e == nil:
		log.Warn("queued submission has no entry (expired?): dropped")
		return nil, errAlreadyDone
	case e.State == Done:
		return nil, errAlreadyDone
	case e.State == Rejected:
		return nil, permanent(e.LastError)
	case e.State == Claimed && now.Before(e.ClaimExpiresAt):
		return nil, retry("claimed_by_another_run", nil)
	case len(e.Record) == 0:
		return nil, s.reject(ctx, log, e, e.ClaimToken, "no_record")
	}
	log = log.With("module", e.Module)
	switch {
	case errors.Is(cerr, connection.ErrNotFound):
		return nil, s.reject(ctx, log, e, e.ClaimToken, "connection_gone")
	case cerr != nil:
		return nil, retry("connection_read_failed", cerr)
	case c.Status == connection.Disconnected:
		return nil, s.reject(ctx, log, e, e.ClaimToken, "connection_disconnected")
	case c.Status == connection.ReauthRequired:
		return nil, s.holdAgain(ctx, log, e, e.ClaimToken, m)
	}
	t := s.Timings.withDefaults()
	taken := *e
	taken.State, taken.ClaimToken, taken.ClaimExpiresAt = Claimed, randomID(""), now.Add(t.ClaimTTL)
	taken.Attempts++
	if err := s.Idempotency.Take(ctx, &taken, now); err != nil {
		return nil, retry("claim_lost", err)
	}
	q, err := readQueued(e.Record)
	if err != nil {
		return nil, s.reject(ctx, log, &taken, taken.ClaimToken, "record_unreadable")
	}
	at := e.QueuedAt
	if at.IsZero() {
		at = now
	}
	return &pending{m: m, log: log, taken: taken, owner: taken.ClaimToken, q: q, at: at}, nil
}

// prepare maps a queued submission (the fields as posted, or a record an
// older version mapped) for its delivery.
func (s *Service) prepare(ctx context.Context, c *connection.Connection, p *pending) (delivery, error) {
	module := p.taken.Module
	if p.q.Record != nil {
		return delivery{Module: module, Record: p.q.Record, Fields: Fields(p.q.Record), At: p.at}, nil
	}
	set, err := s.moduleFields(ctx, c, module, true)
	if err != nil {
		return delivery{}, err
	}
	m, err := s.plan(p.log, module, p.q.Fields, set, c)
	if err != nil {
		return delivery{}, err
	}
	return delivery{Module: module, Record: m.Record, Ignored: m.Ignored, Fields: p.q.Fields, At: p.at}, nil
}

// insertGroup writes one module's records in inserts of up to
// MaxBatchRecords, then resolves each record's answer. stop, when set,
// is a busy org: the rest wait without a call. It returns stop, or the
// busy error a call met.
func (s *Service) insertGroup(ctx context.Context, c *connection.Connection, ps []*pending, errs []error, stop error) error {
	size := MaxBatchRecords
	if len(ps) > zoho.BulkWriteRecords && ConcurrencyOf(c) > zoho.BulkWriteRecords && stop == nil {
		// Writes of more than 10 records have a sub-concurrency of their
		// own (10) within the org's: with no slot of it free, the
		// records go 10 a call, under the org's slot already held.
		b, err := s.Limiter.acquire(ctx, bulkPool(c), zoho.BulkWriteRecords, s.Now.Now())
		if err != nil {
			size = zoho.BulkWriteRecords
		} else {
			defer b.release(ctx, s.Log)
		}
	}
	t := s.Timings.withDefaults()
	for start := 0; start < len(ps); start += size {
		chunk := ps[start:min(start+size, len(ps))]
		if stop != nil {
			for _, p := range chunk {
				errs[p.i] = s.finish(ctx, p, delivered{}, stop)
			}
			continue
		}
		module := chunk[0].d.Module
		recs := make([]zoho.Record, len(chunk))
		for k, p := range chunk {
			recs[k] = p.d.Record
		}
		var res []zoho.RecordResult
		err := s.call(ctx, c, func(crm CRM) error {
			var err error
			res, err = crm.Insert(ctx, module, recs, writeOptions(c, recs[0]))
			if err == nil && len(res) != len(recs) {
				return retry("zoho_answer_incomplete", fmt.Errorf("%d results for %d records", len(res), len(recs)))
			}
			return scoped(module, err)
		})
		if errors.Is(err, errBusy) {
			stop = err
		}
		if _, refused := refusal(err); refused && len(chunk) > 1 {
			// Zoho refused the request as a whole: one record may have
			// caused it, so each is sent alone and only what Zoho refuses
			// on its own is rejected.
			for _, p := range chunk {
				if stop != nil {
					// A record alone met a busy org (a 429 holds it):
					// the rest wait, without a call.
					errs[p.i] = s.finish(ctx, p, delivered{}, stop)
					continue
				}
				d, derr := s.deliver(ctx, c, p.d)
				if errors.Is(derr, errBusy) {
					stop = derr
				}
				errs[p.i] = s.finish(ctx, p, d, derr)
			}
			continue
		}
		for k, p := range chunk {
			var d delivered
			derr := err
			switch {
			case err != nil:
			case stop != nil:
				// A duplicate's follow-up is a call: not while the org is
				// held. Nothing was created for it: it waits.
				if res[k].OK() {
					d, derr = s.resolve(ctx, nil, c, p.d, res[k])
				} else {
					derr = stop
				}
			case needsCall(res[k]) && !timeLeft(ctx, t.ZohoTimeout+enqueueReserve):
				// The invocation's time is running out; nothing was
				// created for a duplicate, so it waits for a next run.
				derr = busy("out_of_time", nil)
			case needsCall(res[k]):
				derr = s.call(ctx, c, func(crm CRM) error {
					var err error
					d, err = s.resolve(ctx, crm, c, p.d, res[k])
					return err
				})
				if errors.Is(derr, errBusy) {
					stop = derr
				}
			default:
				d, derr = s.resolve(ctx, nil, c, p.d, res[k])
			}
			d, derr = s.outcome(c, p.d, d, derr)
			errs[p.i] = s.finish(ctx, p, d, derr)
		}
	}
	return stop
}

// needsCall: resolving r calls Zoho again (a duplicate's on_duplicate).
func needsCall(r zoho.RecordResult) bool { return !r.OK() && r.Duplicate() && r.ID != "" }

// timeLeft: ctx's deadline, if any, is more than d away.
func timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// finish records what a taken submission's delivery came to, and says
// what becomes of its message.
func (s *Service) finish(ctx context.Context, p *pending, d delivered, err error) error {
	taken, owner, log := &p.taken, p.owner, p.log
	t := s.Timings.withDefaults()
	now := s.Now.Now()
	var invalid *InvalidError
	switch {
	case errors.As(err, &invalid):
		taken.DeliveredStatus = 422
		return s.reject(ctx, log, taken, owner, "invalid_submission")
	case errors.Is(err, errHold):
		taken.State, taken.ClaimExpiresAt, taken.LastError = Queued, time.Time{}, reason(err)
		if perr := s.Idempotency.Put(ctx, taken, owner); perr != nil {
			return retry("idempotency_write_failed", perr)
		}
		return s.holdAgain(ctx, log, taken, owner, p.m)
	case errors.Is(err, errBusy):
		taken.State, taken.ClaimExpiresAt, taken.LastError = Queued, time.Time{}, reason(err)
		taken.Attempts-- // it was not tried: Zoho was not called for it
		if perr := s.Idempotency.Put(ctx, taken, owner); perr != nil {
			return retry("idempotency_write_failed", perr)
		}
		return s.wait(ctx, log, p.m, taken, owner, err)
	case err != nil:
		taken.State, taken.ClaimExpiresAt, taken.LastError = Queued, time.Time{}, reason(err)
		if perr := s.Idempotency.Put(ctx, taken, owner); perr != nil {
			log.Error("recording a failed attempt failed", "err", perr.Error())
		}
		log.Warn("queued submission not delivered: will retry", "reason", reason(err), "attempt", taken.Attempts, "err", err.Error())
		return err
	case d.NotPermitted != "":
		taken.DeliveredStatus = 422
		log.Warn("a queued submission's module is not covered by the connection's scopes", "denied", d.NotPermitted)
		return s.reject(ctx, log, taken, owner, "module_not_permitted")
	case d.Rejected != nil:
		taken.DeliveredStatus = 422
		log.Warn("Zoho refused a queued submission", "fields", FieldNames(d.Rejected), "zoho_code", d.Code)
		return s.reject(ctx, log, taken, owner, "zoho_rejected:"+d.Code)
	}
	taken.State, taken.ClaimExpiresAt, taken.Record, taken.LastError = Done, time.Time{}, nil, ""
	taken.DeliveredStatus, taken.RecordID = d.answer().Status, d.RecordID
	taken.ExpiresAt = now.Add(t.DoneTTL)
	if err := s.Idempotency.Put(ctx, taken, owner); err != nil {
		// Delivered: do not deliver again. The claim expires, and a
		// re-delivery would find the duplicate: a note at most.
		log.Error("recording a delivery failed", "err", err.Error())
	}
	d.log(log.With("attempt", taken.Attempts), "queued submission delivered")
	return nil
}

// wait sends a submission that found its org busy again as a fresh,
// delayed message (Looks one more, the delay doubling from BusyDelay to
// HoldDelay, jittered), so that waiting never counts toward the
// dead-letter queue's receives. e is its entry when it was read (then
// its HoldUntil bounds the wait), nil when not (the message's HeldSince
// does). Past HoldFor it is rejected: held_too_long.
func (s *Service) wait(ctx context.Context, log *slog.Logger, m Message, e *Entry, owner string, cause error) error {
	t := s.Timings.withDefaults()
	now := s.Now.Now()
	since := now
	if m.HeldSince > 0 {
		since = time.Unix(m.HeldSince, 0)
	}
	switch {
	case e != nil && !e.HoldUntil.IsZero() && now.After(e.HoldUntil):
		return s.reject(ctx, log, e, owner, "held_too_long")
	case e == nil && now.Sub(since) > t.HoldFor:
		ent, err := s.Idempotency.Get(ctx, m.Key)
		switch {
		case err != nil:
			return retry("idempotency_read_failed", err)
		case ent == nil || ent.State == Done:
			return errAlreadyDone
		case ent.State == Queued:
			return s.reject(ctx, log, ent, ent.ClaimToken, "held_too_long")
		}
	}
	next := m
	next.Looks++
	next.HeldSince = since.Unix()
	delay := t.queueDelay(cause, next.Looks)
	if err := s.Queue.Send(ctx, next, delay); err != nil {
		return retry("queue_send_failed", err)
	}
	log.Info("submission waits: the org takes no call now", "reason", reason(cause), "looks", next.Looks, "delay_seconds", int(delay/time.Second))
	return errWaiting
}
