package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/product"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ConnectionsTable is the connections table as every use case sees it:
// the callback (connect), the refresh, sync (submission) and the
// operator's command (admin). awsstore.ConnectionStore and
// connectiontest.Connections are each all of it.
type ConnectionsTable interface {
	connect.ConnectionStore
	refresh.Connections
	submission.ConnectionStore
	admin.ConnectionStore
	admin.ConnectionLister
	product.ConnectionStore
	// DueConnections lists a shard's fresh part at once (the due index's
	// other reader, for operators and benches).
	DueConnections(ctx context.Context, shard string, before time.Time, limit int) ([]*connection.Connection, error)
	// RecordUse is sync's record of a use (submission's optional
	// UseRecorder).
	RecordUse(ctx context.Context, id string, at time.Time) (bool, error)
}

// RunConnectionsContract runs the connections table's contract against
// the tables newTable makes (a fresh, empty one per call).
func RunConnectionsContract(t *testing.T, newTable func(t *testing.T) ConnectionsTable) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s ConnectionsTable)
	}{
		{"Update creates then changes a connection, version by version", updateCreatesAndCounts},
		{"times are kept in whole seconds", wholeSeconds},
		{"concurrent Updates lose nothing", concurrentUpdates},
		{"the callback's lease", callbackLease},
		{"the due index and the refresh lease", dueIndexAndRefreshLease},
		{"a leased write needs the lease and an active connection", leasedWriteConditions},
		{"a leased write writes what the transition changed and nothing else", leasedWriteChangesOnly},
		{"sync's RequireReauth changes an active connection's status only", syncRequireReauth},
		{"Disconnect leaves the due index", disconnectLeavesDueIndex},
		{"List filters by status and stops at the callback's error", listFilters},
		{"the product's settings and the last connect are kept, and emptied", productFields},
		{"ListPage pages a tenant's connections, or everyone's, and checks its cursor", listPages},
		{"DuePage pages a part of the due index from a key, every connection once", duePages},
		{"an idle connection leaves the fresh part, and its next use brings it back, once an hour", idleAndUse},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newTable(t)) })
	}
}

var ctx = context.Background()

// newConn stores a connection of org through Update.
func newConn(t *testing.T, s ConnectionsTable, org string, expires time.Time, status connection.Status) string {
	t.Helper()
	id := connection.ID("us", zoho.Production, org)
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Location, c.Environment, c.OrgID = "us", "production", org
		c.TokenExpiresAt = expires
		c.SetStatus(status, "", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func get(t *testing.T, s ConnectionsTable, id string) *connection.Connection {
	t.Helper()
	c, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}

func refreshed(exp time.Time) func(*connection.Connection) {
	return func(c *connection.Connection) { c.Refreshed(exp) }
}

func failed(lastErr string, next time.Time, flag string) func(*connection.Connection) {
	return func(c *connection.Connection) { c.RefreshFailed(lastErr, next, flag) }
}

func refused(reason string, at time.Time) func(*connection.Connection) {
	return func(c *connection.Connection) { c.RefreshRefused(reason, at) }
}

func isDue(t *testing.T, s ConnectionsTable, id string, before time.Time) bool {
	t.Helper()
	cs, err := s.DueConnections(ctx, connection.RefreshShard(id), before, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

func updateCreatesAndCounts(t *testing.T, s ConnectionsTable) {
	id := connection.ID("eu", zoho.Sandbox, "100")
	if _, err := s.Get(ctx, id); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("get of an unknown connection: %v", err)
	}
	// A change that fails writes nothing, not even a new item.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, id, func(*connection.Connection) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("the change's error: %v", err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("a failed change created the connection: %v", err)
	}
	c, err := s.Update(ctx, id, func(c *connection.Connection) error {
		if c.ID != id || c.Version != 0 || c.Status != "" {
			t.Errorf("a new connection is %+v", c)
		}
		c.Location, c.Environment, c.OrgID, c.OrgName = "eu", "sandbox", "100", "Acme"
		c.FieldMapping = map[string]string{"email": "Email"}
		c.SetStatus(connection.Active, "", time.Now())
		return nil
	})
	if err != nil || c.Version != 1 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("created: %+v %v", c, err)
	}
	got := get(t, s, id)
	if got.Version != 1 || got.OrgName != "Acme" || got.FieldMapping["email"] != "Email" || got.Status != connection.Active ||
		!got.CreatedAt.Equal(second(c.CreatedAt)) {
		t.Fatalf("stored: %+v", got)
	}
	again, err := s.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version != 1 || c.OrgName != "Acme" {
			t.Errorf("the change did not see what was stored: %+v", c)
		}
		c.OrgName = "Acme GmbH"
		return nil
	})
	if err != nil || again.Version != 2 || !again.CreatedAt.Equal(got.CreatedAt) {
		t.Fatalf("changed: %+v %v", again, err)
	}
	if after := get(t, s, id); after.Version != 2 || after.OrgName != "Acme GmbH" || after.FieldMapping["email"] != "Email" {
		t.Fatalf("after the change: %+v", after)
	}
}

