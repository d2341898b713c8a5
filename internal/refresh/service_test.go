package refresh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ---------------------------------------------------------------- fakes

// fakeStore is the in-memory connections table the contract proves
// (connectiontest.Connections passes storetest.RunConnectionsContract, as
// the DynamoDB store does), with the views these tests take of it.
type fakeStore struct{ *connectiontest.Connections }

type fakeItem struct {
	c     connection.Connection
	owner string
	until time.Time
}

func newFakeStore() *fakeStore { return &fakeStore{connectiontest.NewConnections()} }

func (f *fakeStore) put(c connection.Connection) { f.Put(c) }

func (f *fakeStore) item(id string) fakeItem {
	c := f.Item(id)
	return fakeItem{c: c, owner: c.Lease.Owner, until: c.Lease.Until}
}

// setLease makes owner hold the lease of id until until.
func (f *fakeStore) setLease(id, owner string, until time.Time) {
	f.Edit(id, func(c *connection.Connection) { c.Lease = connection.Lease{Owner: owner, Until: until} })
}

// fakeVault is the in-memory token vault the contract proves
// (connectiontest.Vault).
type fakeVault struct{ *connectiontest.Vault }

func newFakeVault() *fakeVault { return &fakeVault{connectiontest.NewVault()} }

// versions counts the access tokens written for id.
func (v *fakeVault) versions(id string) int { return v.AccessTokenWrites(id) }

// fakeZoho answers the token endpoint by the refresh token's prefix:
// "ok-" issues a token, "revoked-" invalid_code, "limited-" Access
// Denied, "down-" HTTP 503. Every answer waits latency first.
type fakeZoho struct {
	latency  time.Duration
	inFlight atomic.Int64
	maxIn    atomic.Int64
	mu       sync.Mutex
	calls    map[string]int // by refresh token
	hosts    map[string]int
}

func newFakeZoho() *fakeZoho { return &fakeZoho{calls: map[string]int{}, hosts: map[string]int{}} }

