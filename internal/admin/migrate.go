package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// TokenStore is one side of tokens migrate: a token store that also says
// when a refresh token was written (awsstore.TokenVault and
// tokentable.Store).
type TokenStore interface {
	RefreshTokenWritten(ctx context.Context, id string) (string, time.Time, error)
	AccessToken(ctx context.Context, id string) (connection.AccessToken, error)
	PutRefreshToken(ctx context.Context, id, refreshToken string) error
	PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error
	Delete(ctx context.Context, id string) error
}

// Leases takes and gives back a connection's refresh lease, whatever its
// status (awsstore.ConnectionStore), as the callback does while it
// replaces tokens.
type Leases interface {
	TakeLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, id, owner string) error
}

// Migration says what tokens migrate copies, from where to where.
type Migration struct {
	From, To TokenStore
	Leases   Leases
	// DeleteOld deletes a connection's tokens in From once To is read
	// back holding them (or newer ones).
	DeleteOld bool
	// Lease is how long each connection is held (default 30 s); LeaseWait
	// how long to wait for one a refresh or a reconnect holds (default
	// 35 s: a crashed migration's own lease runs out in that time).
	Lease, LeaseWait time.Duration
	// Progress is told of each connection when it is done: n of total.
	Progress func(n, total int, id string, r ConnectionMigrated)
}

// ConnectionMigrated is what became of one connection's tokens.
type ConnectionMigrated struct {
	RefreshCopied, AccessCopied bool
	// Empty: From holds no token of this connection (a disconnected one,
	// or one migrated and deleted already).
	Empty bool
	// Kept names what To already held newer than From (refresh, access).
	Kept    []string
	Deleted bool
	Err     error
}

// MigrationResult counts a run.
type MigrationResult struct {
	Total, Copied, UpToDate, Empty, Deleted, Failed int
}

// ErrLeaseBusy is a connection whose lease stayed held by someone else;
// run the migration again.
var ErrLeaseBusy = errors.New("its refresh lease stayed held (a refresh or a reconnect is running): run the migration again")

// MigrateTokens copies every connection's tokens from m.From to m.To.
// Each connection is copied under its refresh lease, so no refresh or
// reconnect writes its tokens meanwhile, and only what To lacks or holds
// older is written: a refresh token To got later than From's, or an
// access token expiring later, stays. So a run is idempotent, and a run
// that stopped midway is finished by the next: a connection is either
// done (To holds its tokens; From too, until deleted) or untouched.
func (s *Service) MigrateTokens(ctx context.Context, m Migration) (MigrationResult, error) {
	var ids []string
	if _, err := s.Lister.List(ctx, "", func(c *connection.Connection) error {
		ids = append(ids, c.ID)
		return nil
	}); err != nil {
		return MigrationResult{}, err
	}
	res := MigrationResult{Total: len(ids)}
	var b [6]byte
	_, _ = rand.Read(b[:])
	owner := "tokens-migrate/" + hex.EncodeToString(b[:])
	for n, id := range ids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r := s.migrateOne(ctx, m, owner, id)
		switch {
		case r.Err != nil:
			res.Failed++
		case r.Empty:
			res.Empty++
		case r.RefreshCopied || r.AccessCopied:
			res.Copied++
		default:
			res.UpToDate++
		}
		if r.Deleted {
			res.Deleted++
		}
		if m.Progress != nil {
			m.Progress(n+1, len(ids), id, r)
		}
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d connections not migrated: run the migration again", res.Failed, res.Total)
	}
	return res, nil
}

func (s *Service) migrateOne(ctx context.Context, m Migration, owner, id string) (r ConnectionMigrated) {
	lease, wait := m.Lease, m.LeaseWait
	if lease <= 0 {
		lease = 30 * time.Second
	}
	if wait <= 0 {
		wait = 35 * time.Second
	}
	deadline := s.now().Add(wait)
	for {
		now := s.now()
		ok, err := m.Leases.TakeLease(ctx, id, owner, now, now.Add(lease))
		if err != nil {
			r.Err = err
			return r
		}
		if ok {
			break
		}
		if now.After(deadline) {
			r.Err = ErrLeaseBusy
			return r
		}
		select {
		case <-ctx.Done():
			r.Err = ctx.Err()
			return r
		case <-time.After(time.Second):
		}
	}
	defer func() {
		if err := m.Leases.ReleaseLease(context.WithoutCancel(ctx), id, owner); err != nil && r.Err == nil {
			r.Err = err
		}
	}()
	r.Err = s.copyTokens(ctx, m, id, &r)
	return r
}

func (s *Service) copyTokens(ctx context.Context, m Migration, id string, r *ConnectionMigrated) error {
	rt, rtAt, err := m.From.RefreshTokenWritten(ctx, id)
	hasRT := err == nil
	if err != nil && !errors.Is(err, connection.ErrNoToken) {
		return fmt.Errorf("read the refresh token: %w", err)
	}
	at, err := m.From.AccessToken(ctx, id)
	hasAT := err == nil
	if err != nil && !errors.Is(err, connection.ErrNoToken) {
		return fmt.Errorf("read the access token: %w", err)
	}
	if !hasRT && !hasAT {
		r.Empty = true
		return nil
	}
	if hasRT {
		old, oldAt, err := m.To.RefreshTokenWritten(ctx, id)
		switch {
		case errors.Is(err, connection.ErrNoToken) || (err == nil && old != rt && !oldAt.After(rtAt)):
			if err := m.To.PutRefreshToken(ctx, id, rt); err != nil {
				return fmt.Errorf("write the refresh token: %w", err)
			}
			r.RefreshCopied = true
		case err != nil:
			return fmt.Errorf("read the target's refresh token: %w", err)
		case old != rt:
			r.Kept = append(r.Kept, "refresh") // a reconnect wrote it there after From's
		}
	}
	if hasAT {
		old, err := m.To.AccessToken(ctx, id)
		switch {
		case errors.Is(err, connection.ErrNoToken) || (err == nil && at.ExpiresAt.After(old.ExpiresAt)):
			if err := m.To.PutAccessToken(ctx, id, at); err != nil {
				return fmt.Errorf("write the access token: %w", err)
			}
			r.AccessCopied = true
		case err != nil:
			return fmt.Errorf("read the target's access token: %w", err)
		case old.Token != at.Token:
			r.Kept = append(r.Kept, "access") // refreshed there after From's
		}
	}
	if !m.DeleteOld {
		return nil
	}
	// Verified: To holds this connection's tokens, From's or newer.
	if hasRT {
		got, gotAt, err := m.To.RefreshTokenWritten(ctx, id)
		if err != nil || (got != rt && gotAt.Before(rtAt)) {
			return fmt.Errorf("the copied refresh token does not read back (%v): the old one is kept", err)
		}
	}
	if hasAT {
		got, err := m.To.AccessToken(ctx, id)
		if err != nil || got.ExpiresAt.Before(at.ExpiresAt) || (got.ExpiresAt.Equal(at.ExpiresAt) && got.Token != at.Token) {
			return fmt.Errorf("the copied access token does not read back (%v): the old one is kept", err)
		}
	}
	if err := m.From.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete the old tokens: %w", err)
	}
	r.Deleted = true
	return nil
}
