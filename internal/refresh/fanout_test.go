package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// addMany stores n due connections (every shard gets some) with refresh
// tokens ok-0 .. ok-<n-1>.
func (f *fixture) addMany(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.add(fmt.Sprintf("ok-%d", i), time.Duration(i%20)*time.Minute)
	}
	return ids
}

// checkEachRefreshedOnce: every connection refreshed exactly once, in
// Zoho and in the store, and nothing left leased.
func (f *fixture) checkEachRefreshedOnce(t *testing.T, ids []string) {
	t.Helper()
	for i, id := range ids {
		it := f.store.item(id)
		if n := f.zoho.callsFor(fmt.Sprintf("ok-%d", i)); n != 1 || f.vault.versions(id) != 1 || it.owner != "" ||
			!it.c.TokenExpiresAt.After(f.now.Add(50*time.Minute)) {
			t.Errorf("%s: %d Zoho calls, %d tokens stored, lease %q, expiry %v", id, n, f.vault.versions(id), it.owner, it.c.TokenExpiresAt)
		}
	}
}

// A run covers every due connection, whatever the page size and however
// often a worker's time runs out: each worker continues just after the
// last connection it took.
func TestRunContinuesWhereAWorkerStopped(t *testing.T) {
	f := newFixture(t)
	f.zoho.latency = 3 * time.Millisecond
	f.svc.Workers, f.svc.PageSize, f.svc.WorkerBudget = 3, 2, 5*time.Millisecond
	ids := f.addMany(120)
	sum, err := f.svc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, sum)
	if sum.Due != 120 || sum.Refreshed != 120 || sum.Continuations == 0 || sum.Deferred != 0 {
		t.Fatalf("summary %+v", sum)
	}
	f.checkEachRefreshedOnce(t, ids)
	if got := f.zoho.maxIn.Load(); got > 3 {
		t.Errorf("%d refreshes at once in one process, the pool is 3", got)
	}
}

// lambdaWorkers stands in for Lambda's asynchronous invocations: each
// StartWorker runs the payload through a handler of its own ("another
// process"), in the background, and keeps its answer.
type lambdaWorkers struct {
	newHandler func() *Handler
	mu         sync.Mutex
	wg         sync.WaitGroup
	requests   []ShardRequest
	answers    []Summary
	fail       func(ShardRequest) error
	onStart    func(ShardRequest)
}

