package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// shortDuration is a duration as a person reads it at a glance: 45s, 42m,
// 3h12m, 5d. It rounds down.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// untilExpiry says when something expires: "in 42m" or "expired 3m ago".
func untilExpiry(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := t.Sub(now); d >= 0 {
		return "in " + shortDuration(d)
	}
	return "expired " + shortDuration(now.Sub(t)) + " ago"
}

// ago says when something happened: "3m ago" (or "in 2m" for a clock
// ahead of ours).
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := now.Sub(t); d >= 0 {
		return shortDuration(d) + " ago"
	}
	return "in " + shortDuration(t.Sub(now))
}

// plural is "1 message", "2 messages"; "1 entry", "2 entries".
func plural(n int, word string) string {
	switch {
	case n == 1:
	case strings.HasSuffix(word, "y"):
		word = strings.TrimSuffix(word, "y") + "ies"
	default:
		word += "s"
	}
	return fmt.Sprintf("%d %s", n, word)
}

// expiry is a connection's access token expiry; a disconnected
// connection has no token.
func expiry(c *connection.Connection, now time.Time) string {
	if c.TokenExpiresAt.IsZero() || c.Status == connection.Disconnected {
		return "-"
	}
	return stamp(c.TokenExpiresAt) + " (" + untilExpiry(c.TokenExpiresAt, now) + ")"
}

// stamp is a time as tables show it, in UTC.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// rfc3339 is a time as JSON carries it; empty for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// clean makes a value from outside (an org name, a user's email) safe for
// a table and a terminal: no control characters, no tabs, not empty.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if s = strings.TrimSpace(s); s == "" {
		return "-"
	}
	return s
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func row(w io.Writer, cells ...string) { fmt.Fprintln(w, strings.Join(cells, "\t")) }