func (z *fakeZoho) RoundTrip(r *http.Request) (*http.Response, error) {
	n := z.inFlight.Add(1)
	defer z.inFlight.Add(-1)
	for {
		m := z.maxIn.Load()
		if n <= m || z.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	rt := form.Get("refresh_token")
	z.mu.Lock()
	z.calls[rt]++
	z.hosts[r.URL.Host]++
	z.mu.Unlock()
	if z.latency > 0 {
		select {
		case <-time.After(z.latency):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	status, answer := 200, `{"access_token":"1000.new`+fmt.Sprint(time.Now().UnixNano())+`","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}`
	switch {
	case strings.HasPrefix(rt, "revoked-"):
		answer = `{"error":"invalid_code"}`
	case strings.HasPrefix(rt, "limited-"):
		answer = `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`
	case strings.HasPrefix(rt, "down-"):
		status, answer = 503, `<html>unavailable</html>`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(answer)), Request: r}, nil
}

func (z *fakeZoho) callsFor(rt string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.calls[rt]
}

type staticOAuth struct{ conf *zoho.Config }

func (s staticOAuth) Config(context.Context) (*zoho.Config, error) { return s.conf, nil }

type countingLimiter struct{ n atomic.Int64 }

func (l *countingLimiter) Wait(context.Context) error { l.n.Add(1); return nil }

// ---------------------------------------------------------------- harness

type fixture struct {
	store *fakeStore
	vault *fakeVault
	zoho  *fakeZoho
	limit *countingLimiter
	logs  *bytes.Buffer
	svc   *Service
	now   time.Time
	n     int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(), vault: newFakeVault(), zoho: newFakeZoho(), limit: &countingLimiter{}, logs: &bytes.Buffer{}, now: time.Now()}
	f.svc = &Service{
		Connections: f.store, Tokens: f.vault, Limiter: f.limit,
		OAuth: staticOAuth{&zoho.Config{ClientID: "1000.client", ClientSecret: "client-secret-value", HTTPClient: &http.Client{Transport: f.zoho}}},
		Log:   logging.New(&lockedWriter{w: f.logs}, "debug"),
	}
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// add stores an active connection whose token expires in expiresIn, with
// the given refresh token.
func (f *fixture) add(refreshToken string, expiresIn time.Duration, change ...func(*connection.Connection)) string {
	f.n++
	id := connection.ID("us", zoho.Production, fmt.Sprint(700000+f.n))
	c := connection.Connection{ID: id, Location: "us", Environment: "production", Status: connection.Active,
		TokenExpiresAt: f.now.Add(expiresIn).Truncate(time.Second)}
	for _, ch := range change {
		ch(&c)
	}
	f.store.put(c)
	_ = f.vault.PutRefreshToken(context.Background(), c.ID, refreshToken)
	return c.ID
}

func checkInvariant(t *testing.T, s Summary) {
	t.Helper()
	if got := s.Refreshed + s.Failed + s.ReauthRequired + s.Skipped + s.BackingOff + s.Deferred + s.Idled; got != s.Due {
		t.Errorf("summary does not add up: %+v", s)
	}
}

// ---------------------------------------------------------------- tests

func TestRunOutcomes(t *testing.T) {
	f := newFixture(t)
	ok := f.add("ok-1", 10*time.Minute)
	eu := f.add("ok-eu", 5*time.Minute, func(c *connection.Connection) {
		c.Location = "eu"
		c.ID = connection.ID("eu", zoho.Production, "eu1")
	})
	revoked := f.add("revoked-1", 10*time.Minute)
	limited := f.add("limited-1", 10*time.Minute)
	down := f.add("down-1", 10*time.Minute, func(c *connection.Connection) { c.ConsecutiveFailures = 2 })
	notDue := f.add("ok-2", 50*time.Minute)
	backingOff := f.add("ok-3", 10*time.Minute, func(c *connection.Connection) {
		c.ConsecutiveFailures, c.NextAttemptAt = 1, f.now.Add(time.Minute)
	})
	inactive := f.add("ok-4", 10*time.Minute, func(c *connection.Connection) { c.Status = connection.ReauthRequired })

	sum, err := f.svc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, sum)
	want := Summary{Due: 6, Refreshed: 2, Failed: 2, ReauthRequired: 1, BackingOff: 1}
	if sum.Due != want.Due || sum.Refreshed != want.Refreshed || sum.Failed != want.Failed ||
		sum.ReauthRequired != want.ReauthRequired || sum.BackingOff != want.BackingOff || sum.Skipped != 0 || sum.Deferred != 0 {
		t.Fatalf("summary %+v, want %+v\n%s", sum, want, f.logs)
	}

	for _, id := range []string{ok, eu} {
		it := f.store.item(id)
		if !it.c.TokenExpiresAt.After(f.now.Add(50*time.Minute)) || it.owner != "" || f.vault.versions(id) != 1 {
			t.Errorf("%s not refreshed: %+v, %d versions", id, it, f.vault.versions(id))
		}
	}
	if f.zoho.hosts["accounts.zoho.eu"] != 1 {
		t.Errorf("the EU connection was not refreshed at accounts.zoho.eu: %v", f.zoho.hosts)
	}
	if it := f.store.item(revoked); it.c.Status != connection.ReauthRequired || !strings.Contains(it.c.StatusReason, "invalid_code") || it.c.StatusChangedAt.IsZero() || it.owner != "" {
		t.Errorf("revoked: %+v", it)
	}
	it := f.store.item(limited)
	if it.c.ConsecutiveFailures != 1 || it.c.NextAttemptAt.Sub(f.now) < 55*time.Second || it.c.NextAttemptAt.Sub(f.now) > 2*time.Minute || it.owner != "" || it.c.StatusReason != "" {
		t.Errorf("rate limited: %+v", it)
	}
	if !strings.Contains(it.c.LastError, "Access Denied") {
		t.Errorf("rate limited: last error %q", it.c.LastError)
	}
	it = f.store.item(down)
	if it.c.ConsecutiveFailures != 3 || it.c.NextAttemptAt.Sub(f.now) < 4*time.Minute-5*time.Second || it.c.NextAttemptAt.Sub(f.now) > 5*time.Minute {
		t.Errorf("unavailable: third failure should wait 4 minutes: %+v", it)
	}
	for _, id := range []string{notDue, backingOff, inactive} {
		if f.store.Writes(id) != 0 || f.vault.versions(id) != 0 {
			t.Errorf("%s was touched", id)
		}
	}
	if f.limit.n.Load() != 2 {
		t.Errorf("secret writes paced: %d, want 2", f.limit.n.Load())
	}
	if strings.Contains(f.logs.String(), "ok-1") || strings.Contains(f.logs.String(), "1000.new") || strings.Contains(f.logs.String(), "client-secret-value") {
		t.Error("a token or secret reached the logs")
	}
}

func TestRunFlagsAfterMaxFailures(t *testing.T) {
	f := newFixture(t)
	f.svc.MaxConsecutiveFailures = 3
	id := f.add("down-1", time.Minute, func(c *connection.Connection) { c.ConsecutiveFailures = 2 })
	if _, err := f.svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	it := f.store.item(id)
	if it.c.ConsecutiveFailures != 3 || it.c.StatusReason != FlagReason || it.c.Status != connection.Active {
		t.Fatalf("not flagged after 3 failures: %+v", it.c)
	}
	// It recovers: a success clears the flag.
	_ = f.vault.PutRefreshToken(context.Background(), id, "ok-1")
	f.store.Edit(id, func(c *connection.Connection) { c.NextAttemptAt = time.Time{} })
	if sum, _ := f.svc.Run(context.Background()); sum.Refreshed != 1 {
		t.Fatalf("%+v", sum)
	}
	if it := f.store.item(id); it.c.ConsecutiveFailures != 0 || it.c.StatusReason != "" {
		t.Fatalf("flag not cleared: %+v", it.c)
	}
}

func TestRunWorkerPoolIsBounded(t *testing.T) {
	for _, workers := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			f := newFixture(t)
			f.zoho.latency = 20 * time.Millisecond
			f.svc.Workers = workers
			for i := range 24 {
				f.add(fmt.Sprintf("ok-%d", i), time.Minute)
			}
			sum, err := f.svc.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if sum.Refreshed != 24 {
				t.Fatalf("%+v", sum)
			}
			if got := f.zoho.maxIn.Load(); got != int64(workers) {
				t.Errorf("%d requests at once, want %d", got, workers)
			}
			for i := range 24 {
				if n := f.zoho.callsFor(fmt.Sprintf("ok-%d", i)); n != 1 {
					t.Errorf("refresh token %d used %d times", i, n)
				}
			}
		})
	}
}