func wholeSeconds(t *testing.T, s ConnectionsTable) {
	base := time.Now().Truncate(time.Second)
	frac := base.Add(700 * time.Millisecond)
	id := connection.ID("us", zoho.Production, "200")
	c, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.TokenExpiresAt, c.NextAttemptAt = frac, frac.Add(time.Minute)
		c.SetStatus(connection.Active, "", frac)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.TokenExpiresAt.Equal(frac) {
		t.Errorf("Update answers what it was given: %v", c.TokenExpiresAt)
	}
	got := get(t, s, id)
	if !got.TokenExpiresAt.Equal(base) || !got.NextAttemptAt.Equal(base.Add(time.Minute)) || !got.StatusChangedAt.Equal(base) {
		t.Fatalf("kept %v, %v, %v; want whole seconds of %v", got.TokenExpiresAt, got.NextAttemptAt, got.StatusChangedAt, frac)
	}
	// Conditions compare whole seconds too: a token expiring at .7 is due
	// by .2 of the same second.
	if !isDue(t, s, id, base.Add(200*time.Millisecond)) {
		t.Error("not due within its second")
	}
	if isDue(t, s, id, base.Add(-300*time.Millisecond)) {
		t.Error("due a second early")
	}
}

func concurrentUpdates(t *testing.T, s ConnectionsTable) {
	id := newConn(t, s, "300", time.Now().Add(time.Hour), connection.Active)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
	)
	for range 4 {
		wg.Go(func() {
			_, err := s.Update(ctx, id, func(c *connection.Connection) error {
				c.ConsecutiveFailures++
				return nil
			})
			switch {
			case err == nil:
				mu.Lock()
				written++
				mu.Unlock()
			case !errors.Is(err, connection.ErrConflict):
				t.Errorf("update: %v", err)
			}
		})
	}
	wg.Wait()
	if c := get(t, s, id); c.ConsecutiveFailures != written || written == 0 || c.Version != int64(1+written) {
		t.Fatalf("%d updates written, the count is %d (version %d)", written, c.ConsecutiveFailures, c.Version)
	}
}