func (l *lambdaWorkers) StartWorker(_ context.Context, req ShardRequest) error {
	if l.fail != nil {
		if err := l.fail(req); err != nil {
			return err
		}
	}
	if l.onStart != nil {
		l.onStart(req)
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.requests = append(l.requests, req)
	l.mu.Unlock()
	l.wg.Go(func() {
		out, err := l.newHandler().Handle(context.Background(), payload)
		if err != nil {
			panic(err)
		}
		l.mu.Lock()
		l.answers = append(l.answers, out.(Summary))
		l.mu.Unlock()
	})
	return nil
}

// In AWS the scheduled invocation starts one worker per shard, each an
// invocation of its own; a worker whose time runs out starts its
// continuation with the cursor. The workers' answers add up to the
// run: every connection once.
func TestScheduledRunFansOutThroughWorkers(t *testing.T) {
	f := newFixture(t)
	f.zoho.latency = 3 * time.Millisecond
	f.svc.Workers, f.svc.PageSize, f.svc.WorkerBudget = 2, 2, 5*time.Millisecond
	ids := f.addMany(90)
	workers := &lambdaWorkers{}
	newHandler := func() *Handler {
		return &Handler{Service: f.svc, Log: slog.New(slog.DiscardHandler), Workers: workers}
	}
	workers.newHandler = newHandler
	out, err := newHandler().Handle(context.Background(), json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`))
	if err != nil {
		t.Fatal(err)
	}
	started := out.(Summary)
	if started.WorkersStarted != connection.RefreshShards || started.Due != 0 {
		t.Fatalf("the coordinator answered %+v", started)
	}
	b, _ := json.Marshal(started)
	if !strings.Contains(string(b), `"workers_started":16`) {
		t.Errorf("the coordinator's answer %s", b)
	}
	workers.wg.Wait()
	var total Summary
	shards := map[string]int{}
	continued := 0
	for _, a := range workers.answers {
		total.plus(a)
		shards[a.Shard]++
		checkInvariant(t, a)
		if a.NextCursor != "" {
			continued++
			if a.Continuations != 1 {
				t.Errorf("a worker that stopped did not start its continuation: %+v", a)
			}
		}
	}
	if len(shards) != connection.RefreshShards || continued == 0 || len(workers.requests) != connection.RefreshShards+continued {
		t.Fatalf("%d shards answered, %d continuations, %d invocations", len(shards), continued, len(workers.requests))
	}
	for _, r := range workers.requests[connection.RefreshShards:] {
		if _, err := parseCursor(r.Shard, r.Cursor); err != nil || r.Cursor == "" {
			t.Errorf("continuation %+v: %v", r, err)
		}
	}
	if total.Due != 90 || total.Refreshed != 90 || total.Deferred != 0 {
		t.Fatalf("the workers' counts add up to %+v, want 90 due and refreshed", total)
	}
	f.checkEachRefreshedOnce(t, ids)
}

// A coordinator that could not start every worker says so (the
// function's error, which alarms); the others run.
func TestCoordinatorReportsWorkersNotStarted(t *testing.T) {
	f := newFixture(t)
	workers := &lambdaWorkers{fail: func(r ShardRequest) error {
		if r.Shard == "07" {
			return errors.New("throttled")
		}
		return nil
	}}
	workers.newHandler = func() *Handler { return &Handler{Service: f.svc, Log: slog.New(slog.DiscardHandler), Workers: workers} }
	out, err := workers.newHandler().Handle(context.Background(), json.RawMessage(`{}`))
	workers.wg.Wait()
	if err == nil || out.(Summary).WorkersStarted != connection.RefreshShards-1 || out.(Summary).ShardErrors != 1 {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestWorkerPayloadsAreChecked(t *testing.T) {
	f := newFixture(t)
	id := f.add("ok-1", time.Minute)
	h := &Handler{Service: f.svc, Log: slog.New(slog.DiscardHandler)}
	shard := connection.RefreshShard(id)
	other := "00"
	if shard == other {
		other = "01"
	}
	for _, p := range []string{
		`{"shard":"16"}`, `{"shard":"idle-03"}`, `{"shard":"3"}`,
		`{"shard":"` + shard + `","cursor":"` + other + `.` + id + `.5"}`, // another shard's
		`{"shard":"` + shard + `","cursor":"` + shard + `.zc_x.5"}`,
		`{"shard":"` + shard + `","cursor":"` + shard + `.` + id + `.x"}`,
		`{"shard":"` + shard + `","cursor":"` + shard + `"}`,
	} {
		if _, err := h.Handle(context.Background(), json.RawMessage(p)); err == nil {
			t.Errorf("payload %s taken", p)
		}
	}
	if f.zoho.callsFor("ok-1") != 0 {
		t.Fatal("a refused payload refreshed")
	}
	// A worker run in process (no Workers) runs its shard to the end.
	out, err := h.Handle(context.Background(), json.RawMessage(`{"shard":"`+shard+`"}`))
	if err != nil || out.(Summary).Refreshed != 1 || out.(Summary).Shard != shard {
		t.Fatalf("%+v %v", out, err)
	}
	// A cursor after the connection starts after it.
	f.store.Edit(id, func(c *connection.Connection) { c.TokenExpiresAt = f.now.Add(time.Minute).Truncate(time.Second) })
	c := f.store.item(id).c
	cursor := position{part: shard, after: connection.DueKey{ID: c.ID, ExpiresAt: c.TokenExpiresAt}}.encode()
	out, err = h.Handle(context.Background(), json.RawMessage(`{"shard":"`+shard+`","cursor":"`+cursor+`"}`))
	if err != nil || out.(Summary).Due != 0 {
		t.Fatalf("from just after it: %+v %v", out, err)
	}
}

// idleFixture: a fixture whose clock the test moves, IdleAfter 24 h.
func idleFixture(t *testing.T) (*fixture, *time.Time) {
	f := newFixture(t)
	now := f.now
	f.svc.Now = func() time.Time { return now }
	f.svc.IdleAfter = 24 * time.Hour
	return f, &now
}

// An idle connection is not refreshed every run: found due, it moves to
// its shard's idle part without a Zoho call, and is checked (refreshed)
// once a day from then on; a used one is refreshed whenever it is due.
func TestIdleConnectionsAreCheckedOnceADay(t *testing.T) {
	f, now := idleFixture(t)
	start := *now
	active := f.add("ok-active", 10*time.Minute, func(c *connection.Connection) { c.LastUsedAt = start.Add(-time.Hour) })
	idle := f.add("ok-idle", 10*time.Minute, func(c *connection.Connection) { c.LastUsedAt = start.Add(-48 * time.Hour) })

	sum, err := f.svc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, sum)
	if sum.Due != 2 || sum.Refreshed != 1 || sum.Idled != 1 || f.zoho.callsFor("ok-idle") != 0 || f.zoho.callsFor("ok-active") != 1 {
		t.Fatalf("first run %+v; Zoho: idle %d, active %d", sum, f.zoho.callsFor("ok-idle"), f.zoho.callsFor("ok-active"))
	}
	if c := f.store.item(idle).c; !c.Idle {
		t.Fatalf("not idle: %+v", c)
	}
	f.store.Edit(active, func(c *connection.Connection) { c.TokenExpiresAt = start.Add(time.Hour).Truncate(time.Second) })
	// Runs every 10 minutes for a day and a half: the active one (used
	// again every hour, as sync would record) is refreshed whenever due,
	// the idle one once, a day after its token expired.
	for step := 1; step <= 6*36; step++ {
		*now = start.Add(time.Duration(step) * 10 * time.Minute)
		if step%6 == 0 {
			if _, err := f.store.RecordUse(context.Background(), active, *now); err != nil {
				t.Fatal(err)
			}
		}
		before := map[string]int{active: f.zoho.callsFor("ok-active"), idle: f.zoho.callsFor("ok-idle")}
		if _, err := f.svc.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The fake Zoho's tokens live an hour from the wall clock: put
		// a token refreshed now on the test's clock.
		for id, rt := range map[string]string{active: "ok-active", idle: "ok-idle"} {
			if f.zoho.callsFor(rt) != before[id] {
				f.store.Edit(id, func(c *connection.Connection) { c.TokenExpiresAt = now.Add(time.Hour).Truncate(time.Second) })
			}
		}
		if exp := f.store.item(active).c.TokenExpiresAt; !exp.After(*now) {
			t.Fatalf("%v: the active connection's token expired at %v", *now, exp)
		}
	}
	if n := f.zoho.callsFor("ok-idle"); n != 1 {
		t.Errorf("the idle connection was refreshed %d times in a day and a half, want 1", n)
	}
	if n := f.zoho.callsFor("ok-active"); n < 30 {
		t.Errorf("the active connection was refreshed %d times in a day and a half", n)
	}
	if c := f.store.item(idle).c; !c.Idle || c.Status != connection.Active {
		t.Errorf("the idle connection after its check: %+v", c)
	}
}

// usedMeanwhile is a store in which sync records a use of every
// connection just after the due index was read.
type usedMeanwhile struct {
	*fakeStore
	at time.Time
}

func (u usedMeanwhile) DuePage(ctx context.Context, part string, before time.Time, limit int, after connection.DueKey) ([]*connection.Connection, bool, error) {
	cs, more, err := u.fakeStore.DuePage(ctx, part, before, limit, after)
	for _, c := range cs {
		_, _ = u.RecordUse(ctx, c.ID, u.at)
	}
	return cs, more, err
}

// A connection used between the due query and the move stays fresh and
// is refreshed.
func TestAConnectionUsedMeanwhileIsNotIdled(t *testing.T) {
	f, now := idleFixture(t)
	id := f.add("ok-1", 10*time.Minute, func(c *connection.Connection) { c.LastUsedAt = now.Add(-48 * time.Hour) })
	f.svc.Connections = usedMeanwhile{f.store, *now}
	sum, err := f.svc.Run(context.Background())
	if err != nil || sum.Refreshed != 1 || sum.Idled != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	if c := f.store.item(id).c; c.Idle || f.zoho.callsFor("ok-1") != 1 {
		t.Fatalf("%+v", c)
	}
}

// IdleAfter zero: every connection is kept fresh, however long unused.
func TestNoIdleAfterKeepsEveryConnectionFresh(t *testing.T) {
	f := newFixture(t)
	f.add("ok-1", 10*time.Minute, func(c *connection.Connection) { c.LastUsedAt = f.now.Add(-1000 * time.Hour) })
	if sum, err := f.svc.Run(context.Background()); err != nil || sum.Refreshed != 1 || sum.Idled != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
}

func TestWorkerShare(t *testing.T) {
	for _, tc := range []struct {
		rate       float64
		workers    int
		share      float64
		pool       int
		maxWaitSec int
	}{
		{20, 8, 1.25, 7, 5},   // Secrets Manager's 20/s: 1.25/s a shard, 7 in flight
		{1000, 8, 62.5, 8, 5}, // a fast store: the pool as configured
		{1, 8, 0.0625, 1, 5},
	} {
		share, pool := WorkerShare(tc.rate, tc.workers, time.Duration(tc.maxWaitSec)*time.Second)
		if share != tc.share || pool != tc.pool {
			t.Errorf("WorkerShare(%v, %d) = %v, %d; want %v, %d", tc.rate, tc.workers, share, pool, tc.share, tc.pool)
		}
	}
	if p := NewPacerRate(1.25); p.interval != 800*time.Millisecond {
		t.Errorf("1.25/s paces every %v", p.interval)
	}
}

// A worker starts its continuation the moment it stops taking
// connections, while the refreshes it took are still under way: not
// after them, when the deadline may have come. (The last connection it
// took, which the cursor names, has no token stored yet when the
// continuation starts.) The shard's connections are three, all found
// before the test's workers start.
func TestContinuationStartsBeforeTheLastRefreshesFinish(t *testing.T) {
	f := newFixture(t)
	// A turn takes one connection (its budget is up at once), and the
	// pool never makes it wait.
	f.zoho.latency = 500 * time.Millisecond
	f.svc.Workers, f.svc.WorkerBudget = 3, time.Nanosecond
	shard := ""
	var ids []string
	for i := 0; len(ids) < 3; i++ {
		id := f.add(fmt.Sprintf("ok-%d", i), time.Minute)
		if shard == "" {
			shard = connection.RefreshShard(id)
		}
		if connection.RefreshShard(id) != shard {
			f.store.Edit(id, func(c *connection.Connection) { c.Status = connection.Disconnected })
			continue
		}
		ids = append(ids, id)
	}
	var beforeStored, continuations atomic.Int64
	workers := &lambdaWorkers{onStart: func(r ShardRequest) {
		if r.Cursor == "" {
			return
		}
		continuations.Add(1)
		p, err := parseCursor(r.Shard, r.Cursor)
		if err != nil {
			t.Errorf("cursor %q: %v", r.Cursor, err)
			return
		}
		// The last one taken: the cursor's, or (a cursor at the start of
		// the idle part) the fresh part's last, which is any of them.
		last := []string{p.after.ID}
		if p.after.ID == "" {
			last = ids
		}
		for _, id := range last {
			if f.vault.versions(id) == 0 {
				beforeStored.Add(1)
				break
			}
		}
	}}
	workers.newHandler = func() *Handler { return &Handler{Service: f.svc, Log: slog.New(slog.DiscardHandler), Workers: workers} }
	if _, err := workers.newHandler().Handle(context.Background(), json.RawMessage(`{"shard":"`+shard+`"}`)); err != nil {
		t.Fatal(err)
	}
	workers.wg.Wait()
	if continuations.Load() < 1 || beforeStored.Load() != continuations.Load() {
		t.Fatalf("%d continuations, %d started before the last connection taken was stored", continuations.Load(), beforeStored.Load())
	}
	for _, id := range ids {
		if f.vault.versions(id) != 1 {
			t.Errorf("%s refreshed %d times", id, f.vault.versions(id))
		}
	}
}
