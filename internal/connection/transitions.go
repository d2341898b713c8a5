package connection

import "time"

// What happens to a connection is a method of Connection: the domain
// decides what changes, the stores only write it. Each transition also
// records which fields it changed (Changes), so that a store can write a
// transition without reading the item first, in one conditional write of
// exactly those fields: a refresh under its lease, sync's status-only
// write. A connection read from a store has no changes.

// Field is one part of a connection that a transition changes.
type Field uint16

const (
	FieldStatus Field = 1 << iota
	FieldStatusReason
	FieldStatusChangedAt
	FieldTokenExpiresAt
	FieldConsecutiveFailures
	FieldNextAttemptAt
	FieldLastError
	FieldUpdatedAt
	// FieldLease is the refresh lease, owner and expiry together.
	FieldLease
	lastField = FieldLease
)

var fieldNames = map[Field]string{
	FieldStatus: "Status", FieldStatusReason: "StatusReason", FieldStatusChangedAt: "StatusChangedAt",
	FieldTokenExpiresAt: "TokenExpiresAt", FieldConsecutiveFailures: "ConsecutiveFailures",
	FieldNextAttemptAt: "NextAttemptAt", FieldLastError: "LastError", FieldUpdatedAt: "UpdatedAt", FieldLease: "Lease",
}

// String is the Connection field's name.
func (f Field) String() string {
	if n, ok := fieldNames[f]; ok {
		return n
	}
	return "Field(?)"
}

// Changes is what a connection's transitions changed since it was read.
type Changes struct {
	fields Field
	// failures counted by RefreshFailed on top of the stored count.
	failures int
}

// Has reports whether f was changed.
func (ch Changes) Has(f Field) bool { return ch.fields&f != 0 }