func TestRunStopsBeforeTheDeadline(t *testing.T) {
	f := newFixture(t)
	f.zoho.latency = 100 * time.Millisecond
	f.svc.Workers = 2
	f.svc.DeadlineMargin = 300 * time.Millisecond
	var ids []string
	for i := range 20 {
		ids = append(ids, f.add(fmt.Sprintf("ok-%d", i), time.Minute))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 650*time.Millisecond)
	defer cancel()
	sum, err := f.svc.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, sum)
	if sum.Deferred == 0 || sum.Refreshed == 0 || sum.Failed != 0 {
		t.Fatalf("want some refreshed and the rest deferred: %+v", sum)
	}
	// Nothing half done: each connection is either refreshed and recorded,
	// or untouched.
	done := 0
	for _, id := range ids {
		it := f.store.item(id)
		switch {
		case it.owner != "":
			t.Errorf("%s still leased", id)
		case f.vault.versions(id) == 1 && it.c.TokenExpiresAt.After(f.now.Add(30*time.Minute)):
			done++
		case f.vault.versions(id) == 0 && f.store.Writes(id) == 0:
		default:
			t.Errorf("%s half done: %+v, %d versions", id, it, f.vault.versions(id))
		}
	}
	if done != sum.Refreshed {
		t.Errorf("%d refreshed in the store, summary says %d", done, sum.Refreshed)
	}
	// The next run finishes them.
	sum2, err := f.svc.Run(context.Background())
	if err != nil || sum2.Refreshed != sum.Deferred || sum2.Due != sum.Deferred {
		t.Fatalf("second run %+v (%v), first deferred %d", sum2, err, sum.Deferred)
	}
}