func callbackLease(t *testing.T, s ConnectionsTable) {
	now := time.Now().Truncate(time.Second)
	unknown := connection.ID("us", zoho.Production, "nobody")
	if ok, err := s.TakeLease(ctx, unknown, "callback-1", now, now.Add(30*time.Second)); ok || err != nil {
		t.Fatalf("leased an unknown connection: %v %v", ok, err)
	}
	if err := s.ReleaseLease(ctx, unknown, "callback-1"); err != nil {
		t.Fatalf("releasing an unknown connection's lease: %v", err)
	}
	if _, err := s.Get(ctx, unknown); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("the lease calls created a connection: %v", err)
	}

	// Whatever the status: the callback replaces a disconnected
	// connection's tokens too.
	id := newConn(t, s, "400", now.Add(time.Hour), connection.Disconnected)
	v0 := get(t, s, id).Version
	if ok, err := s.TakeLease(ctx, id, "callback-1", now, now.Add(30*time.Second)); !ok || err != nil {
		t.Fatalf("take: %v %v", ok, err)
	}
	if owner, until, err := s.Lease(ctx, id); owner != "callback-1" || !until.Equal(now.Add(30*time.Second)) || err != nil {
		t.Fatalf("lease %q %v %v", owner, until, err)
	}
	if ok, _ := s.TakeLease(ctx, id, "callback-2", now.Add(29*time.Second), now.Add(time.Minute)); ok {
		t.Fatal("a held lease was taken")
	}
	if ok, _ := s.TakeLease(ctx, id, "callback-1", now, now.Add(time.Minute)); ok {
		t.Fatal("a held lease was taken again by its holder")
	}
	// Update writes around the lease.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.OrgName = "replaced"
		c.Lease = connection.Lease{Owner: "not-written", Until: now.Add(time.Hour)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := get(t, s, id); c.Lease.Owner != "callback-1" || c.OrgName != "replaced" || c.Version != v0+1 {
		t.Fatalf("after an Update under the lease: %+v", c)
	}
	// Only the holder releases; neither the take nor the release counts
	// as a version.
	if err := s.ReleaseLease(ctx, id, "callback-2"); err != nil {
		t.Fatal(err)
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "callback-1" {
		t.Fatal("another's release freed the lease")
	}
	if err := s.ReleaseLease(ctx, id, "callback-1"); err != nil {
		t.Fatal(err)
	}
	if c := get(t, s, id); c.Lease.Owner != "" || !c.Lease.Until.IsZero() || c.Version != v0+1 {
		t.Fatalf("after the release: %+v", c)
	}
	// An expired lease is taken over: expired means before now's second.
	if ok, _ := s.TakeLease(ctx, id, "callback-3", now, now.Add(time.Second)); !ok {
		t.Fatal("take")
	}
	if ok, _ := s.TakeLease(ctx, id, "callback-4", now.Add(1900*time.Millisecond), now.Add(time.Minute)); ok {
		t.Fatal("a lease was taken in its last second")
	}
	if ok, _ := s.TakeLease(ctx, id, "callback-4", now.Add(2*time.Second), now.Add(time.Minute)); !ok {
		t.Fatal("an expired lease was not taken over")
	}
}

// Moved from awsstore's TestDueIndexAndRefreshLease, so that the fake
// passes it too.
func dueIndexAndRefreshLease(t *testing.T, s ConnectionsTable) {
	now := time.Now().Truncate(time.Second)

	// Due connections, spread over the shards; one not due; one inactive.
	due := map[string]bool{}
	for i := range 40 {
		due[newConn(t, s, fmt.Sprint(1000+i), now.Add(time.Duration(i)*time.Second), connection.Active)] = true
	}
	late := newConn(t, s, "2000", now.Add(2*time.Hour), connection.Active)
	gone := newConn(t, s, "2001", now, connection.ReauthRequired)

	found := map[string]bool{}
	for shard := range connection.RefreshShards {
		cs, err := s.DueConnections(ctx, fmt.Sprintf("%02d", shard), now.Add(time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			if connection.RefreshShard(c.ID) != fmt.Sprintf("%02d", shard) {
				t.Errorf("%s found in shard %02d", c.ID, shard)
			}
			if i > 0 && c.TokenExpiresAt.Before(cs[i-1].TokenExpiresAt) {
				t.Errorf("shard %02d not soonest first", shard)
			}
			found[c.ID] = true
		}
	}
	if len(found) != 40 || found[late] || found[gone] {
		t.Fatalf("found %d due (late %v, inactive %v)", len(found), found[late], found[gone])
	}
	// limit bounds the answer and pages are followed.
	shard := connection.RefreshShard(late)
	all, _ := s.DueConnections(ctx, shard, now.Add(3*time.Hour), 0)
	some, err := s.DueConnections(ctx, shard, now.Add(3*time.Hour), 1)
	if err != nil || len(some) != 1 || len(all) < 1 {
		t.Fatalf("limit: %d of %d, %v", len(some), len(all), err)
	}
	if some[0].ID != all[0].ID {
		t.Fatalf("limit 1 answered %s, not the soonest %s", some[0].ID, all[0].ID)
	}

	var id string
	for k := range due {
		id = k
		break
	}
	before := get(t, s, id)

	// A token that expires after dueBy is not leased.
	if _, ok, err := s.AcquireLease(ctx, id, "a", now, now.Add(time.Minute), before.TokenExpiresAt.Add(-time.Second)); ok || err != nil {
		t.Fatalf("leased a connection that is not due: %v %v", ok, err)
	}
	if _, ok, _ := s.AcquireLease(ctx, gone, "a", now, now.Add(time.Minute), now.Add(time.Hour)); ok {
		t.Fatal("leased an inactive connection")
	}
	if _, ok, _ := s.AcquireLease(ctx, connection.ID("us", zoho.Production, "nobody"), "a", now, now.Add(time.Minute), now.Add(time.Hour)); ok {
		t.Fatal("leased an unknown connection")
	}
	c, ok, err := s.AcquireLease(ctx, id, "a", now, now.Add(time.Minute), now.Add(time.Hour))
	if !ok || err != nil || c.ID != id || c.Version != before.Version+1 || c.Lease.Owner != "a" || !c.Lease.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("lease: %v %v %+v", ok, err, c)
	}
	if _, ok, _ := s.AcquireLease(ctx, id, "b", now, now.Add(time.Minute), now.Add(time.Hour)); ok {
		t.Fatal("a held lease was taken")
	}
	if owner, until, _ := s.Lease(ctx, id); owner != "a" || !until.Equal(now.Add(time.Minute)) {
		t.Fatalf("lease %q %v", owner, until)
	}
	// The callback's Update leaves the lease alone.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error { c.OrgName = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "a" {
		t.Fatal("Update broke the lease")
	}
	// Only the holder records.
	if err := s.UpdateLeased(ctx, id, "b", refreshed(now.Add(time.Hour))); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("a non-holder recorded: %v", err)
	}
	if err := s.UpdateLeased(ctx, id, "a", failed("zoho: unavailable", now.Add(time.Minute), "")); err != nil {
		t.Fatalf("failure: %v", err)
	}
	if c := get(t, s, id); c.ConsecutiveFailures != 1 {
		t.Fatalf("failure: %d", c.ConsecutiveFailures)
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "" {
		t.Fatal("RefreshFailed kept the lease")
	}
	// An expired lease is taken over.
	if _, ok, _ := s.AcquireLease(ctx, id, "c", now, now.Add(-time.Second), now.Add(time.Hour)); !ok {
		t.Fatal("lease after failure")
	}
	if _, ok, _ := s.AcquireLease(ctx, id, "d", now, now.Add(time.Minute), now.Add(time.Hour)); !ok {
		t.Fatal("an expired lease was not taken over")
	}
	if err := s.ReleaseLease(ctx, id, "c"); err != nil {
		t.Fatalf("releasing a lost lease: %v", err)
	}
	if err := s.UpdateLeased(ctx, id, "d", failed("again", now.Add(2*time.Minute), refresh.FlagReason)); err != nil {
		t.Fatalf("failure: %v", err)
	}
	c = get(t, s, id)
	if c.ConsecutiveFailures != 2 || c.StatusReason != refresh.FlagReason || !c.NextAttemptAt.Equal(now.Add(2*time.Minute)) || c.LastError != "again" {
		t.Fatalf("after two failures: %+v", c)
	}
	if _, ok, _ := s.AcquireLease(ctx, id, "e", now, now.Add(time.Minute), now.Add(time.Hour)); !ok {
		t.Fatal("lease")
	}
	if err := s.UpdateLeased(ctx, id, "e", refreshed(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	c = get(t, s, id)
	if c.ConsecutiveFailures != 0 || c.StatusReason != "" || !c.NextAttemptAt.IsZero() || c.LastError != "" || !c.TokenExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after refresh: %+v", c)
	}

	// reauth_required leaves the due index.
	if _, ok, _ := s.AcquireLease(ctx, id, "f", now, now.Add(time.Minute), now.Add(2*time.Hour)); !ok {
		t.Fatal("lease")
	}
	if err := s.UpdateLeased(ctx, id, "f", refused("revoked", now)); err != nil {
		t.Fatal(err)
	}
	c = get(t, s, id)
	if c.Status != connection.ReauthRequired || c.StatusReason != "revoked" || !c.StatusChangedAt.Equal(now.UTC()) || c.LastError != "revoked" {
		t.Fatalf("reauth: %+v", c)
	}
	if isDue(t, s, id, now.Add(3*time.Hour)) {
		t.Fatal("a reauth_required connection is still in the due index")
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "" {
		t.Fatal("lease kept")
	}
}

func leasedWriteConditions(t *testing.T, s ConnectionsTable) {
	now := time.Now().Truncate(time.Second)
	unknown := connection.ID("us", zoho.Production, "nobody")
	if err := s.UpdateLeased(ctx, unknown, "run-1", refreshed(now.Add(time.Hour))); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("a leased write of an unknown connection: %v", err)
	}
	if _, err := s.Get(ctx, unknown); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("a leased write created a connection: %v", err)
	}

	// The holder of an expired lease nobody took over still writes.
	id := newConn(t, s, "500", now.Add(10*time.Minute), connection.Active)
	if _, ok, err := s.AcquireLease(ctx, id, "run-1", now.Add(-2*time.Minute), now.Add(-time.Minute), now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if err := s.UpdateLeased(ctx, id, "run-1", refreshed(now.Add(time.Hour))); err != nil {
		t.Fatalf("the holder of an expired lease: %v", err)
	}
	// After its write the lease is gone: a second write by the same run
	// is refused.
	if err := s.UpdateLeased(ctx, id, "run-1", failed("late", now, "")); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("a write after the lease ended: %v", err)
	}

	// As refresh's TestDisconnectDuringARefreshIsNotUndone has it through
	// the whole flow: an operator disconnects a connection while a refresh
	// holds its lease; the refresh's late writes are refused.
	if _, ok, err := s.AcquireLease(ctx, id, "run-2", now, now.Add(time.Minute), now.Add(2*time.Hour)); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Disconnect("disconnected by operator", now)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v := get(t, s, id).Version
	if err := s.UpdateLeased(ctx, id, "run-2", refused("invalid_code", now)); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("RefreshRefused after a disconnect: %v", err)
	}
	if err := s.UpdateLeased(ctx, id, "run-2", refreshed(now.Add(time.Hour))); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("Refreshed after a disconnect: %v", err)
	}
	if c := get(t, s, id); c.Status != connection.Disconnected || c.Version != v || c.Lease.Owner != "run-2" {
		t.Fatalf("after the refused writes: %+v", c)
	}
}

