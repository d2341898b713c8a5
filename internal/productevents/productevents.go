// Package productevents tells the product what happened to its tenants'
// connections. EventsFunction reads the connections table's DynamoDB
// stream: each stored change is compared with the item before it (For),
// and a change of status (or a new connect) becomes one EventBridge event.
// Because the events come from the stream and not from the code that made
// the change, a change once stored always yields its event, even when the
// bus was unreachable at that moment: the stream keeps the record until
// the event is published.
//
// A record delivered twice publishes twice with the same event_id (it is
// derived from the connection and the item's version), so consumers
// dedupe on it. No token, key, code or submitted value is ever in an
// event: a Detail has no field that could hold one.
package productevents

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Source is every event's source.
const Source = "zohoconnect"

// The events' detail types.
const (
	Connected      = "connection.connected"
	Reconnected    = "connection.reconnected"
	ReauthRequired = "connection.reauth_required"
	Disconnected   = "connection.disconnected"
)

// Detail is an event's detail.
type Detail struct {
	EventID           string            `json:"event_id"`
	ConnectionID      string            `json:"connection_id"`
	TenantID          string            `json:"tenant_id"`
	Location          string            `json:"location"`
	Environment       string            `json:"environment"`
	OrgID             string            `json:"org_id"`
	OrgName           string            `json:"org_name"`
	UserEmail         string            `json:"user_email"`
	PreviousUserEmail string            `json:"previous_user_email,omitempty"`
	Status            string            `json:"status"`
	Reason            string            `json:"reason"`
	OccurredAt        string            `json:"occurred_at"`
	SessionID         string            `json:"session_id"`
	Metadata          map[string]string `json:"metadata"`
}

// Event is one event for the bus.
type Event struct {
	DetailType string
	Detail     Detail
}

// For is the event one stored write makes, comparing the connection before
// (nil when the write created it) and after (nil when it removed it).
// Writes that change neither the status nor the last connect (a refresh,
// a setting) make none.
func For(before, after *connection.Connection) (Event, bool) {
	if after == nil {
		return Event{}, false
	}
	var typ string
	at := after.StatusChangedAt
	switch {
	case after.Status == connection.Active && before == nil:
		typ, at = Connected, after.ConnectedAt
	case after.Status == connection.Active && (before.Status != connection.Active || after.Connects != before.Connects):
		typ, at = Reconnected, after.ConnectedAt
	case after.Status == connection.ReauthRequired && (before == nil || before.Status != connection.ReauthRequired):
		typ = ReauthRequired
	case after.Status == connection.Disconnected && (before == nil || before.Status != connection.Disconnected):
		typ = Disconnected
	default:
		return Event{}, false
	}
	if at.IsZero() {
		at = after.UpdatedAt
	}
	metadata := after.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	d := Detail{
		EventID:      eventID(after.ID, typ, after.Version),
		ConnectionID: after.ID, TenantID: after.TenantID, Location: after.Location, Environment: after.Environment,
		OrgID: after.OrgID, OrgName: after.OrgName, UserEmail: after.UserEmail,
		Status: string(after.Status), Reason: after.StatusReason, OccurredAt: at.UTC().Format(time.RFC3339),
		SessionID: after.SessionID, Metadata: metadata,
	}
	if typ == Reconnected && after.PreviousUserEmail != "" && after.PreviousUserEmail != after.UserEmail {
		d.PreviousUserEmail = after.PreviousUserEmail
	}
	return Event{DetailType: typ, Detail: d}, true
}

// eventID is stable for one stored write: the item's version counts its
// writes.
func eventID(connectionID, detailType string, version int64) string {
	sum := sha256.Sum256([]byte(connectionID + "|" + detailType + "|" + strconv.FormatInt(version, 10)))
	return "ev_" + hex.EncodeToString(sum[:16])
}
