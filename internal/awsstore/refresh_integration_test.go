//go:build integration

package awsstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func newConn(t *testing.T, s *awsstore.ConnectionStore, org string, expires time.Time, status connection.Status) string {
	t.Helper()
	id := connection.ID("us", zoho.Production, org)
	if _, err := s.Update(context.Background(), id, func(c *connection.Connection) error {
		c.Location, c.Environment, c.OrgID = "us", "production", org
		c.TokenExpiresAt = expires
		c.SetStatus(status, "", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDueIndexAndRefreshLease(t *testing.T) {
	env := testenv.New(t)
	s := awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	ctx := context.Background()
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

	var id string
	for k := range due {
		id = k
		break
	}
	before, _ := s.Get(ctx, id)

	// A token that expires after dueBy is not leased.
	if _, ok, err := s.AcquireLease(ctx, id, "a", now, now.Add(time.Minute), before.TokenExpiresAt.Add(-time.Second)); ok || err != nil {
		t.Fatalf("leased a connection that is not due: %v %v", ok, err)
	}
	if _, ok, _ := s.AcquireLease(ctx, gone, "a", now, now.Add(time.Minute), now.Add(time.Hour)); ok {
		t.Fatal("leased an inactive connection")
	}
	c, ok, err := s.AcquireLease(ctx, id, "a", now, now.Add(time.Minute), now.Add(time.Hour))
	if !ok || err != nil || c.ID != id || c.Version != before.Version+1 {
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
	if err := s.RecordRefreshed(ctx, id, "b", now.Add(time.Hour)); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("a non-holder recorded: %v", err)
	}
	if n, err := s.RecordFailure(ctx, id, "a", "zoho: unavailable", now.Add(time.Minute), ""); n != 1 || err != nil {
		t.Fatalf("failure: %d %v", n, err)
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "" {
		t.Fatal("RecordFailure kept the lease")
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
	if n, err := s.RecordFailure(ctx, id, "d", "again", now.Add(2*time.Minute), "refresh_failing"); n != 2 || err != nil {
		t.Fatalf("failure: %d %v", n, err)
	}
	c, _ = s.Get(ctx, id)
	if c.ConsecutiveFailures != 2 || c.StatusReason != "refresh_failing" || !c.NextAttemptAt.Equal(now.Add(2*time.Minute)) || c.LastError != "again" {
		t.Fatalf("after two failures: %+v", c)
	}
	if _, ok, _ := s.AcquireLease(ctx, id, "e", now, now.Add(time.Minute), now.Add(time.Hour)); !ok {
		t.Fatal("lease")
	}
	if err := s.RecordRefreshed(ctx, id, "e", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(ctx, id)
	if c.ConsecutiveFailures != 0 || c.StatusReason != "" || !c.NextAttemptAt.IsZero() || c.LastError != "" || !c.TokenExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after refresh: %+v", c)
	}

	// reauth_required leaves the due index.
	if _, ok, _ := s.AcquireLease(ctx, id, "f", now, now.Add(time.Minute), now.Add(2*time.Hour)); !ok {
		t.Fatal("lease")
	}
	if err := s.MarkReauthRequired(ctx, id, "f", "revoked", now); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(ctx, id)
	if c.Status != connection.ReauthRequired || c.StatusReason != "revoked" || !c.StatusChangedAt.Equal(now.UTC()) {
		t.Fatalf("reauth: %+v", c)
	}
	cs, _ := s.DueConnections(ctx, connection.RefreshShard(id), now.Add(3*time.Hour), 0)
	for _, c := range cs {
		if c.ID == id {
			t.Fatal("a reauth_required connection is still in the due index")
		}
	}
	if owner, _, _ := s.Lease(ctx, id); owner != "" {
		t.Fatal("lease kept")
	}
}
