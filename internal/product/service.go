// Package product is the product's API: what the product's backend asks,
// server to server, with its API key. It opens connect sessions for its
// tenants, lists and reads their connections, changes their settings,
// disconnects them and rotates their submission keys.
//
// A disconnect does not read a refresh token here: it marks the connection
// disconnected (so the refresh schedule drops it and submissions answer
// 401) and asks RefreshFunction, which already reads refresh tokens, to
// revoke the token at the connection's own DC and delete its secrets.
package product

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// SessionStore keeps connect sessions.
type SessionStore interface {
	Create(ctx context.Context, s *connection.Session) error
}

// ConnectionStore keeps connections.
type ConnectionStore interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
	Update(ctx context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error)
	// ListPage answers a page of connections: a tenant's through an index
	// (never a scan) when q.TenantID is set.
	ListPage(ctx context.Context, q connection.Query) (connection.Page, error)
}

// KeySource gives the submission-key minter.
type KeySource interface {
	Keys(ctx context.Context) (*connection.SubmissionKeys, error)
}

// Revoker revokes a disconnected connection's refresh token at its DC and
// deletes its token secrets (RefreshFunction does it).
type Revoker interface {
	RevokeConnection(ctx context.Context, id string) error
}

// ListQuery selects connections (connection.Query).
type ListQuery = connection.Query

// Page is one page of connections (connection.Page).
type Page = connection.Page

// MaxPage bounds a page; DefaultPage is a page when none is asked.
const (
	MaxPage     = 100
	DefaultPage = 50
)

// The product API's failures; the handler maps each to its answer.
var (
	ErrInvalid      = errors.New("invalid request")
	ErrNotFound     = errors.New("no such connection")
	ErrDisconnected = errors.New("the connection is disconnected")
	ErrBadCursor    = errors.New("the cursor is not one this API gave")
)

// invalid is an ErrInvalid naming what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Service runs the product API.
type Service struct {
	Sessions    SessionStore
	Connections ConnectionStore
	Keys        KeySource
	Revoker     Revoker
	// ReturnURLOrigins are the origins a session's return_url may have
	// (ReturnUrlOrigins).
	ReturnURLOrigins []string
	// SessionTTL is a session's life (default 30 min).
	SessionTTL time.Duration
	Log        *slog.Logger
	Now        clock.Func
}

// SessionRequest is POST /connect/sessions' body.
type SessionRequest struct {
	TenantID    string            `json:"tenant_id"`
	Environment string            `json:"environment"`
	DC          string            `json:"dc"`
	ReturnURL   string            `json:"return_url"`
	Metadata    map[string]string `json:"metadata"`
}

// OpenSession checks the request and stores a new session; it returns the
// session and its token (shown once, in the connect URL).
func (s *Service) OpenSession(ctx context.Context, r SessionRequest) (*connection.Session, string, error) {
	if !connection.ValidTenantID(r.TenantID) {
		return nil, "", invalid("tenant_id must be 1 to 128 of A-Za-z0-9._:@-")
	}
	env := ""
	if r.Environment != "" {
		e, err := zoho.ParseEnvironment(r.Environment)
		if err != nil {
			return nil, "", invalid("environment must be production, sandbox or developer")
		}
		env = e.String()
	}
	start := "us"
	switch r.DC {
	case "":
	case "cn", "CN":
		start = "cn"
	default:
		return nil, "", invalid("dc may only be cn (every other DC starts at accounts.zoho.com)")
	}
	if r.ReturnURL != "" {
		if err := connection.CheckReturnURL(r.ReturnURL, s.ReturnURLOrigins); err != nil {
			return nil, "", invalid("%v", err)
		}
	}
	if err := connection.CheckMetadata(r.Metadata); err != nil {
		return nil, "", invalid("%v", err)
	}
	sess, token, err := connection.NewSession(r.TenantID, s.Now.Now(), clock.OrDefault(s.SessionTTL, connection.DefaultSessionTTL))
	if err != nil {
		return nil, "", err
	}
	sess.Environment, sess.StartLocation, sess.ReturnURL, sess.Metadata = env, start, r.ReturnURL, r.Metadata
	if err := s.Sessions.Create(ctx, sess); err != nil {
		return nil, "", err
	}
	s.Log.Info("connect session opened", "session_id", sess.ID, "tenant_id", sess.TenantID, "environment", env, "start", start)
	return sess, token.Reveal(), nil
}

// List answers a page of connections.
func (s *Service) List(ctx context.Context, q ListQuery) (Page, error) {
	if q.TenantID != "" && !connection.ValidTenantID(q.TenantID) {
		return Page{}, invalid("tenant_id must be 1 to 128 of A-Za-z0-9._:@-")
	}
	switch q.Status {
	case "", connection.Active, connection.ReauthRequired, connection.Disconnected:
	default:
		return Page{}, invalid("status must be active, reauth_required or disconnected")
	}
	if q.Limit == 0 {
		q.Limit = DefaultPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return Page{}, invalid("limit must be 1 to %d", MaxPage)
	}
	page, err := s.Connections.ListPage(ctx, q)
	if errors.Is(err, connection.ErrBadCursor) {
		return page, ErrBadCursor
	}
	return page, err
}