func TestRunSkipsWhatIsLeasedOrAlreadyFresh(t *testing.T) {
	f := newFixture(t)
	held := f.add("ok-1", time.Minute)
	f.store.setLease(held, "someone", time.Now().Add(time.Minute))
	expired := f.add("ok-2", time.Minute)
	f.store.setLease(expired, "crashed", time.Now().Add(-2*time.Second))

	sum, err := f.svc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || sum.Refreshed != 1 {
		t.Fatalf("a held lease is skipped, an expired one taken over: %+v", sum)
	}
	if f.zoho.callsFor("ok-1") != 0 {
		t.Error("a leased connection was refreshed")
	}
}

func TestTwoRunsAtOnceRefreshEachOnce(t *testing.T) {
	f := newFixture(t)
	f.zoho.latency = 5 * time.Millisecond
	for i := range 40 {
		f.add(fmt.Sprintf("ok-%d", i), time.Minute)
	}
	var wg sync.WaitGroup
	sums := make([]Summary, 2)
	for i := range sums {
		wg.Go(func() { sums[i], _ = f.svc.Run(context.Background()) })
	}
	wg.Wait()
	if got := sums[0].Refreshed + sums[1].Refreshed; got != 40 {
		t.Fatalf("refreshed %d, want 40: %+v", got, sums)
	}
	for i := range 40 {
		if n := f.zoho.callsFor(fmt.Sprintf("ok-%d", i)); n != 1 {
			t.Errorf("refresh token %d used %d times", i, n)
		}
	}
}

