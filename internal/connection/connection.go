// Package connection is the domain of the bundle: a connection is one Zoho
// CRM org, in one environment, in one data center, that a customer linked
// to this deployment. It holds no tokens; those live in a TokenVault.
package connection

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Status is where a connection stands.
type Status string

const (
	// Active connections are refreshed on schedule and take submissions.
	Active Status = "active"
	// ReauthRequired connections lost their refresh token (revoked at
	// Zoho, or the token no longer fits the org) and wait for someone to
	// connect the org again. Submissions for them are held.
	ReauthRequired Status = "reauth_required"
	// Disconnected connections were removed by an operator.
	Disconnected Status = "disconnected"
)

// RefreshShards is how many partitions the refresh index spreads
// connections over, so that a large fleet makes no hot partition.
const RefreshShards = 16

// ErrNotFound is returned by stores for an unknown connection.
var ErrNotFound = errors.New("connection not found")

// ErrNoToken is returned by token vaults when a connection has no such
// token stored.
var ErrNoToken = errors.New("no token stored for this connection")

// Query selects a page of connections.
type Query struct {
	TenantID string // "" for every tenant's
	Status   Status // "" for any
	Limit    int
	Cursor   string // "" for the first page; else a Page's NextCursor
}

// Page is one page of connections; NextCursor is "" on the last.
type Page struct {
	Connections []*Connection
	NextCursor  string
}

// ErrBadCursor: a Query's Cursor is not one a Page gave.
var ErrBadCursor = errors.New("the cursor is not one a page gave")

// ErrConflict is returned by stores when a conditional write lost a race.
var ErrConflict = errors.New("connection changed concurrently")

// Connection is the metadata kept per org. It never holds a token or a
// submission key, only the key's id and hash.
type Connection struct {
	ID              string
	Location        string
	AccountsServer  string
	APIDomain       string
	Environment     string
	OrgID           string
	OrgName         string
	UserID          string
	UserEmail       string
	Scopes          string
	Status          Status
	StatusReason    string
	StatusChangedAt time.Time
	TokenExpiresAt  time.Time
	SubmissionKeyID string
	SubmissionHash  string
	FieldMapping    map[string]string
	// TenantID is the product's tenant the connection belongs to ("" for
	// one made without a connect session); the product's settings follow.
	TenantID      string
	Metadata      map[string]string
	AllowedFields []string
	OnDuplicate   string
	// Edition is the org's CRM edition as the Organization API named it at
	// the last connect (free, standard, ...; "" before editions were
	// stored); ConcurrencyLimit, when not 0, is the product's own bound on
	// the CRM calls made to the org at once, instead of the edition's.
	Edition          string
	ConcurrencyLimit int
	// The last connect: when, through which session, and whose connection
	// it replaced when another Zoho user made it.
	ConnectedAt       time.Time
	SessionID         string
	PreviousUserEmail string
	// Connects counts the connects of the org (the first one and every
	// reconnect), so that a reconnect is told apart from any other write
	// even within one second.
	Connects int
	// LastUsedAt is the connection's last use: its last connect, or a
	// submission (sync records at most one use an hour, UseRecordEvery).
	LastUsedAt time.Time
	// Idle: the connection is in the idle part of the due index (IdleShard),
	// where the refresh schedule checks it once a day instead of keeping its
	// token fresh; its next use puts it back (a store's RecordUse).
	Idle bool
	// Refresh bookkeeping, owned by the refresh function.
	ConsecutiveFailures int
	NextAttemptAt       time.Time
	LastError           string
	// Lease is the refresh lease. A store's Update never writes it: only
	// its lease calls and the refresh's transitions do.
	Lease     Lease
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version counts writes, for optimistic concurrency in stores.
	Version int64

	changes Changes
}

// TenantConnectionID is the id of a tenant's connection to one org: each
// tenant that connects an org gets a connection of its own. Without a
// tenant it is ID's, so connections made before tenants existed keep
// theirs.
func TenantConnectionID(tenantID, location string, env zoho.Environment, orgID string) string {
	if tenantID == "" {
		return ID(location, env, orgID)
	}
	sum := sha256.Sum256([]byte("tenant/" + tenantID + "/" + strings.ToLower(location) + "/" + env.String() + "/" + orgID))
	return "zc_" + hex.EncodeToString(sum[:12])
}

