package productevents

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

func TestFor(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	base := connection.Connection{ID: "zc_1", TenantID: "t1", Location: "eu", Environment: "sandbox", OrgID: "o1", OrgName: "Acme",
		UserEmail: "a@x", Status: connection.Active, ConnectedAt: t0, StatusChangedAt: t0, Version: 1, SessionID: "cs_1",
		Metadata: map[string]string{"plan": "pro"}}
	with := func(change func(*connection.Connection)) *connection.Connection {
		c := base
		c.Version++
		change(&c)
		return &c
	}
	refreshed := with(func(c *connection.Connection) { c.TokenExpiresAt = t0.Add(time.Hour) })
	reconnected := with(func(c *connection.Connection) {
		c.ConnectedAt, c.UserEmail, c.PreviousUserEmail, c.Connects = t0.Add(time.Hour), "b@x", "a@x", c.Connects+1
	})
	reauth := with(func(c *connection.Connection) {
		c.Status, c.StatusReason, c.StatusChangedAt = connection.ReauthRequired, "invalid_code", t0.Add(2*time.Hour)
	})
	gone := with(func(c *connection.Connection) {
		c.Status, c.StatusReason = connection.Disconnected, "disconnected by the product"
	})
	back := func() *connection.Connection {
		c := *reauth
		c.Status, c.ConnectedAt, c.Version = connection.Active, t0.Add(3*time.Hour), 9
		return &c
	}()
	for _, tc := range []struct {
		name          string
		before, after *connection.Connection
		want          string
	}{
		{"created", nil, &base, Connected},
		{"refreshed", &base, refreshed, ""},
		{"reconnected by another user", &base, reconnected, Reconnected},
		{"reauth", &base, reauth, ReauthRequired},
		{"reauth again", reauth, reauth, ""},
		{"disconnected", &base, gone, Disconnected},
		{"back after reauth", reauth, back, Reconnected},
		{"removed", &base, nil, ""},
	} {
		ev, ok := For(tc.before, tc.after)
		if ok != (tc.want != "") || ev.DetailType != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, ev.DetailType, ok, tc.want)
		}
	}
	ev, _ := For(&base, reconnected)
	if ev.Detail.PreviousUserEmail != "a@x" || ev.Detail.UserEmail != "b@x" || ev.Detail.OccurredAt != "2030-01-01T11:00:00Z" ||
		ev.Detail.TenantID != "t1" || ev.Detail.SessionID != "cs_1" || ev.Detail.Metadata["plan"] != "pro" {
		t.Errorf("reconnect detail: %+v", ev.Detail)
	}
	again, _ := For(&base, reconnected)
	other, _ := For(reauth, back)
	if again.Detail.EventID != ev.Detail.EventID || other.Detail.EventID == ev.Detail.EventID || !strings.HasPrefix(ev.Detail.EventID, "ev_") {
		t.Errorf("event ids: %s %s %s", ev.Detail.EventID, again.Detail.EventID, other.Detail.EventID)
	}
	b, _ := json.Marshal(ev.Detail)
	for _, k := range []string{"event_id", "connection_id", "tenant_id", "location", "environment", "org_id", "org_name", "user_email",
		"previous_user_email", "status", "reason", "occurred_at", "session_id", "metadata"} {
		if !strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("detail lacks %s: %s", k, b)
		}
	}
}

// Two connects within one second (the table keeps times in seconds) are
// still a reconnect: the connects count tells them apart.
func TestReconnectWithinASecond(t *testing.T) {
	at := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	before := connection.Connection{ID: "zc_1", Status: connection.Active, ConnectedAt: at, Connects: 1, Version: 3}
	after := before
	after.Connects, after.Version = 2, 4
	if ev, ok := For(&before, &after); !ok || ev.DetailType != Reconnected {
		t.Fatalf("%+v %v", ev, ok)
	}
}
