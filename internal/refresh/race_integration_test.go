//go:build integration

package refresh_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// TestReconnectDuringARefresh: a person reconnects an org while a refresh
// of its token is at Zoho. Whether the callback waits for the refresh's
// lease (the refresh is quick) or gives up waiting and replaces the tokens
// anyway (the refresh is slow, and its token is revoked under it), the
// connection ends active with the new tokens, never reauth_required.
func TestReconnectDuringARefresh(t *testing.T) {
	for _, tt := range []struct {
		name    string
		latency time.Duration // of the refresh's token request at Zoho
		outcome func(refresh.Summary) bool
	}{
		{"the callback waits for the lease", 1500 * time.Millisecond, func(s refresh.Summary) bool { return s.Refreshed == 1 }},
		{"the refresh stands down", 5 * time.Second, func(s refresh.Summary) bool { return s.Skipped == 1 && s.ReauthRequired == 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Environment: zoho.Production}}})
			id := h.Connected(t, "environment=production", u.Orgs[0].ID)["connection_id"].(string)
			h.expireIn(t, id, 10*time.Minute)
			oldRT := h.refreshToken(t, id)

			h.Sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Latency: tt.latency, Times: 1})
			done := make(chan refresh.Summary)
			go func() {
				out, err := h.refresh.Handle(context.Background(), []byte(`{}`))
				if err != nil {
					t.Error(err)
				}
				done <- out.(refresh.Summary)
			}()
			time.Sleep(300 * time.Millisecond) // the refresh holds the lease and waits at Zoho
			h.Connected(t, "environment=production", u.Orgs[0].ID)
			sum := <-done
			if !tt.outcome(sum) {
				t.Fatalf("refresh run: %+v", sum)
			}

			c := h.get(t, id)
			newRT := h.refreshToken(t, id)
			if c.Status != connection.Active || newRT == oldRT || !h.Sim.RefreshTokenActive(newRT) || h.Sim.RefreshTokenActive(oldRT) {
				t.Fatalf("after the reconnect: status %s, refresh token replaced %v, new active %v, old active %v",
					c.Status, newRT != oldRT, h.Sim.RefreshTokenActive(newRT), h.Sim.RefreshTokenActive(oldRT))
			}
			if at := h.accessToken(t, id, "AWSCURRENT"); !h.Sim.AccessTokenValid(at) {
				t.Fatal("the current access token is not valid at Zoho: a refresh overwrote the reconnect's")
			}
			if owner, _, err := h.store.Lease(context.Background(), id); err != nil || owner != "" {
				t.Fatalf("the lease is still held by %q (%v)", owner, err)
			}
		})
	}
}

// TestDisconnectDuringARefreshIsNotUndone: an operator disconnects a
// connection while a refresh holds its lease; the refresh's late writes
// are refused, so the connection stays disconnected.
func TestDisconnectDuringARefreshIsNotUndone(t *testing.T) {
	h := newHarness(t)
	id := h.connect(t, "us", zoho.Sandbox)
	ctx := context.Background()
	now := time.Now()
	if _, ok, err := h.store.AcquireLease(ctx, id, "run-1", now, now.Add(time.Minute), now.Add(2*time.Hour)); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if _, err := h.store.Update(ctx, id, func(c *connection.Connection) error {
		c.SetStatus(connection.Disconnected, "disconnected by operator", now)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	refused := func(c *connection.Connection) { c.RefreshRefused("invalid_code", now) }
	if err := h.store.UpdateLeased(ctx, id, "run-1", refused); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("RefreshRefused after a disconnect: %v", err)
	}
	refreshed := func(c *connection.Connection) { c.Refreshed(now.Add(time.Hour)) }
	if err := h.store.UpdateLeased(ctx, id, "run-1", refreshed); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("Refreshed after a disconnect: %v", err)
	}
	if c := h.get(t, id); c.Status != connection.Disconnected {
		t.Fatalf("status %s", c.Status)
	}
}