func leasedWriteChangesOnly(t *testing.T, s ConnectionsTable) {
	now := time.Now().Truncate(time.Second)
	id := newConn(t, s, "600", now.Add(5*time.Minute), connection.Active)
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.OrgName, c.UserEmail, c.Scopes = "Acme", "ana@example.com", "ZohoCRM.modules.ALL"
		c.SubmissionKeyID, c.SubmissionHash = "kid", "hash-of-the-key"
		c.FieldMapping = map[string]string{"budget": "Annual_Revenue"}
		c.ConsecutiveFailures, c.LastError, c.NextAttemptAt = 3, "before", now.Add(-time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lease := func(owner string) *connection.Connection {
		t.Helper()
		c, ok, err := s.AcquireLease(ctx, id, owner, now, now.Add(time.Minute), now.Add(time.Hour))
		if !ok || err != nil {
			t.Fatalf("lease: %v %v", ok, err)
		}
		return c
	}

	// A failure is counted onto the stored count (3), though the write
	// never read it.
	before := lease("run-1")
	if err := s.UpdateLeased(ctx, id, "run-1", failed("zoho: unavailable", now.Add(2*time.Minute), "")); err != nil {
		t.Fatal(err)
	}
	after := get(t, s, id)
	if after.ConsecutiveFailures != 4 || after.LastError != "zoho: unavailable" || !after.NextAttemptAt.Equal(now.Add(2*time.Minute)) ||
		after.Version != before.Version+1 || after.Lease.Owner != "" || after.UpdatedAt.IsZero() {
		t.Fatalf("after a failure: %+v", after)
	}
	sameExcept(t, "RefreshFailed", before, after, "ConsecutiveFailures", "LastError", "NextAttemptAt", "Lease", "UpdatedAt", "Version")

	// A refresh writes the expiry and clears the bookkeeping.
	before = lease("run-2")
	if err := s.UpdateLeased(ctx, id, "run-2", refreshed(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	after = get(t, s, id)
	if after.ConsecutiveFailures != 0 || after.LastError != "" || !after.NextAttemptAt.IsZero() || !after.TokenExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after a refresh: %+v", after)
	}
	sameExcept(t, "Refreshed", before, after, "TokenExpiresAt", "ConsecutiveFailures", "LastError", "NextAttemptAt", "StatusReason", "Lease", "UpdatedAt", "Version")

	// A refusal: status, reason, time, last error; nothing else.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error { c.TokenExpiresAt = now; return nil }); err != nil {
		t.Fatal(err)
	}
	before = lease("run-3")
	if err := s.UpdateLeased(ctx, id, "run-3", refused("invalid_code", now.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	after = get(t, s, id)
	if after.Status != connection.ReauthRequired || after.StatusReason != "invalid_code" || !after.StatusChangedAt.Equal(now.Add(time.Second)) ||
		after.LastError != "invalid_code" || !after.UpdatedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("after a refusal: %+v", after)
	}
	sameExcept(t, "RefreshRefused", before, after, "Status", "StatusReason", "StatusChangedAt", "LastError", "Lease", "UpdatedAt", "Version")
}

// The semantic half of awsstore's TestRequireReauth (which also compares
// the item's raw attributes).
func syncRequireReauth(t *testing.T, s ConnectionsTable) {
	now := time.Now().UTC().Truncate(time.Second)
	mark := func(reason string, at time.Time) func(*connection.Connection) {
		return func(c *connection.Connection) { c.RequireReauth(reason, at) }
	}
	id := newConn(t, s, "3000", now.Add(time.Hour), connection.Active)
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.SubmissionKeyID, c.SubmissionHash, c.FieldMapping = "kid", "hash-of-the-key", map[string]string{"budget": "Annual_Revenue"}
		c.StatusReason = refresh.FlagReason
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A refresh holds the lease meanwhile: untouched by the mark.
	if _, ok, err := s.AcquireLease(ctx, id, "run-1", now, now.Add(time.Minute), now.Add(2*time.Hour)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	old := get(t, s, id)
	if err := s.UpdateActive(ctx, id, mark("domain_token_mismatch", now.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	c := get(t, s, id)
	if c.Status != connection.ReauthRequired || c.StatusReason != "domain_token_mismatch" || !c.StatusChangedAt.Equal(now.Add(time.Second)) ||
		!c.UpdatedAt.Equal(now.Add(time.Second)) || c.Version != old.Version+1 {
		t.Fatalf("after: %+v (version before %d)", c, old.Version)
	}
	sameExcept(t, "RequireReauth", old, c, "Status", "StatusReason", "StatusChangedAt", "UpdatedAt", "Version")
	if isDue(t, s, id, now.Add(3*time.Hour)) {
		t.Fatal("still in the due index")
	}

	// Already marked: nothing changes, no error.
	if err := s.UpdateActive(ctx, id, mark("scope_mismatch", now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if again := get(t, s, id); again.Version != c.Version || again.StatusReason != "domain_token_mismatch" {
		t.Fatalf("a marked connection changed: %+v", again)
	}
	// Disconnected: stays disconnected.
	gone := newConn(t, s, "3001", now, connection.Disconnected)
	g0 := get(t, s, gone)
	if err := s.UpdateActive(ctx, gone, mark("scope_mismatch", now)); err != nil {
		t.Fatal(err)
	}
	if g := get(t, s, gone); g.Status != connection.Disconnected || g.Version != g0.Version {
		t.Fatalf("disconnected: %+v", g)
	}
	// Unknown: nothing is created.
	unknown := connection.ID("eu", zoho.Sandbox, "nobody")
	if err := s.UpdateActive(ctx, unknown, mark("scope_mismatch", now)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, unknown); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("an item was created: %v", err)
	}
}

func disconnectLeavesDueIndex(t *testing.T, s ConnectionsTable) {
	now := time.Now().UTC().Truncate(time.Second)
	id := newConn(t, s, "700", now.Add(time.Minute), connection.Active)
	if !isDue(t, s, id, now.Add(time.Hour)) {
		t.Fatal("an active connection is not due")
	}
	c, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Disconnect(admin.DisconnectReason, now)
		return nil
	})
	if err != nil || c.Status != connection.Disconnected {
		t.Fatalf("%+v %v", c, err)
	}
	got := get(t, s, id)
	if got.Status != connection.Disconnected || got.StatusReason != admin.DisconnectReason || !got.StatusChangedAt.Equal(now) {
		t.Fatalf("stored %+v", got)
	}
	if isDue(t, s, id, now.Add(time.Hour)) {
		t.Fatal("a disconnected connection is due")
	}
	if _, ok, _ := s.AcquireLease(ctx, id, "run-1", now, now.Add(time.Minute), now.Add(time.Hour)); ok {
		t.Fatal("a disconnected connection was leased for a refresh")
	}
	// Connecting it again puts it back.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.SetStatus(connection.Active, "", now)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !isDue(t, s, id, now.Add(time.Hour)) {
		t.Fatal("a reconnected connection is not due")
	}
}

func listFilters(t *testing.T, s ConnectionsTable) {
	want := map[connection.Status]int{}
	for i := range 7 {
		st := []connection.Status{connection.Active, connection.ReauthRequired, connection.Disconnected}[i%3]
		want[st]++
		id := connection.ID("eu", zoho.Sandbox, fmt.Sprint(9000+i))
		if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
			c.Location, c.Environment, c.OrgID, c.OrgName = "eu", "sandbox", fmt.Sprint(9000+i), "Org"
			c.FieldMapping = map[string]string{"email": "Email"}
			c.SetStatus(st, "", time.Now())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	st, err := s.List(ctx, "", func(c *connection.Connection) error {
		if seen[c.ID] || c.OrgName != "Org" || c.FieldMapping["email"] != "Email" || c.Version != 1 {
			t.Errorf("listed %+v", c)
		}
		seen[c.ID] = true
		return nil
	})
	if err != nil || len(seen) != 7 || st.Matched != 7 || st.Scanned != 7 {
		t.Fatalf("%v: %d seen, %+v", err, len(seen), st)
	}
	for status, n := range want {
		got := 0
		st, err := s.List(ctx, status, func(c *connection.Connection) error {
			if c.Status != status {
				t.Errorf("%s listed for %s", c.Status, status)
			}
			got++
			return nil
		})
		if err != nil || got != n || st.Matched != n || st.Scanned != 7 {
			t.Errorf("%s: %d of %d, %+v, %v", status, got, n, st, err)
		}
	}
	stop := errors.New("stop")
	calls := 0
	if _, err := s.List(ctx, "", func(*connection.Connection) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("the callback's error: %v after %d calls", err, calls)
	}
}

func productFields(t *testing.T, s ConnectionsTable) {
	id := connection.TenantConnectionID("tenant-1", "eu", zoho.Sandbox, "77")
	at := time.Now().Truncate(time.Second).UTC()
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Location, c.Environment, c.OrgID = "eu", "sandbox", "77"
		c.TenantID, c.SessionID, c.ConnectedAt, c.PreviousUserEmail, c.Connects = "tenant-1", "cs_1", at, "old@example.com", 3
		c.Metadata, c.AllowedFields, c.OnDuplicate = map[string]string{"plan": "pro"}, []string{"Lead_Source"}, "fill_empty"
		c.Edition, c.ConcurrencyLimit = "professional", 7
		c.SetStatus(connection.Active, "", at)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := get(t, s, id)
	if c.TenantID != "tenant-1" || c.SessionID != "cs_1" || !c.ConnectedAt.Equal(at) || c.PreviousUserEmail != "old@example.com" || c.Connects != 3 ||
		c.Metadata["plan"] != "pro" || len(c.AllowedFields) != 1 || c.AllowedFields[0] != "Lead_Source" || c.OnDuplicate != "fill_empty" ||
		c.Edition != "professional" || c.ConcurrencyLimit != 7 {
		t.Fatalf("read back %+v", c)
	}
	// Emptied settings are gone, not kept from before.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Metadata, c.AllowedFields, c.OnDuplicate, c.PreviousUserEmail = nil, nil, "", ""
		c.ConcurrencyLimit = 0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c = get(t, s, id)
	if len(c.Metadata) != 0 || len(c.AllowedFields) != 0 || c.OnDuplicate != "" || c.PreviousUserEmail != "" || c.TenantID != "tenant-1" ||
		c.ConcurrencyLimit != 0 || c.Edition != "professional" {
		t.Fatalf("after emptying: %+v", c)
	}
	// A connection without a tenant is stored too (the index key is
	// never written empty).
	anon := newConn(t, s, "78", time.Now().Add(time.Hour), connection.Active)
	if c := get(t, s, anon); c.TenantID != "" {
		t.Fatalf("tenant of an anonymous connection: %q", c.TenantID)
	}
}

func listPages(t *testing.T, s ConnectionsTable) {
	mk := func(tenant, org string, st connection.Status) string {
		id := connection.TenantConnectionID(tenant, "us", zoho.Production, org)
		if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
			c.Location, c.Environment, c.OrgID, c.TenantID = "us", "production", org, tenant
			c.SetStatus(st, "", time.Now())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	want := map[string]bool{}
	for i := range 7 {
		st := connection.Active
		if i%3 == 2 {
			st = connection.Disconnected
		}
		want[mk("acme", fmt.Sprint(500+i), st)] = st == connection.Active
	}
	mk("other", "500", connection.Active) // the same org, another tenant: its own connection
	mk("", "501", connection.Active)

	pages := func(q connection.Query) (map[string]bool, int) {
		t.Helper()
		got, n := map[string]bool{}, 0
		for {
			page, err := s.ListPage(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if len(page.Connections) > q.Limit {
				t.Fatalf("a page of %d, limit %d", len(page.Connections), q.Limit)
			}
			for _, c := range page.Connections {
				if got[c.ID] {
					t.Fatalf("%s listed twice", c.ID)
				}
				if q.TenantID != "" && c.TenantID != q.TenantID || q.Status != "" && c.Status != q.Status {
					t.Fatalf("%+v listed for %+v", c, q)
				}
				got[c.ID] = true
			}
			if page.NextCursor == "" {
				return got, n
			}
			if n > 20 {
				t.Fatal("pages never end")
			}
			q.Cursor = page.NextCursor
		}
	}
	got, n := pages(connection.Query{TenantID: "acme", Limit: 3})
	if len(got) != 7 || n < 3 {
		t.Fatalf("acme: %d connections in %d pages", len(got), n)
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s not listed", id)
		}
	}
	got, _ = pages(connection.Query{TenantID: "acme", Status: connection.Active, Limit: 2})
	for id, active := range want {
		if got[id] != active {
			t.Errorf("%s listed %v for status active", id, got[id])
		}
	}
	if got, _ := pages(connection.Query{Limit: 4}); len(got) != 9 {
		t.Fatalf("everyone's: %d", len(got))
	}
	first, err := s.ListPage(ctx, connection.Query{TenantID: "acme", Limit: 2})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("%+v %v", first, err)
	}
	for _, bad := range []connection.Query{
		{TenantID: "acme", Limit: 2, Cursor: "garbage"},
		{TenantID: "other", Limit: 2, Cursor: first.NextCursor}, // another tenant's cursor
	} {
		if _, err := s.ListPage(ctx, bad); !errors.Is(err, connection.ErrBadCursor) {
			t.Errorf("cursor %q for %q: %v", bad.Cursor, bad.TenantID, err)
		}
	}
}

// sameShardConns stores n active connections of one refresh shard, with
// tokens expiring from now on, two by two in the same second (ties).
func sameShardConns(t *testing.T, s ConnectionsTable, n int, now time.Time) (string, []string) {
	t.Helper()
	shard := ""
	var ids []string
	for i := 0; len(ids) < n; i++ {
		org := fmt.Sprint(90000 + i)
		id := connection.ID("us", zoho.Production, org)
		if shard == "" {
			shard = connection.RefreshShard(id)
		}
		if connection.RefreshShard(id) != shard {
			continue
		}
		ids = append(ids, newConn(t, s, org, now.Add(time.Duration(len(ids)/2)*time.Second), connection.Active))
	}
	return shard, ids
}

func duePages(t *testing.T, s ConnectionsTable) {
	now := time.Now().UTC().Truncate(time.Second)
	shard, ids := sameShardConns(t, s, 9, now)
	late := ids[len(ids)-1]
	// The last one is not due by before.
	before := now.Add(time.Duration((len(ids)-1)/2)*time.Second - time.Second)
	if _, err := s.Update(ctx, late, func(c *connection.Connection) error {
		c.TokenExpiresAt = now.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var after connection.DueKey
	var last time.Time
	for pages := 0; ; pages++ {
		if pages > len(ids) {
			t.Fatal("paging does not end")
		}
		page, more, err := s.DuePage(ctx, shard, before, 3, after)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		for _, c := range page {
			seen[c.ID]++
			if c.TokenExpiresAt.Before(last) || c.TokenExpiresAt.After(before) {
				t.Errorf("%s expires %v: not soonest first, or not due by %v", c.ID, c.TokenExpiresAt, before)
			}
			last = c.TokenExpiresAt
			after = connection.DueKey{ID: c.ID, ExpiresAt: c.TokenExpiresAt}
		}
		if !more {
			break
		}
	}
	for _, id := range ids[:len(ids)-1] {
		if seen[id] != 1 {
			t.Errorf("%s found %d times", id, seen[id])
		}
	}
	if seen[late] != 0 || len(seen) != len(ids)-1 {
		t.Errorf("found %d connections (the one not due: %d times)", len(seen), seen[late])
	}
	// Nothing but the due index's parts, and only keys of connections.
	if _, _, err := s.DuePage(ctx, "16", before, 3, connection.DueKey{}); err == nil {
		t.Error("shard 16 was read")
	}
	if _, _, err := s.DuePage(ctx, shard, before, 3, connection.DueKey{ID: "x", ExpiresAt: now}); err == nil {
		t.Error("a key that names no connection was taken")
	}
	// The idle part is its own: nothing is idle yet.
	if page, _, err := s.DuePage(ctx, connection.IdleShardPrefix+shard, before, 0, connection.DueKey{}); err != nil || len(page) != 0 {
		t.Errorf("idle part: %d, %v", len(page), err)
	}
}

func inPart(t *testing.T, s ConnectionsTable, part, id string, before time.Time) bool {
	t.Helper()
	page, _, err := s.DuePage(ctx, part, before, 0, connection.DueKey{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page {
		if c.ID == id {
			return true
		}
	}
	return false
}

func idleAndUse(t *testing.T, s ConnectionsTable) {
	now := time.Now().UTC().Truncate(time.Second)
	id := newConn(t, s, "4400", now.Add(-time.Hour), connection.Active)
	fresh, idle, later := connection.RefreshShard(id), connection.IdleShard(id), now.Add(time.Hour)
	if !inPart(t, s, fresh, id, later) || inPart(t, s, idle, id, later) {
		t.Fatal("a new connection is not in the fresh part only")
	}
	v := get(t, s, id).Version
	// Never used: it goes idle.
	if moved, err := s.MarkIdle(ctx, id, now); err != nil || !moved {
		t.Fatalf("MarkIdle: %v %v", moved, err)
	}
	c := get(t, s, id)
	if !c.Idle || c.Status != connection.Active || c.Version != v+1 || !c.LastUsedAt.IsZero() {
		t.Fatalf("idle: %+v", c)
	}
	if inPart(t, s, fresh, id, later) || !inPart(t, s, idle, id, later) || isDue(t, s, id, later) {
		t.Fatal("an idle connection is not in the idle part only")
	}
	// A product's settings written whole keep it idle; a refresh under
	// the lease too.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error { c.OnDuplicate = "note"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.AcquireLease(ctx, id, "run-1", now, now.Add(time.Minute), later); !ok || err != nil {
		t.Fatalf("an idle connection is not leased for its check: %v %v", ok, err)
	}
	if err := s.UpdateLeased(ctx, id, "run-1", refreshed(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if c := get(t, s, id); !c.Idle || !inPart(t, s, idle, id, now.Add(2*time.Hour)) {
		t.Fatalf("an idle connection's check or settings took it out of the idle part: %+v", c)
	}
	// Its next use brings it back, within the hour as well.
	v = get(t, s, id).Version
	if wrote, err := s.RecordUse(ctx, id, now); err != nil || !wrote {
		t.Fatalf("RecordUse: %v %v", wrote, err)
	}
	c = get(t, s, id)
	if c.Idle || !c.LastUsedAt.Equal(now) || c.Version != v+1 || !inPart(t, s, fresh, id, now.Add(2*time.Hour)) || inPart(t, s, idle, id, now.Add(2*time.Hour)) {
		t.Fatalf("used: %+v", c)
	}
	// At most one write an hour.
	if wrote, err := s.RecordUse(ctx, id, now.Add(59*time.Minute)); err != nil || wrote {
		t.Fatalf("a second use within the hour wrote: %v %v", wrote, err)
	}
	if c := get(t, s, id); c.Version != v+1 || !c.LastUsedAt.Equal(now) {
		t.Fatalf("a second use within the hour changed it: %+v", c)
	}
	at := now.Add(61 * time.Minute)
	if wrote, err := s.RecordUse(ctx, id, at); err != nil || !wrote {
		t.Fatalf("a use an hour later: %v %v", wrote, err)
	}
	// Used since: MarkIdle leaves it.
	if moved, err := s.MarkIdle(ctx, id, at); err != nil || moved {
		t.Fatalf("MarkIdle of a connection used at the threshold: %v %v", moved, err)
	}
	if moved, err := s.MarkIdle(ctx, id, at.Add(time.Second)); err != nil || !moved {
		t.Fatalf("MarkIdle of a connection unused since: %v %v", moved, err)
	}
	// A reconnect is a use: back in the fresh part.
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.Connect(connection.Grant{Location: "us", Environment: "production", OrgID: "4400", TokenExpiresAt: now.Add(time.Hour)}, at.Add(time.Minute))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := get(t, s, id); c.Idle || !c.LastUsedAt.Equal(at.Add(time.Minute)) || !inPart(t, s, fresh, id, now.Add(2*time.Hour)) {
		t.Fatalf("reconnected: %+v", c)
	}
	// Not active, or unknown: nothing written, nothing made.
	if _, err := s.MarkIdle(ctx, id, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateActive(ctx, id, func(c *connection.Connection) { c.RequireReauth("domain_token_mismatch", now) }); err != nil {
		t.Fatal(err)
	}
	v = get(t, s, id).Version
	if wrote, err := s.RecordUse(ctx, id, at.Add(3*time.Hour)); err != nil || wrote {
		t.Fatalf("RecordUse of a connection awaiting re-authorization: %v %v", wrote, err)
	}
	if moved, err := s.MarkIdle(ctx, id, at.Add(3*time.Hour)); err != nil || moved {
		t.Fatalf("MarkIdle of a connection awaiting re-authorization: %v %v", moved, err)
	}
	if c := get(t, s, id); c.Version != v || c.Idle || inPart(t, s, idle, id, later) || inPart(t, s, fresh, id, later) {
		t.Fatalf("an inactive connection changed or is due: %+v", c)
	}
	unknown := connection.ID("us", zoho.Production, "4401")
	if wrote, err := s.RecordUse(ctx, unknown, now); err != nil || wrote {
		t.Fatalf("RecordUse of an unknown connection: %v %v", wrote, err)
	}
	if _, err := s.Get(ctx, unknown); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("RecordUse made a connection: %v", err)
	}
}