func TestRefreshOne(t *testing.T) {
	t.Run("refreshes", func(t *testing.T) {
		f := newFixture(t)
		id := f.add("ok-1", 50*time.Minute)
		res, err := f.svc.RefreshOne(context.Background(), id, time.Time{})
		if err != nil || res.Outcome != Refreshed || res.TokenExpiresAt == nil || !res.TokenExpiresAt.After(f.now.Add(55*time.Minute)) {
			t.Fatalf("%+v %v", res, err)
		}
		// Asked again at once: the token is fresh, Zoho is not asked again.
		res, err = f.svc.RefreshOne(context.Background(), id, time.Time{})
		if err != nil || res.Outcome != Fresh || f.zoho.callsFor("ok-1") != 1 {
			t.Fatalf("%+v %v, %d calls", res, err, f.zoho.callsFor("ok-1"))
		}
	})
	t.Run("waits for another holder", func(t *testing.T) {
		f := newFixture(t)
		f.svc.PollInterval = 20 * time.Millisecond
		id := f.add("ok-1", 50*time.Minute)
		f.store.setLease(id, "run-other", time.Now().Add(time.Minute))
		go func() {
			time.Sleep(150 * time.Millisecond)
			exp := time.Now().Add(time.Hour)
			_ = f.store.UpdateLeased(context.Background(), id, "run-other", func(c *connection.Connection) { c.Refreshed(exp) })
		}()
		res, err := f.svc.RefreshOne(context.Background(), id, time.Time{})
		if err != nil || res.Outcome != RefreshedByAnother || f.zoho.callsFor("ok-1") != 0 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("holder does not finish", func(t *testing.T) {
		f := newFixture(t)
		f.svc.PollInterval, f.svc.OnDemandWait = 20*time.Millisecond, 200*time.Millisecond
		id := f.add("ok-1", 50*time.Minute)
		f.store.setLease(id, "run-other", time.Now().Add(time.Minute))
		res, err := f.svc.RefreshOne(context.Background(), id, time.Time{})
		if err != nil || res.Outcome != InProgress || f.zoho.callsFor("ok-1") != 0 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		f := newFixture(t)
		id := f.add("revoked-1", 50*time.Minute)
		res, err := f.svc.RefreshOne(context.Background(), id, time.Time{})
		if err != nil || res.Outcome != ReauthRequired {
			t.Fatalf("%+v %v", res, err)
		}
		if res, _ := f.svc.RefreshOne(context.Background(), id, time.Time{}); res.Outcome != ReauthRequired || f.zoho.callsFor("revoked-1") != 1 {
			t.Fatalf("a reauth_required connection is not refreshed again: %+v", res)
		}
	})
	t.Run("unknown and malformed", func(t *testing.T) {
		f := newFixture(t)
		if res, err := f.svc.RefreshOne(context.Background(), connection.ID("us", zoho.Production, "1"), time.Time{}); err != nil || res.Outcome != NotFound {
			t.Fatalf("%+v %v", res, err)
		}
		if _, err := f.svc.RefreshOne(context.Background(), "zc_../../x", time.Time{}); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("%v", err)
		}
	})
}

// Sync names the token Zoho refused by its expiry: a young token (which
// RefreshOne alone calls fresh) is refreshed when it is still the stored
// one, and not when someone replaced it meanwhile.
func TestRefreshOneRejectedToken(t *testing.T) {
	t.Run("young token refused: refreshed once", func(t *testing.T) {
		f := newFixture(t)
		// Just connected (half a minute ago: a refresh now gives a later
		// expiry, as it does at Zoho; two tokens whose expiries fall in the
		// same second are one to the table).
		id := f.add("ok-1", 59*time.Minute+30*time.Second)
		stored := f.store.item(id).c.TokenExpiresAt
		if res, err := f.svc.RefreshOne(context.Background(), id, time.Time{}); err != nil || res.Outcome != Fresh || f.zoho.callsFor("ok-1") != 0 {
			t.Fatalf("without a rejected token: %+v %v", res, err)
		}
		// The vault's expiry has sub-second precision; the table's is whole
		// seconds.
		rejected := stored.Add(700 * time.Millisecond)
		res, err := f.svc.RefreshOne(context.Background(), id, rejected)
		if err != nil || res.Outcome != Refreshed || f.zoho.callsFor("ok-1") != 1 || f.vault.versions(id) != 1 {
			t.Fatalf("rejected token still stored: %+v %v, %d calls", res, err, f.zoho.callsFor("ok-1"))
		}
		// Another caller that was refused the same token: the stored one is
		// newer now; read the vault, spend nothing.
		res, err = f.svc.RefreshOne(context.Background(), id, rejected)
		if err != nil || res.Outcome != RefreshedByAnother || f.zoho.callsFor("ok-1") != 1 {
			t.Fatalf("already replaced: %+v %v, %d calls", res, err, f.zoho.callsFor("ok-1"))
		}
	})
	t.Run("many callers at once: one refresh", func(t *testing.T) {
		f := newFixture(t)
		f.zoho.latency = 50 * time.Millisecond
		f.svc.PollInterval = 10 * time.Millisecond
		id := f.add("ok-1", 59*time.Minute+30*time.Second)
		rejected := f.store.item(id).c.TokenExpiresAt
		var wg sync.WaitGroup
		outcomes := make([]Outcome, 6)
		for i := range outcomes {
			wg.Go(func() {
				res, err := f.svc.RefreshOne(context.Background(), id, rejected)
				if err != nil {
					t.Error(err)
				}
				outcomes[i] = res.Outcome
			})
		}
		wg.Wait()
		n := map[Outcome]int{}
		for _, o := range outcomes {
			n[o]++
		}
		if f.zoho.callsFor("ok-1") != 1 || n[Refreshed] != 1 || n[RefreshedByAnother] != 5 {
			t.Fatalf("%d refreshes, outcomes %v", f.zoho.callsFor("ok-1"), n)
		}
	})
	t.Run("handler reads rejected_token_expires_at", func(t *testing.T) {
		f := newFixture(t)
		id := f.add("ok-1", time.Hour)
		h := &Handler{Service: f.svc, Log: f.svc.Log}
		exp := f.store.item(id).c.TokenExpiresAt.UTC().Format(time.RFC3339)
		out, err := h.Handle(context.Background(), json.RawMessage(`{"connection_id":"`+id+`","rejected_token_expires_at":"`+exp+`"}`))
		if res, ok := out.(OneResult); err != nil || !ok || res.Outcome != Refreshed {
			t.Fatalf("%#v %v", out, err)
		}
		if _, err := h.Handle(context.Background(), json.RawMessage(`{"connection_id":"`+id+`","rejected_token_expires_at":"yesterday"}`)); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("malformed expiry: %v", err)
		}
		if f.zoho.callsFor("ok-1") != 1 {
			t.Fatalf("%d refreshes", f.zoho.callsFor("ok-1"))
		}
	})
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: time.Minute, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		5: 16 * time.Minute, 6: 30 * time.Minute, 50: 30 * time.Minute} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestPacer(t *testing.T) {
	// A fake clock: each Wait sleeps until its slot, which advances it.
	var (
		mu    sync.Mutex
		clock = time.Unix(1000, 0)
		slept []time.Duration
	)
	p := NewPacer(20)
	p.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	p.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}
	for range 5 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Fatalf("slept %v, want %v", slept, want)
	}
	// After a pause no burst builds up: the next call goes at once, the
	// one after waits a full interval.
	mu.Lock()
	clock, slept = clock.Add(10*time.Second), nil
	mu.Unlock()
	_ = p.Wait(context.Background())
	_ = p.Wait(context.Background())
	if fmt.Sprint(slept) != fmt.Sprint([]time.Duration{0, 50 * time.Millisecond}) {
		t.Fatalf("after a pause slept %v", slept)
	}
}