// Fields lists the changed fields, in a fixed order.
func (ch Changes) Fields() []Field {
	var out []Field
	for f := Field(1); f <= lastField; f <<= 1 {
		if ch.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

// FailuresCounted is how many failed refreshes were counted. A store adds
// them to the stored ConsecutiveFailures rather than overwrite it, so a
// count is never lost to a write it did not read. (When
// FieldConsecutiveFailures itself changed, the count was set instead.)
func (ch Changes) FailuresCounted() int { return ch.failures }

// IsZero reports whether nothing changed.
func (ch Changes) IsZero() bool { return ch.fields == 0 && ch.failures == 0 }

// Changes reports what the transitions changed since c was read.
func (c *Connection) Changes() Changes { return c.changes }

// ClearChanges forgets the changes: a store calls it once it wrote them.
func (c *Connection) ClearChanges() { c.changes = Changes{} }

func (c *Connection) changed(fs ...Field) {
	for _, f := range fs {
		c.changes.fields |= f
	}
}

// ApplyChanges makes what from's transitions changed happen to c too,
// counted failures added to c's count: what a store's write of from's
// changes does to the connection it holds.
func (c *Connection) ApplyChanges(from *Connection) {
	ch := from.changes
	for _, f := range ch.Fields() {
		switch f {
		case FieldStatus:
			c.Status = from.Status
		case FieldStatusReason:
			c.StatusReason = from.StatusReason
		case FieldStatusChangedAt:
			c.StatusChangedAt = from.StatusChangedAt
		case FieldTokenExpiresAt:
			c.TokenExpiresAt = from.TokenExpiresAt
		case FieldConsecutiveFailures:
			c.ConsecutiveFailures = from.ConsecutiveFailures
		case FieldNextAttemptAt:
			c.NextAttemptAt = from.NextAttemptAt
		case FieldLastError:
			c.LastError = from.LastError
		case FieldUpdatedAt:
			c.UpdatedAt = from.UpdatedAt
		case FieldLease:
			c.Lease = from.Lease
		}
	}
	if !ch.Has(FieldConsecutiveFailures) {
		c.ConsecutiveFailures += ch.failures
	}
}

// Refreshable reports whether the refresh schedule takes the connection:
// only an active one. A store keeps only those in its due index, so a
// connection that stops being active leaves it.
func (c *Connection) Refreshable() bool { return c.Status == Active }

// SetStatus changes the status and records why, and when (at, only when
// the status or the reason differ from what c held).
func (c *Connection) SetStatus(s Status, reason string, at time.Time) {
	if c.Status != s || c.StatusReason != reason {
		c.StatusChangedAt = at
		c.changed(FieldStatusChangedAt)
	}
	c.Status, c.StatusReason = s, reason
	c.changed(FieldStatus, FieldStatusReason)
}

// Grant is what a connect learnt at Zoho: the DC, the org, the user and
// the new token's scopes and expiry.
type Grant struct {
	Location, AccountsServer, APIDomain string
	Environment, OrgID, OrgName         string
	UserID, UserEmail                   string
	Scopes                              string
	TokenExpiresAt                      time.Time
	// Edition is the org's CRM edition (zoho.Org.Edition).
	Edition string
	// The product's side: the tenant whose connection it is, the connect
	// session that made it, and that session's metadata (empty: kept).
	TenantID, SessionID string
	Metadata            map[string]string
}

// Connect records a connect of the org, a first one or again: what Zoho
// said of it, the new token's expiry, the refresh bookkeeping started
// over, and the connection active (back on the refresh schedule). A user
// Zoho did not name (the token lacks ZohoCRM.users.READ) leaves the one
// known. It reports whether the connection needs a new submission key:
// it has none, or it was disconnected.
func (c *Connection) Connect(g Grant, at time.Time) (needsKey bool) {
	needsKey = c.SubmissionKeyID == "" || c.Status == Disconnected
	c.Location, c.AccountsServer, c.APIDomain = g.Location, g.AccountsServer, g.APIDomain
	c.Environment, c.OrgID, c.OrgName = g.Environment, g.OrgID, g.OrgName
	if g.Edition != "" {
		c.Edition = g.Edition
	}
	c.PreviousUserEmail = ""
	if g.UserID != "" || c.UserID == "" {
		if c.UserID != "" && g.UserID != "" && c.UserID != g.UserID {
			c.PreviousUserEmail = c.UserEmail // another user took it over
		}
		c.UserID, c.UserEmail = g.UserID, g.UserEmail
	}
	c.TenantID, c.SessionID, c.ConnectedAt = g.TenantID, g.SessionID, at
	// A connect is a use: the connection is kept fresh until it has gone
	// unused for a while.
	c.LastUsedAt, c.Idle = at, false
	c.Connects++
	if len(g.Metadata) > 0 {
		c.Metadata = g.Metadata
	}
	c.Scopes, c.TokenExpiresAt = g.Scopes, g.TokenExpiresAt
	c.ConsecutiveFailures, c.NextAttemptAt, c.LastError = 0, time.Time{}, ""
	c.changes.failures = 0
	c.changed(FieldTokenExpiresAt, FieldConsecutiveFailures, FieldNextAttemptAt, FieldLastError)
	c.SetStatus(Active, "", at)
	return needsKey
}

// RequireReauth records that the connection's tokens no longer serve the
// org (Zoho refused the refresh token, or the token does not fit the org:
// DOMAIN_TOKEN_MISMATCH, OAUTH_SCOPE_MISMATCH): it is reauth_required,
// for reason, since at, and leaves the refresh schedule until someone
// connects the org again. Nothing else changes: sync may write only
// these fields.
func (c *Connection) RequireReauth(reason string, at time.Time) {
	c.SetStatus(ReauthRequired, reason, at)
	c.touch(at)
}

// Disconnect records that an operator removed the connection: its
// submissions are refused and the refresh schedule no longer takes it.
func (c *Connection) Disconnect(reason string, at time.Time) {
	c.SetStatus(Disconnected, reason, at)
	c.touch(at)
}

func (c *Connection) touch(at time.Time) {
	c.UpdatedAt = at
	c.changed(FieldUpdatedAt)
}

// Refreshed records a refresh of the access token, which now expires at
// expiresAt: the failure count, the next attempt, the last error and a
// failing flag (the status reason) start over, and the refresh's lease
// ends.
func (c *Connection) Refreshed(expiresAt time.Time) {
	c.TokenExpiresAt = expiresAt
	c.ConsecutiveFailures, c.NextAttemptAt, c.LastError, c.StatusReason = 0, time.Time{}, "", ""
	c.changes.failures = 0
	c.changed(FieldTokenExpiresAt, FieldConsecutiveFailures, FieldNextAttemptAt, FieldLastError, FieldStatusReason)
	c.endLease()
}

// RefreshFailed counts one more failed refresh, why (lastError) and when
// to try again (next). A non-empty flag becomes the status reason: the
// connection stays active and is still retried, but operators see it. The
// refresh's lease ends.
func (c *Connection) RefreshFailed(lastError string, next time.Time, flag string) {
	c.ConsecutiveFailures++
	if !c.changes.Has(FieldConsecutiveFailures) {
		c.changes.failures++
	}
	c.NextAttemptAt, c.LastError = next, lastError
	c.changed(FieldNextAttemptAt, FieldLastError)
	if flag != "" {
		c.StatusReason = flag
		c.changed(FieldStatusReason)
	}
	c.endLease()
}

// RefreshRefused records that Zoho refused the refresh token
// (invalid_code: revoked or expired): the connection requires
// re-authorization, the refusal is its last error too, and the refresh's
// lease ends.
func (c *Connection) RefreshRefused(reason string, at time.Time) {
	c.RequireReauth(reason, at)
	c.LastError = reason
	c.changed(FieldLastError)
	c.endLease()
}

func (c *Connection) endLease() {
	c.Lease = Lease{}
	c.changed(FieldLease)
}

// Lease is a refresh's hold on a connection: while it lasts nobody else
// refreshes the token, and a callback replacing the tokens waits for it
// (a while). The refresh's writes end it.
type Lease struct {
	Owner string // empty: nobody holds it
	Until time.Time
}

// Free reports whether the lease may be taken at now: nobody holds it,
// or its holder's time ran out.
func (l Lease) Free(now time.Time) bool { return l.Until.IsZero() || l.Until.Before(now) }

// Leasable reports whether a refresh may take the lease at now for a
// token due by dueBy: the connection is active, its token expires at or
// before dueBy (so a run that found it due before another run refreshed
// it does not refresh it again), and the lease is free.
func (c *Connection) Leasable(now, dueBy time.Time) bool {
	return c.Status == Active && !c.TokenExpiresAt.After(dueBy) && c.Lease.Free(now)
}

// LeasedTo reports whether a refresh holding owner's lease may still write
// the connection: it holds the lease (expired or not, as long as nobody
// took it over) and the connection is still active, so that an
// operator's disconnect made meanwhile is never undone.
func (c *Connection) LeasedTo(owner string) bool {
	return c.Status == Active && c.Lease.Owner == owner
}