// jsonLine writes one JSON object on one line.
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// connectionJSON is a connection as -json prints it: every field but the
// submission key's hash (the key is never stored) and the lease.
type connectionJSON struct {
	ConnectionID        string            `json:"connection_id"`
	Location            string            `json:"location"`
	AccountsServer      string            `json:"accounts_server"`
	APIDomain           string            `json:"api_domain"`
	Environment         string            `json:"environment"`
	OrgID               string            `json:"org_id"`
	OrgName             string            `json:"org_name"`
	UserID              string            `json:"user_id"`
	UserEmail           string            `json:"user_email"`
	Scopes              string            `json:"scopes"`
	Status              string            `json:"status"`
	StatusReason        string            `json:"status_reason,omitempty"`
	StatusChangedAt     string            `json:"status_changed_at,omitempty"`
	TokenExpiresAt      string            `json:"token_expires_at,omitempty"`
	SubmissionKeyID     string            `json:"submission_key_id"`
	FieldMapping        map[string]string `json:"field_mapping"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	NextAttemptAt       string            `json:"next_attempt_at,omitempty"`
	LastError           string            `json:"last_error,omitempty"`
	CreatedAt           string            `json:"created_at,omitempty"`
	UpdatedAt           string            `json:"updated_at,omitempty"`
	Version             int64             `json:"version"`
	Secrets             []secretJSON      `json:"secrets,omitempty"`
}

type secretJSON struct {
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Exists      bool   `json:"exists"`
	LastChanged string `json:"last_changed,omitempty"`
	DeletedAt   string `json:"deleted_at,omitempty"`
}

func toJSON(c *connection.Connection, secrets []awsstore.SecretInfo) connectionJSON {
	m := c.FieldMapping
	if m == nil {
		m = map[string]string{}
	}
	j := connectionJSON{
		ConnectionID: c.ID, Location: c.Location, AccountsServer: c.AccountsServer, APIDomain: c.APIDomain,
		Environment: c.Environment, OrgID: c.OrgID, OrgName: c.OrgName, UserID: c.UserID, UserEmail: c.UserEmail,
		Scopes: c.Scopes, Status: string(c.Status), StatusReason: c.StatusReason, StatusChangedAt: rfc3339(c.StatusChangedAt),
		TokenExpiresAt: rfc3339(c.TokenExpiresAt), SubmissionKeyID: c.SubmissionKeyID, FieldMapping: m,
		ConsecutiveFailures: c.ConsecutiveFailures, NextAttemptAt: rfc3339(c.NextAttemptAt), LastError: c.LastError,
		CreatedAt: rfc3339(c.CreatedAt), UpdatedAt: rfc3339(c.UpdatedAt), Version: c.Version,
	}
	for _, s := range secrets {
		j.Secrets = append(j.Secrets, secretJSON{Kind: s.Kind, Name: s.Name, Exists: s.Exists, LastChanged: rfc3339(s.LastChanged), DeletedAt: rfc3339(s.DeletedAt)})
	}
	return j
}

// org is an org as a table shows it: its name and id.
func org(c *connection.Connection) string {
	if c.OrgName == "" {
		return clean(c.OrgID)
	}
	return clean(c.OrgName) + " (" + clean(c.OrgID) + ")"
}

// connectionsTable prints the list.
func connectionsTable(w io.Writer, cs []*connection.Connection, now time.Time) error {
	t := newTable(w)
	row(t, "ID", "DC", "ENVIRONMENT", "ORG", "STATUS", "TOKEN EXPIRES", "USER")
	for _, c := range cs {
		row(t, c.ID, clean(c.Location), clean(c.Environment), org(c), clean(string(c.Status)), expiry(c, now), clean(c.UserEmail))
	}
	return t.Flush()
}

// mappingText is a field mapping on one line, sorted.
func mappingText(m map[string]string) string {
	if len(m) == 0 {
		return "none (the standard and common field names apply)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = clean(k) + " → " + clean(m[k])
	}
	return strings.Join(parts, ", ")
}

// connectionDetail prints one connection, a field a line.
func connectionDetail(w io.Writer, d *admin.Detail, now time.Time) error {
	c := d.Connection
	t := newTable(w)
	row(t, "connection", c.ID)
	row(t, "data center", clean(c.Location)+" (accounts "+clean(c.AccountsServer)+", api "+clean(c.APIDomain)+")")
	row(t, "environment", clean(c.Environment))
	row(t, "org", org(c))
	user := clean(c.UserEmail)
	if c.UserID != "" {
		user += " (user id " + clean(c.UserID) + ")"
	}
	row(t, "connected by", user)
	row(t, "scopes", clean(c.Scopes))
	status := clean(string(c.Status))
	if c.StatusReason != "" {
		status += ": " + clean(c.StatusReason)
	}
	if !c.StatusChangedAt.IsZero() {
		status += " (since " + stamp(c.StatusChangedAt) + ", " + ago(c.StatusChangedAt, now) + ")"
	}
	row(t, "status", status)
	row(t, "access token expires", expiry(c, now))
	row(t, "submission key id", clean(c.SubmissionKeyID))
	row(t, "field mapping", mappingText(c.FieldMapping))
	failures := fmt.Sprintf("%d consecutive", c.ConsecutiveFailures)
	if !c.NextAttemptAt.IsZero() {
		failures += ", next attempt " + stamp(c.NextAttemptAt) + " (" + untilExpiry(c.NextAttemptAt, now) + ")"
	}
	if c.LastError != "" {
		failures += ", last error: " + clean(c.LastError)
	}
	row(t, "refresh failures", failures)
	row(t, "created", stamp(c.CreatedAt)+" ("+ago(c.CreatedAt, now)+")")
	row(t, "updated", stamp(c.UpdatedAt)+" ("+ago(c.UpdatedAt, now)+")")
	for _, s := range d.Secrets {
		state := "missing"
		if s.Exists {
			state = "exists, last changed " + stamp(s.LastChanged) + " (" + ago(s.LastChanged, now) + ")"
			if !s.DeletedAt.IsZero() {
				state += ", scheduled for deletion at " + stamp(s.DeletedAt)
			}
		}
		row(t, s.Kind+" token secret", s.Name+": "+state)
	}
	return t.Flush()
}

// deadLetterJSON is a dead letter as -json prints it.
type deadLetterJSON struct {
	MessageID    string   `json:"message_id"`
	SentAt       string   `json:"sent_at,omitempty"`
	ReceiveCount int      `json:"receive_count"`
	BodyBytes    int      `json:"body_bytes"`
	JSON         bool     `json:"json"`
	ConnectionID string   `json:"connection_id,omitempty"`
	SubmissionID string   `json:"submission_id,omitempty"`
	Module       string   `json:"module,omitempty"`
	FieldCount   int      `json:"field_count"`
	FieldNames   []string `json:"field_names,omitempty"`
	// From the submission's idempotency entry, when looked up: state is
	// "gone" when it expired.
	State     string `json:"state,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// A replay's: "requeued", "sent", or left (with why).
	Replayed string `json:"replayed,omitempty"`
	Left     string `json:"left,omitempty"`
}

