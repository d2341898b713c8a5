package refresh

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A run covers every due connection however many there are: it fans out
// over the refresh shards, one worker per shard, all at once. A worker
// reads its shard's part of the due index a page at a time, soonest
// expiry first, and takes each connection in turn (a bounded pool
// refreshes them); when its time runs out it stops taking connections,
// finishes those it took, and hands the rest of the shard to a
// continuation, which starts just after the last connection it took (the
// cursor). In AWS the coordinator (the scheduled invocation) starts the
// workers, and a worker its continuation, by invoking RefreshFunction
// asynchronously (Handler, Workers); in process (Run) the same workers
// are goroutines sharing one pool and one pacer.
//
// Each shard has two parts: the fresh one ("03"), whose connections are
// refreshed once their token expires within the window, and the idle
// one ("idle-03"), whose connections are checked once every IdleCheck:
// refreshed once their token has been expired for IdleCheck less the
// window, so that a revoked refresh token is found within a day. A
// connection found due in the fresh part that has gone unused for
// IdleAfter is moved to the idle part instead of being refreshed; its
// next use (sync's RecordUse) moves it back, and its expired token is
// refreshed on demand then.

// ShardRequest is a worker's payload: its shard ("00".."15") and where
// to start ("" for the beginning of the shard; else a Summary's
// NextCursor).
type ShardRequest = ondemand.ShardRequest

// ErrBadCursor answers a worker's payload whose cursor is not one a
// worker of that shard gave.
var ErrBadCursor = errors.New("refresh: the cursor is not one a worker of this shard gave")

// position is a place in a shard: a part of the due index, and the key
// just before it (zero: the part's start). A zero part is the end.
type position struct {
	part  string
	after connection.DueKey
}

// Shards are the refresh shards, "00".."15".
func Shards() []string {
	out := make([]string, connection.RefreshShards)
	for i := range out {
		out[i] = fmt.Sprintf("%02d", i)
	}
	return out
}

func validShard(s string) bool {
	return connection.ValidDuePart(s) && !strings.HasPrefix(s, connection.IdleShardPrefix)
}

// encode writes p as a cursor: "<part>.<connection id>.<expiry, unix s>".
func (p position) encode() string {
	exp := int64(0)
	if !p.after.IsZero() {
		exp = p.after.ExpiresAt.Unix()
	}
	return p.part + "." + p.after.ID + "." + strconv.FormatInt(exp, 10)
}

// parseCursor reads a cursor of shard back, checking every part of it.
func parseCursor(shard, cursor string) (position, error) {
	if cursor == "" {
		return position{part: shard}, nil
	}
	fields := strings.Split(cursor, ".")
	if len(fields) != 3 || (fields[0] != shard && fields[0] != connection.IdleShardPrefix+shard) {
		return position{}, ErrBadCursor
	}
	p := position{part: fields[0]}
	if fields[1] == "" {
		return p, nil
	}
	exp, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || !connection.ValidID(fields[1]) || exp <= 0 {
		return position{}, ErrBadCursor
	}
	p.after = connection.DueKey{ID: fields[1], ExpiresAt: time.Unix(exp, 0).UTC()}
	return p, nil
}