// ID derives a connection's id from what identifies it at Zoho: one org in
// one environment in one DC. Reconnecting the same org finds the same id.
func ID(location string, env zoho.Environment, orgID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(location) + "/" + env.String() + "/" + orgID))
	return "zc_" + hex.EncodeToString(sum[:12])
}

// ValidID reports whether s has the shape of a connection id, so that
// nothing else reaches a store as a key.
func ValidID(s string) bool {
	if len(s) != 27 || !strings.HasPrefix(s, "zc_") {
		return false
	}
	for _, r := range s[3:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// RefreshShard is the partition of the refresh index this connection
// belongs to: "00".."15", spread by the id's hash.
func RefreshShard(id string) string {
	sum := sha256.Sum256([]byte(id))
	return fmt.Sprintf("%02d", int(sum[0])%RefreshShards)
}

// IdleShardPrefix starts the refresh shard of an idle connection: the
// due index's idle part, "idle-00".."idle-15", which the schedule looks
// at only for each connection's daily check.
const IdleShardPrefix = "idle-"

// IdleShard is the idle part's partition for this connection.
func IdleShard(id string) string { return IdleShardPrefix + RefreshShard(id) }

// UseRecordEvery is how stale a recorded use may be before sync records
// another: at most one write per connection an hour.
const UseRecordEvery = time.Hour

// LastUse is when the connection was last used: its last recorded use,
// or else its last connect or creation (connections stored before uses
// were recorded).
func (c *Connection) LastUse() time.Time {
	t := c.LastUsedAt
	for _, o := range []time.Time{c.ConnectedAt, c.CreatedAt} {
		if o.After(t) {
			t = o
		}
	}
	return t
}

// IdleAt reports whether the connection has gone unused for idleAfter at
// now (never, when idleAfter is not above zero).
func (c *Connection) IdleAt(now time.Time, idleAfter time.Duration) bool {
	return idleAfter > 0 && c.LastUse().Before(now.Add(-idleAfter))
}

// NeedsUseRecorded reports whether a use at now is worth a write: the
// connection is active and idle, or its recorded use is older than
// UseRecordEvery (or none was recorded).
func (c *Connection) NeedsUseRecorded(now time.Time) bool {
	return c.Status == Active && (c.Idle || !c.LastUsedAt.After(now.Add(-UseRecordEvery)))
}

// DataCenter returns the connection's DC from the allowlist.
func (c *Connection) DataCenter() (zoho.DataCenter, error) { return zoho.ByLocation(c.Location) }

// Env returns the connection's environment.
func (c *Connection) Env() (zoho.Environment, error) { return zoho.ParseEnvironment(c.Environment) }

// PendingConnect is what GET /connect remembers until Zoho's redirect comes
// back: the state's hash (never the state) and what the user asked for.
type PendingConnect struct {
	StateHash     string
	Environment   string // requested; empty when any environment will do
	StartLocation string // where the consent flow started: "us" or "cn"
	ExpiresAt     time.Time
	// BrowserHash is the hex SHA-256 of the nonce in the cookie /connect
	// set: the callback must come from the browser that started.
	BrowserHash string
	// SessionID and TenantID name the connect session that started it
	// (both empty for an anonymous connect).
	SessionID string
	TenantID  string
}

// ErrStateNotFound is returned when a state is unknown or already used.
var ErrStateNotFound = errors.New("state not found or already used")

// AccessToken is what the vault holds for readers of access tokens. Its
// Token is a zoho.Secret: an AccessToken logged or marshaled shows no
// token. The JSON names are the vault secret's, which decodes into it;
// a vault writes that JSON from plain strings of its own.
type AccessToken struct {
	Token     zoho.Secret `json:"access_token"`
	APIDomain string      `json:"api_domain"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// DueKey is a place in one part of the due index: just after connection
// ID, whose token expires at ExpiresAt (the zero DueKey: the start). A
// refresh worker that runs out of time continues from the last
// connection it took.
type DueKey struct {
	ID        string
	ExpiresAt time.Time
}

// IsZero reports whether k is the start of the part.
func (k DueKey) IsZero() bool { return k.ID == "" }

// ValidDuePart reports whether part names a partition of the due index:
// a refresh shard ("00".."15") or its idle part ("idle-00".."idle-15").
func ValidDuePart(part string) bool {
	s := strings.TrimPrefix(part, IdleShardPrefix)
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return false
	}
	return int(s[0]-'0')*10+int(s[1]-'0') < RefreshShards
}