func deadLetterToJSON(d admin.DeadLetter) deadLetterJSON {
	j := deadLetterJSON{
		MessageID: d.MessageID, SentAt: rfc3339(d.SentAt), ReceiveCount: d.ReceiveCount, BodyBytes: d.BodyBytes, JSON: d.JSON,
		ConnectionID: d.ConnectionID, SubmissionID: d.SubmissionID, Module: d.Module,
		FieldCount: len(d.FieldNames), FieldNames: d.FieldNames,
		State: entryState(d.Entry), Replayed: d.Replayed, Left: d.Left,
	}
	if d.Entry != nil {
		j.Attempts, j.LastError = d.Entry.Attempts, d.Entry.LastError
	}
	return j
}

// entryState is a dead letter's entry's state: "" when not looked up,
// "gone" when it expired.
func entryState(e *admin.EntryStatus) string {
	switch {
	case e == nil:
		return ""
	case !e.Found:
		return "gone"
	}
	return e.State
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fieldsText is a dead letter's fields: how many, and their names.
func fieldsText(d admin.DeadLetter) string {
	switch {
	case !d.JSON:
		return fmt.Sprintf("(not JSON, %d bytes)", d.BodyBytes)
	case len(d.FieldNames) == 0:
		return "-"
	}
	return fmt.Sprintf("%d: %s", len(d.FieldNames), strings.Join(d.FieldNames, ", "))
}

// deadLettersTable prints dead letters, with what a replay did to each
// when replay.
func deadLettersTable(w io.Writer, ds []admin.DeadLetter, now time.Time, replay bool) error {
	t := newTable(w)
	head := []string{"MESSAGE ID", "SENT", "RECEIVES", "CONNECTION", "SUBMISSION", "MODULE", "FIELDS", "STATE", "ATTEMPTS", "LAST ERROR"}
	if replay {
		head = append(head, "REPLAYED")
	}
	row(t, head...)
	for _, d := range ds {
		sent := "-"
		if !d.SentAt.IsZero() {
			sent = stamp(d.SentAt) + " (" + ago(d.SentAt, now) + ")"
		}
		attempts, lastError := "-", "-"
		if d.Entry != nil && d.Entry.Found {
			attempts, lastError = fmt.Sprint(d.Entry.Attempts), orDash(d.Entry.LastError)
		}
		cells := []string{clean(d.MessageID), sent, fmt.Sprint(d.ReceiveCount), clean(d.ConnectionID), clean(d.SubmissionID), clean(d.Module), clean(fieldsText(d)),
			orDash(entryState(d.Entry)), attempts, clean(lastError)}
		if replay {
			replayed := d.Replayed
			if replayed == "" {
				replayed = "no (left)"
			}
			cells = append(cells, replayed)
		}
		row(t, cells...)
	}
	return t.Flush()
}
