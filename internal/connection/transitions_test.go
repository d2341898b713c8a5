package connection

import (
	"fmt"
	"testing"
	"time"
)

// Each transition changes what it says and records exactly that, so a
// store that writes it blind writes the same.
func TestTransitionsRecordWhatTheyChange(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := at.Add(time.Hour)
	for _, tt := range []struct {
		name     string
		change   func(*Connection)
		fields   []Field
		failures int
		check    func(*Connection) bool
	}{
		{"RequireReauth", func(c *Connection) { c.RequireReauth("scope_mismatch", at) },
			[]Field{FieldStatus, FieldStatusReason, FieldStatusChangedAt, FieldUpdatedAt}, 0,
			func(c *Connection) bool {
				return c.Status == ReauthRequired && c.StatusReason == "scope_mismatch" && c.StatusChangedAt.Equal(at) && c.UpdatedAt.Equal(at) && !c.Refreshable()
			}},
		{"Disconnect", func(c *Connection) { c.Disconnect("disconnected by operator", at) },
			[]Field{FieldStatus, FieldStatusReason, FieldStatusChangedAt, FieldUpdatedAt}, 0,
			func(c *Connection) bool { return c.Status == Disconnected && !c.Refreshable() }},
		{"Refreshed", func(c *Connection) { c.Refreshed(exp) },
			[]Field{FieldStatusReason, FieldTokenExpiresAt, FieldConsecutiveFailures, FieldNextAttemptAt, FieldLastError, FieldLease}, 0,
			func(c *Connection) bool {
				return c.TokenExpiresAt.Equal(exp) && c.ConsecutiveFailures == 0 && c.StatusReason == "" && c.Lease == (Lease{}) && c.Status == Active
			}},
		{"RefreshFailed", func(c *Connection) { c.RefreshFailed("zoho: unavailable", exp, "") },
			[]Field{FieldNextAttemptAt, FieldLastError, FieldLease}, 1,
			func(c *Connection) bool {
				return c.ConsecutiveFailures == 3 && c.NextAttemptAt.Equal(exp) && c.StatusReason == "refresh_failing" && c.Lease == (Lease{})
			}},
		{"RefreshFailed flagged", func(c *Connection) { c.RefreshFailed("zoho: unavailable", exp, "flagged") },
			[]Field{FieldStatusReason, FieldNextAttemptAt, FieldLastError, FieldLease}, 1,
			func(c *Connection) bool { return c.StatusReason == "flagged" }},
		{"RefreshRefused", func(c *Connection) { c.RefreshRefused("invalid_code", at) },
			[]Field{FieldStatus, FieldStatusReason, FieldStatusChangedAt, FieldLastError, FieldUpdatedAt, FieldLease}, 0,
			func(c *Connection) bool {
				return c.Status == ReauthRequired && c.LastError == "invalid_code" && c.Lease == (Lease{})
			}},
		{"Refreshed after a failure resets the count", func(c *Connection) { c.RefreshFailed("x", exp, ""); c.Refreshed(exp) },
			[]Field{FieldStatusReason, FieldTokenExpiresAt, FieldConsecutiveFailures, FieldNextAttemptAt, FieldLastError, FieldLease}, 0,
			func(c *Connection) bool { return c.ConsecutiveFailures == 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Connection{ID: "zc_1", Status: Active, StatusReason: "refresh_failing", ConsecutiveFailures: 2,
				Lease: Lease{Owner: "run-1", Until: at}}
			tt.change(&c)
			ch := c.Changes()
			if fmt.Sprint(ch.Fields()) != fmt.Sprint(tt.fields) || ch.FailuresCounted() != tt.failures {
				t.Errorf("changed %v (+%d failures), want %v (+%d)", ch.Fields(), ch.FailuresCounted(), tt.fields, tt.failures)
			}
			if !tt.check(&c) {
				t.Errorf("after: %+v", c)
			}
			// What a store does with the changes: the same.
			stored := Connection{ID: "zc_1", Status: Active, StatusReason: "refresh_failing", ConsecutiveFailures: 2,
				Lease: Lease{Owner: "run-1", Until: at}, OrgName: "kept"}
			blind := Connection{ID: "zc_1", Status: Active, Lease: Lease{Owner: "run-1"}}
			tt.change(&blind)
			stored.ApplyChanges(&blind)
			if !tt.check(&stored) || stored.OrgName != "kept" {
				t.Errorf("applied: %+v", stored)
			}
			c.ClearChanges()
			if !c.Changes().IsZero() {
				t.Error("ClearChanges kept changes")
			}
		})
	}
}

func TestLeaseRules(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if !(Lease{}).Free(now) || !(Lease{Owner: "a", Until: now.Add(-time.Second)}).Free(now) || (Lease{Owner: "a", Until: now}).Free(now) {
		t.Error("Free")
	}
	c := Connection{Status: Active, TokenExpiresAt: now, Lease: Lease{Owner: "a", Until: now.Add(-time.Minute)}}
	if !c.Leasable(now, now) || c.Leasable(now, now.Add(-time.Second)) || !c.LeasedTo("a") || c.LeasedTo("b") {
		t.Error("an active connection")
	}
	c.Status = Disconnected
	if c.Leasable(now, now) || c.LeasedTo("a") {
		t.Error("a disconnected connection")
	}
}

func TestConnect(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	g := Grant{Location: "eu", AccountsServer: "https://accounts.zoho.eu", APIDomain: "https://www.zohoapis.eu",
		Environment: "production", OrgID: "1", OrgName: "Acme", UserID: "u1", UserEmail: "ana@example.eu",
		Scopes: "ZohoCRM.modules.ALL", TokenExpiresAt: at.Add(time.Hour)}
	c := Connection{ID: "zc_1"}
	if !c.Connect(g, at) {
		t.Fatal("a new connection needs no key")
	}
	if c.Status != Active || !c.StatusChangedAt.Equal(at) || c.OrgName != "Acme" || c.UserID != "u1" || !c.TokenExpiresAt.Equal(g.TokenExpiresAt) || !c.Refreshable() {
		t.Fatalf("%+v", c)
	}
	c.SubmissionKeyID = "kid"
	c.RefreshFailed("x", at, "refresh_failing")
	// Again, by a token that cannot name its user: the user is kept.
	g.UserID, g.UserEmail = "", ""
	if c.Connect(g, at.Add(time.Minute)) {
		t.Fatal("a connection with a key needs a new one")
	}
	if c.UserID != "u1" || c.ConsecutiveFailures != 0 || c.LastError != "" || c.StatusReason != "" || !c.NextAttemptAt.IsZero() {
		t.Fatalf("%+v", c)
	}
	c.Disconnect("disconnected by operator", at)
	if !c.Connect(g, at) || c.Status != Active {
		t.Fatal("a disconnected connection gets a new key when connected again")
	}
}