// Get answers one connection.
func (s *Service) Get(ctx context.Context, id string) (*connection.Connection, error) {
	if !connection.ValidID(id) {
		return nil, ErrNotFound
	}
	c, err := s.Connections.Get(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		return nil, ErrNotFound
	}
	return c, err
}

// Patch is PATCH /connections/{id}'s body: each field present replaces
// that setting.
type Patch struct {
	Metadata      *map[string]string `json:"metadata"`
	FieldMapping  *map[string]string `json:"field_mapping"`
	AllowedFields *[]string          `json:"allowed_fields"`
	OnDuplicate   *string            `json:"on_duplicate"`
	// ConcurrencyLimit bounds the CRM calls made to the org at once
	// instead of its edition's limit (0: the edition's again).
	ConcurrencyLimit *int `json:"concurrency_limit"`
}

// MaxConcurrencyLimit is the highest concurrency_limit taken: Zoho's
// highest edition allows 25.
const MaxConcurrencyLimit = 25

// OnDuplicate choices (see the submissions API).
var onDuplicate = map[string]bool{"note": true, "fill_empty": true, "update": true, "create": true}

// Change applies a patch to a connection's settings.
func (s *Service) Change(ctx context.Context, id string, p Patch) (*connection.Connection, error) {
	if !connection.ValidID(id) {
		return nil, ErrNotFound
	}
	if p.Metadata == nil && p.FieldMapping == nil && p.AllowedFields == nil && p.OnDuplicate == nil && p.ConcurrencyLimit == nil {
		return nil, invalid("nothing to change: send metadata, field_mapping, allowed_fields, on_duplicate or concurrency_limit")
	}
	if p.Metadata != nil {
		if err := connection.CheckMetadata(*p.Metadata); err != nil {
			return nil, invalid("%v", err)
		}
	}
	if p.FieldMapping != nil {
		if err := connection.ValidateMapping(*p.FieldMapping); err != nil {
			return nil, invalid("%v", err)
		}
	}
	if p.AllowedFields != nil {
		if err := connection.ValidateFieldNames(*p.AllowedFields); err != nil {
			return nil, invalid("allowed_fields: %v", err)
		}
	}
	if p.OnDuplicate != nil && !onDuplicate[*p.OnDuplicate] {
		return nil, invalid("on_duplicate must be note, fill_empty, update or create")
	}
	if p.ConcurrencyLimit != nil && (*p.ConcurrencyLimit < 0 || *p.ConcurrencyLimit > MaxConcurrencyLimit) {
		return nil, invalid("concurrency_limit must be 0 (the edition's) to %d", MaxConcurrencyLimit)
	}
	c, err := s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return ErrNotFound // never create one
		}
		if p.Metadata != nil {
			c.Metadata = emptyNil(*p.Metadata)
		}
		if p.FieldMapping != nil {
			c.FieldMapping = emptyNil(*p.FieldMapping)
		}
		if p.AllowedFields != nil {
			c.AllowedFields = *p.AllowedFields
			if len(c.AllowedFields) == 0 {
				c.AllowedFields = nil
			}
		}
		if p.OnDuplicate != nil {
			c.OnDuplicate = *p.OnDuplicate
		}
		if p.ConcurrencyLimit != nil {
			c.ConcurrencyLimit = *p.ConcurrencyLimit
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Log.Info("connection settings changed", "connection_id", id, "metadata", p.Metadata != nil,
		"field_mapping", p.FieldMapping != nil, "allowed_fields", p.AllowedFields != nil, "on_duplicate", p.OnDuplicate != nil, "concurrency_limit", p.ConcurrencyLimit != nil)
	return c, nil
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// DisconnectReason is the status reason a product's disconnect records.
const DisconnectReason = "disconnected by the product"

// Disconnect marks the connection disconnected and has its refresh token
// revoked and its secrets deleted. A disconnected connection is done
// again (a disconnect that stopped half way finishes).
func (s *Service) Disconnect(ctx context.Context, id string) (*connection.Connection, error) {
	if !connection.ValidID(id) {
		return nil, ErrNotFound
	}
	now := s.Now.Now().UTC()
	c, err := s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return ErrNotFound
		}
		if c.Status != connection.Disconnected {
			c.Disconnect(DisconnectReason, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Revoker.RevokeConnection(ctx, id); err != nil {
		// The connection is disconnected either way (nothing refreshes or
		// submits with it); its token stays stored for a DELETE again.
		return c, fmt.Errorf("the connection is disconnected, but revoking its refresh token failed (send DELETE again): %w", err)
	}
	s.Log.Info("connection disconnected", "connection_id", id, "tenant_id", c.TenantID)
	return c, nil
}

// RotateKey mints a new submission key; the previous one stops working.
func (s *Service) RotateKey(ctx context.Context, id string) (key, keyID string, err error) {
	if !connection.ValidID(id) {
		return "", "", ErrNotFound
	}
	keys, err := s.Keys.Keys(ctx)
	if err != nil {
		return "", "", err
	}
	k, kid, hash, err := keys.New(id)
	if err != nil {
		return "", "", err
	}
	_, err = s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return ErrNotFound
		}
		if c.Status == connection.Disconnected {
			return ErrDisconnected
		}
		c.SubmissionKeyID, c.SubmissionHash = kid, hash
		return nil
	})
	if err != nil {
		return "", "", err
	}
	s.Log.Info("submission key rotated", "connection_id", id, "submission_key_id", kid)
	return k.Reveal(), kid, nil
}