func TestPacerRealTimeAndCancel(t *testing.T) {
	p := NewPacer(100)
	start := time.Now()
	var wg sync.WaitGroup
	for range 11 {
		wg.Go(func() { _ = p.Wait(context.Background()) })
	}
	wg.Wait()
	if el := time.Since(start); el < 95*time.Millisecond {
		t.Fatalf("11 waits at 100/s took %v", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
}

func TestRunLogsOneLineWithEmbeddedMetrics(t *testing.T) {
	f := newFixture(t)
	f.svc.Log = logging.New(f.logs, "info")
	f.add("ok-1", time.Minute)
	f.add("down-1", time.Minute)
	f.add("revoked-1", time.Minute)
	if _, err := f.svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		if strings.Contains(l, `"msg":"refresh run"`) {
			if line != nil {
				t.Fatal("more than one run line")
			}
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no run line in %s", f.logs)
	}
	aws, _ := line["_aws"].(map[string]any)
	cwm, _ := aws["CloudWatchMetrics"].([]any)
	if aws["Timestamp"] == nil || len(cwm) != 1 {
		t.Fatalf("_aws: %v", line["_aws"])
	}
	m := cwm[0].(map[string]any)
	if m["Namespace"] != "ZohoConnect" || fmt.Sprint(m["Dimensions"]) != "[[Stage]]" {
		t.Errorf("namespace/dimensions: %v", m)
	}
	names := map[string]bool{}
	for _, x := range m["Metrics"].([]any) {
		names[x.(map[string]any)["Name"].(string)] = true
	}
	for name, want := range map[string]float64{"RefreshRefreshed": 1, "RefreshFailed": 1, "RefreshReauthRequired": 1, "RefreshDue": 3} {
		if !names[name] || line[name] != want {
			t.Errorf("%s: declared %v, value %v, want %v", name, names[name], line[name], want)
		}
	}
	s, _ := line["summary"].(map[string]any)
	for _, k := range []string{"due", "refreshed", "failed", "reauth_required", "skipped", "deferred", "duration_ms"} {
		if _, ok := s[k]; !ok {
			t.Errorf("summary lacks %s: %v", k, s)
		}
	}
}

func TestHandlerDispatch(t *testing.T) {
	f := newFixture(t)
	id := f.add("ok-1", time.Minute)
	h := &Handler{Service: f.svc, Log: slog.New(slog.DiscardHandler)}
	sched, err := h.Handle(context.Background(), json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := sched.(Summary); !ok || s.Refreshed != 1 {
		t.Fatalf("schedule answered %#v", sched)
	}
	b, _ := json.Marshal(sched)
	for _, k := range []string{`"due":1`, `"refreshed":1`, `"failed":0`, `"reauth_required":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("summary JSON %s lacks %s", b, k)
		}
	}
	one, err := h.Handle(context.Background(), json.RawMessage(`{"connection_id":"`+id+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := one.(OneResult); !ok || r.Outcome != Fresh || r.ConnectionID != id {
		t.Fatalf("on demand answered %#v", one)
	}
	for _, p := range []string{``, `null`, `"text"`, `[]`} {
		if _, err := h.Handle(context.Background(), json.RawMessage(p)); err != nil {
			t.Errorf("payload %q: %v", p, err)
		}
	}
}

// An on-demand refresh during a backoff does not ask Zoho: it would spend
// the token budget and push the backoff further (review finding).
func TestRefreshOneDuringBackoff(t *testing.T) {
	f := newFixture(t)
	id := f.add("ok-1", -time.Minute, func(c *connection.Connection) {
		c.ConsecutiveFailures, c.NextAttemptAt = 3, f.now.Add(4*time.Minute)
	})
	for range 5 {
		res, err := f.svc.RefreshOne(context.Background(), id, f.now.Add(-time.Minute))
		if err != nil || res.Outcome != ondemand.BackingOff {
			t.Fatalf("%+v %v", res, err)
		}
	}
	if n := f.zoho.callsFor("ok-1"); n != 0 {
		t.Fatalf("%d token requests during the backoff", n)
	}
	if c := f.store.item(id); c.c.ConsecutiveFailures != 3 || !c.c.NextAttemptAt.Equal(f.now.Add(4*time.Minute).Truncate(time.Second)) {
		t.Fatalf("the backoff moved: %+v", c.c)
	}
	f.svc.Now = func() time.Time { return f.now.Add(5 * time.Minute) }
	if res, err := f.svc.RefreshOne(context.Background(), id, time.Time{}); err != nil || res.Outcome != Refreshed {
		t.Fatalf("after the backoff: %+v %v", res, err)
	}
}

type slowTransport struct {
	next  http.RoundTripper
	delay time.Duration
}

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.delay)
	return s.next.RoundTrip(r)
}

type slowLimiter struct{ delay time.Duration }

func (l slowLimiter) Wait(ctx context.Context) error {
	select {
	case <-time.After(l.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The time to store a token starts when Zoho has answered: a slow answer
// must not leave a token Zoho issued unstored (review finding: Zoho at
// 9.8 s of a 10 s budget, half the tokens lost).
func TestSlowZohoLeavesTimeToStore(t *testing.T) {
	f := newFixture(t)
	f.svc.OAuth = staticOAuth{&zoho.Config{ClientID: "1000.client", ClientSecret: "client-secret-value",
		HTTPClient: &http.Client{Transport: slowTransport{next: f.zoho, delay: 150 * time.Millisecond}}}}
	f.svc.Limiter = slowLimiter{delay: 100 * time.Millisecond}
	f.svc.WriteTimeout = 200 * time.Millisecond // Zoho's 150 ms + the pacer's 100 ms would not fit
	id := f.add("ok-1", time.Minute)
	res, err := f.svc.RefreshOne(context.Background(), id, time.Time{})
	if err != nil || res.Outcome != Refreshed {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := f.vault.AccessToken(context.Background(), id); err != nil {
		t.Fatalf("the issued token was not stored: %v", err)
	}
}
