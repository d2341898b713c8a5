package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// DisconnectReason is the status reason a disconnect records.
const DisconnectReason = "disconnected by operator"

// List returns the connections (of status, when not empty), sorted by org
// name, environment and id, and what the scan cost. Uses Lister.
func (s *Service) List(ctx context.Context, status connection.Status) ([]*connection.Connection, awsstore.ScanStats, error) {
	var out []*connection.Connection
	st, err := s.Lister.List(ctx, status, func(c *connection.Connection) error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	sortConnections(out)
	return out, st, nil
}

// ListTenant returns a tenant's connections (of status, when not empty),
// sorted as List sorts, through the tenant index: no Scan. Uses Pages.
func (s *Service) ListTenant(ctx context.Context, tenant string, status connection.Status) ([]*connection.Connection, int, error) {
	var out []*connection.Connection
	q := connection.Query{TenantID: tenant, Status: status, Limit: 100}
	pages := 0
	for {
		page, err := s.Pages.ListPage(ctx, q)
		if err != nil {
			return nil, pages, err
		}
		pages++
		out = append(out, page.Connections...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	sortConnections(out)
	return out, pages, nil
}

func sortConnections(out []*connection.Connection) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.OrgName != b.OrgName {
			return a.OrgName < b.OrgName
		}
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		return a.ID < b.ID
	})
}

// Detail is one connection and what is known of its token secrets.
type Detail struct {
	Connection *connection.Connection
	Secrets    []awsstore.SecretInfo
}

// Show returns a connection and its secrets' state. Uses Connections and
// Secrets.
func (s *Service) Show(ctx context.Context, id string) (*Detail, error) {
	c, err := s.Connections.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	secrets, err := s.Secrets.Describe(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Detail{Connection: c, Secrets: secrets}, nil
}

// Get returns one connection. Uses Connections.
func (s *Service) Get(ctx context.Context, id string) (*connection.Connection, error) {
	return s.Connections.Get(ctx, id)
}

// RevokeOutcome is what became of the refresh token at Zoho.
type RevokeOutcome string

// The outcomes of a disconnect's revocation.
const (
	Revoked        RevokeOutcome = "revoked"
	NoRefreshToken RevokeOutcome = "no_refresh_token" // nothing stored, nothing to revoke
	AlreadyInvalid RevokeOutcome = "already_invalid"  // Zoho called it invalid: revoked or expired before
	RevokeFailed   RevokeOutcome = "failed"
)

// DisconnectResult tells what a disconnect did.
type DisconnectResult struct {
	Connection *connection.Connection
	Revoke     RevokeOutcome
	// RevokeErr says why the revocation failed (RevokeFailed). Its text
	// holds no token: pkg/zoho redacts what it reports.
	RevokeErr      error
	SecretsDeleted bool
}

// Disconnect removes a connection: it revokes the refresh token at the
// connection's own DC, marks the connection disconnected, and deletes both
// token secrets. A failed revocation is reported in the result and the
// rest goes on; with strict it stops there, having changed nothing
// (ErrRevokeFailed).
//
// The connection is marked before its secrets go: a disconnected
// connection has no refresh shard, so the refresh schedule no longer takes
// it, and an active connection is never seen without its tokens (which
// the refresh would count as a failure). Running it again finishes a
// disconnect that stopped half way. Uses Connections, Tokens and OAuth.
func (s *Service) Disconnect(ctx context.Context, id string, strict bool) (*DisconnectResult, error) {
	c, err := s.Connections.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &DisconnectResult{Connection: c}
	res.Revoke, res.RevokeErr = s.revoke(ctx, c)
	if res.Revoke == RevokeFailed && strict {
		return res, fmt.Errorf("%w: %v", ErrRevokeFailed, res.RevokeErr)
	}
	now := s.now()
	c, err = s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return connection.ErrNotFound // deleted meanwhile: do not create it
		}
		c.Disconnect(DisconnectReason, now)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("mark the connection disconnected: %w", err)
	}
	res.Connection = c
	if err := s.Tokens.Delete(ctx, id); err != nil {
		return res, fmt.Errorf("the connection is marked disconnected, but its secrets remain (run disconnect again): %w", err)
	}
	res.SecretsDeleted = true
	return res, nil
}

func (s *Service) revoke(ctx context.Context, c *connection.Connection) (RevokeOutcome, error) {
	rt, err := s.Tokens.RefreshToken(ctx, c.ID)
	if errors.Is(err, connection.ErrNoToken) {
		return NoRefreshToken, nil
	}
	if err != nil {
		return RevokeFailed, err
	}
	dc, err := c.DataCenter()
	if err != nil {
		return RevokeFailed, err
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		return RevokeFailed, err
	}
	err = conf.Revoke(ctx, dc, zoho.Secret(rt))
	switch {
	case err == nil:
		return Revoked, nil
	case errors.Is(err, zoho.ErrInvalidCode):
		return AlreadyInvalid, nil
	default:
		return RevokeFailed, err
	}
}

// RotateKey mints a new submission key for a connection and stores its id
// and hash, so the old key stops working at once. The key is returned to
// be shown once; it is stored nowhere. Uses Connections and Keys.
func (s *Service) RotateKey(ctx context.Context, id string) (key string, c *connection.Connection, err error) {
	keys, err := s.Keys.Keys(ctx)
	if err != nil {
		return "", nil, err
	}
	k, keyID, hash, err := keys.New(id)
	if err != nil {
		return "", nil, err
	}
	c, err = s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return connection.ErrNotFound
		}
		c.SubmissionKeyID, c.SubmissionHash = keyID, hash
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return k.Reveal(), c, nil
}

// SetMapping replaces a connection's field mapping (posted field name →
// Zoho API name); an empty mapping clears it. The mapping must have passed
// ValidateMapping. Uses Connections.
// MaxConcurrencyLimit is the highest concurrency limit a connection takes
// (Zoho's highest edition allows 25 calls at once).
const MaxConcurrencyLimit = 25

// ErrBadConcurrencyLimit: a concurrency limit outside 0..MaxConcurrencyLimit.
var ErrBadConcurrencyLimit = fmt.Errorf("the concurrency limit must be 0 (the edition's) to %d", MaxConcurrencyLimit)

// SetConcurrencyLimit sets the most CRM calls sync makes to the
// connection's org at once (0: its edition's limit again).
func (s *Service) SetConcurrencyLimit(ctx context.Context, id string, n int) (*connection.Connection, error) {
	if n < 0 || n > MaxConcurrencyLimit {
		return nil, ErrBadConcurrencyLimit
	}
	return s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return connection.ErrNotFound
		}
		c.ConcurrencyLimit = n
		return nil
	})
}

func (s *Service) SetMapping(ctx context.Context, id string, m map[string]string) (*connection.Connection, error) {
	if err := connection.ValidateMapping(m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		m = nil
	}
	return s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		if c.Version == 0 {
			return connection.ErrNotFound
		}
		c.FieldMapping = m
		return nil
	})
}