// Run refreshes every due connection in process: one worker per shard,
// at once, sharing the Workers pool and the Limiter. A worker whose
// WorkerBudget runs out continues where it stopped; when the context's
// deadline comes near the workers stop taking connections and leave the
// rest to the next run (Deferred counts what they had read). One
// connection's failure never stops the others; Run's error reports a run
// that could not look at every connection (the OAuth client unreadable,
// a shard unreadable), after doing what it could.
func (s *Service) Run(ctx context.Context) (Summary, error) {
	started := time.Now()
	var sum Summary
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		err = fmt.Errorf("refresh: OAuth client: %w", err)
		s.logRun(sum, err)
		return sum, err
	}
	pool := make(chan struct{}, clock.OrDefault(s.Workers, DefaultWorkers))
	owner := newOwner("run")
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, shard := range Shards() {
		wg.Go(func() {
			got, err := s.shardChain(ctx, conf, owner, pool, shard)
			mu.Lock()
			defer mu.Unlock()
			sum.plus(got)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	sum.DurationMS = time.Since(started).Milliseconds()
	if len(errs) > 0 {
		err = fmt.Errorf("refresh: %d of %d shards could not be read: %w", len(errs), connection.RefreshShards, errors.Join(errs...))
	}
	s.logRun(sum, err)
	return sum, err
}

// shardChain works through one shard in process: a worker, then its
// continuations, until the shard is done or the run's deadline nears.
func (s *Service) shardChain(ctx context.Context, conf *zoho.Config, owner string, pool chan struct{}, shard string) (Summary, error) {
	var total Summary
	pos := position{part: shard}
	for {
		got, next, left, err := s.work(ctx, conf, owner, pool, shard, pos, nil)
		total.plus(got)
		if err != nil || next.part == "" {
			return total, err
		}
		if s.stopping(ctx) {
			// No time left for a continuation: the next run takes them.
			total.Due += left
			total.Deferred += left
			return total, nil
		}
		total.Continuations++
		pos = next
	}
}

// RunShard is one worker's turn at a shard, from req's cursor, with its
// own pool of Workers: until the shard is done, or until its time runs
// out (WorkerBudget, or DeadlineMargin before the context's deadline),
// when the answer's NextCursor is where a continuation starts. It logs
// its own summary line (with its metrics).
func (s *Service) RunShard(ctx context.Context, req ShardRequest) (Summary, error) {
	return s.RunShardHandingOff(ctx, req, nil)
}

// RunShardHandingOff is RunShard that calls handOff with the
// continuation's payload the moment the worker stops taking connections,
// before it waits for those it took: a continuation started then is
// started well before the deadline, however long the last refreshes
// take (their Zoho call and their write each have 10 s), and it starts
// after the last connection taken, so the two never share one.
//
// handOff answers whether the continuation started; the worker's summary
// (and its log line) counts it.
func (s *Service) RunShardHandingOff(ctx context.Context, req ShardRequest, handOff func(next ShardRequest) bool) (Summary, error) {
	started := time.Now()
	sum := Summary{Shard: req.Shard}
	if !validShard(req.Shard) {
		return sum, fmt.Errorf("%w: shard %q", ErrInvalidRequest, req.Shard)
	}
	pos, err := parseCursor(req.Shard, req.Cursor)
	if err != nil {
		return sum, err
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		err = fmt.Errorf("refresh: OAuth client: %w", err)
		s.logRun(sum, err)
		return sum, err
	}
	pool := make(chan struct{}, clock.OrDefault(s.Workers, DefaultWorkers))
	var stopped func(position)
	continued := false
	if handOff != nil {
		stopped = func(next position) { continued = handOff(ShardRequest{Shard: req.Shard, Cursor: next.encode()}) }
	}
	got, next, _, err := s.work(ctx, conf, newOwner("shard"+req.Shard), pool, req.Shard, pos, stopped)
	sum.plus(got)
	if next.part != "" {
		sum.NextCursor = next.encode()
	}
	if continued {
		sum.Continuations = 1
	}
	sum.DurationMS = time.Since(started).Milliseconds()
	if err != nil {
		err = fmt.Errorf("refresh: shard %s could not be read: %w", req.Shard, err)
	}
	s.logRun(sum, err)
	return sum, err
}

// work takes the due connections of shard from pos until the shard is
// done (next is the zero position) or its time runs out (next is where
// to go on, which it tells stopped, when not nil, at once; left is how
// many connections it had read and not taken, which it does not count).
// Every connection it took is finished before it returns.
func (s *Service) work(ctx context.Context, conf *zoho.Config, owner string, pool chan struct{}, shard string, pos position, stopped func(position)) (sum Summary, next position, left int, err error) {
	var budgetEnd time.Time
	if s.WorkerBudget > 0 {
		budgetEnd = time.Now().Add(s.WorkerBudget)
	}
	took := 0
	// The budget ends a worker's turn only once it took a connection, so
	// that every turn moves the cursor on; the deadline ends it anyway.
	outOfTime := func() bool {
		return s.stopping(ctx) || (took > 0 && !budgetEnd.IsZero() && !time.Now().Before(budgetEnd))
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	// Every return is bare: sum is written under mu by the refreshes still
	// under way, and read by the caller only after this wait.
	defer wg.Wait()
	count := func(f func(*Summary)) {
		mu.Lock()
		f(&sum)
		mu.Unlock()
	}
	idlePart := connection.IdleShardPrefix + shard
	for pos.part != "" {
		if outOfTime() {
			if stopped != nil {
				stopped(pos)
			}
			next = pos
			return
		}
		now := s.Now.Now()
		idle := pos.part == idlePart
		dueBy := now.Add(clock.OrDefault(s.Window, DefaultWindow))
		if idle {
			dueBy = dueBy.Add(-clock.OrDefault(s.IdleCheck, DefaultIdleCheck))
		}
		queried := time.Now()
		page, more, qerr := s.Connections.DuePage(ctx, pos.part, dueBy, clock.OrDefault(s.PageSize, DefaultPageSize), pos.after)
		count(func(m *Summary) { m.QueryMS += time.Since(queried).Milliseconds() })
		if qerr != nil {
			s.Log.Error("refresh: due index unreadable", "shard", pos.part, "err", qerr.Error())
			count(func(m *Summary) { m.ShardErrors++ })
			err = qerr
			return
		}
		for i, c := range page {
			// A slot of the pool first: waiting for it (other shards share
			// it in process) may use up the time.
			pool <- struct{}{}
			if outOfTime() {
				<-pool
				if stopped != nil {
					stopped(pos)
				}
				next, left = pos, len(page)-i
				return
			}
			pos.after = connection.DueKey{ID: c.ID, ExpiresAt: c.TokenExpiresAt}
			took++
			count(func(m *Summary) { m.Due++ })
			if c.NextAttemptAt.After(now) {
				<-pool
				count(func(m *Summary) { m.BackingOff++ })
				continue
			}
			if !idle && c.IdleAt(now, s.IdleAfter) {
				moved, merr := s.Connections.MarkIdle(ctx, c.ID, now.Add(-s.IdleAfter))
				if merr != nil {
					s.Log.Error("refresh: marking an idle connection failed", "connection_id", c.ID, "err", merr.Error())
				}
				if moved {
					<-pool
					s.Log.Debug("refresh: idle, checked once a day from now on", "connection_id", c.ID, "last_use", c.LastUse().UTC())
					count(func(m *Summary) { m.Idled++ })
					continue
				}
				// Used since it was read: it is refreshed as any other.
			}
			wg.Go(func() {
				defer func() { <-pool }()
				o := s.refresh(ctx, conf, owner, c, s.Now.Now(), dueBy)
				count(func(m *Summary) {
					m.add(o)
					if idle {
						m.IdleChecked++
					}
				})
			})
		}
		if !more {
			pos = position{}
			if !idle {
				pos.part = idlePart
			}
		}
	}
	return
}
