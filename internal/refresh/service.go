// Package refresh keeps every used connection's access token fresh. A
// scheduled run fans out over the sparse due-index's 16 shards, one
// worker each (fanout.go), finds the connections whose token expires
// within a window, and refreshes each under a lease with a bounded pool,
// at the accounts server of the connection's own DC, pacing its token
// writes; an idle connection is only checked once a day. Sync asks for
// one connection on demand (RefreshOne) under the same lease, so no token
// is ever refreshed twice at once: each extra refresh spends one of Zoho's
// ten per ten minutes and may invalidate a token in use.
package refresh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Connections is the part of the connections table a refresh needs: the
// due index, the lease, and the writes made under it
// (awsstore.ConnectionStore).
type Connections interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
	// DuePage reads one page of a part of the due index (a shard "03",
	// or its idle part "idle-03"): at most limit connections whose token
	// expires at or before before, soonest first, from just after after;
	// more reports whether the part may hold more.
	DuePage(ctx context.Context, part string, before time.Time, limit int, after connection.DueKey) (cs []*connection.Connection, more bool, err error)
	// MarkIdle moves an active connection to its shard's idle part,
	// unless it was used at or after unusedBefore; it answers whether it
	// moved.
	MarkIdle(ctx context.Context, id string, unusedBefore time.Time) (bool, error)
	// AcquireLease answers the leased connection, or false when it may not
	// be leased (connection.Leasable: not active, someone else holds it,
	// or its token expires after dueBy).
	AcquireLease(ctx context.Context, id, owner string, now, until, dueBy time.Time) (*connection.Connection, bool, error)
	Lease(ctx context.Context, id string) (owner string, until time.Time, err error)
	ReleaseLease(ctx context.Context, id, owner string) error
	// UpdateLeased makes change (the connection's Refreshed,
	// RefreshFailed or RefreshRefused, each of which ends the lease)
	// happen while owner may still write under its lease
	// (connection.LeasedTo), else it fails with connection.ErrConflict.
	// The item is not read first: change sees the id, the active status
	// and owner's lease, and only what it changes is written.
	UpdateLeased(ctx context.Context, id, owner string, change func(*connection.Connection)) error
}

// TokenVault keeps the tokens (awsstore.TokenVault).
type TokenVault interface {
	RefreshToken(ctx context.Context, id string) (string, error)
	PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error
}

// OAuthConfig gives the OAuth client's config (read from its secret).
type OAuthConfig interface {
	Config(ctx context.Context) (*zoho.Config, error)
}

// SecretWriteLimiter paces Secrets Manager writes (Pacer).
type SecretWriteLimiter interface {
	Wait(ctx context.Context) error
}

// Outcome is what became of one connection (package ondemand names them:
// sync reads them too).
type Outcome = ondemand.Outcome

const (
	Refreshed          = ondemand.Refreshed
	Failed             = ondemand.Failed
	ReauthRequired     = ondemand.ReauthRequired
	Skipped            = ondemand.Skipped
	RefreshedByAnother = ondemand.RefreshedByAnother
	Fresh              = ondemand.Fresh
	InProgress         = ondemand.InProgress
	NotFound           = ondemand.NotFound
)

// FlagReason is the status_reason of an active connection whose refresh
// failed MaxConsecutiveFailures times in a row. It is still retried; a
// success clears it.
const FlagReason = "refresh_failing"

// ErrInvalidRequest is RefreshOne's answer to a malformed connection id.
var ErrInvalidRequest = errors.New("refresh: the connection id is malformed")

// Defaults of the Service's settings.
const (
	DefaultWindow         = 30 * time.Minute
	DefaultWorkers        = 8
	DefaultLease          = 60 * time.Second
	DefaultMaxFailures    = 5
	DefaultDeadlineMargin = 20 * time.Second
	DefaultZohoTimeout    = 10 * time.Second
	DefaultOnDemandWait   = 5 * time.Second
	DefaultIdleAfter      = 24 * time.Hour
	DefaultIdleCheck      = 24 * time.Hour
	DefaultPageSize       = 100
	// BackoffBase and BackoffMax bound the wait after a failure: 1, 2, 4,
	// ... minutes, at most 30.
	BackoffBase = time.Minute
	BackoffMax  = 30 * time.Minute
	// accessTokenLife is Zoho's; a token with more than
	// accessTokenLife-recentRefresh left was refreshed under a minute ago,
	// and RefreshOne does not refresh it again.
	accessTokenLife = time.Hour
	recentRefresh   = time.Minute
	// writeTimeout bounds each write that records an outcome. Those writes
	// run even when the run's context is ending, so that a connection is
	// never left half done.
	writeTimeout = 10 * time.Second
)

// Service refreshes access tokens.
type Service struct {
	Connections Connections
	Tokens      TokenVault
	OAuth       OAuthConfig
	Limiter     SecretWriteLimiter
	Log         *slog.Logger
	Now         clock.Func
	// Stage is the Stage dimension of the run's metrics (STAGE).
	Stage string
	// Revocation serves Revoke (nil: revocations are refused).
	Revocation RevocationVault

	Window                 time.Duration // default 30 min
	Workers                int           // default 8
	Lease                  time.Duration // default 60 s
	MaxConsecutiveFailures int           // default 5
	// DeadlineMargin: stop taking new connections when less than this is
	// left before the context's deadline (default 20 s).
	DeadlineMargin time.Duration
	// ZohoTimeout bounds each refresh request (default 10 s).
	ZohoTimeout time.Duration
	// OnDemandWait is how long RefreshOne waits for another holder of the
	// lease (default 5 s).
	OnDemandWait time.Duration
	// PollInterval is how often RefreshOne looks at a held lease
	// (default 200 ms).
	PollInterval time.Duration
	// WriteTimeout bounds recording an outcome, from the moment there is
	// one to record (default 10 s).
	WriteTimeout time.Duration

	// IdleAfter: a connection unused this long is no longer kept fresh
	// (zero: every connection is); it is checked once every IdleCheck
	// instead (default 24 h), and refreshed on demand at its next use.
	IdleAfter time.Duration
	IdleCheck time.Duration
	// PageSize is how many due connections a worker reads at a time
	// (default 100).
	PageSize int
	// WorkerBudget, when set, is how long one worker takes connections
	// before it hands the rest of its shard to a continuation (else:
	// until DeadlineMargin before its context's deadline).
	WorkerBudget time.Duration
}

// Summary is the account of a run, or of one worker's part of it. Every
// connection found due lands in exactly one of the counts after it
// (refreshed ... idled). A worker that hands the rest of its shard to a
// continuation does not count what it leaves: the continuation finds and
// counts it, so the workers' counts add up to the run's.
type Summary struct {
	Due            int `json:"due"`
	Refreshed      int `json:"refreshed"`
	Failed         int `json:"failed"`
	ReauthRequired int `json:"reauth_required"`
	Skipped        int `json:"skipped"`
	BackingOff     int `json:"backing_off"`
	Deferred       int `json:"deferred"`
	// Idled: found due, unused for IdleAfter, moved to the idle part
	// instead of being refreshed.
	Idled int `json:"idled"`
	// IdleChecked: of the refreshed, failed and reauth_required, those
	// that were idle connections' daily checks.
	IdleChecked int `json:"idle_checked"`
	ShardErrors int `json:"shard_errors"`
	// Shard is the worker's shard ("" for a whole run or a coordinator).
	Shard string `json:"shard,omitempty"`
	// WorkersStarted: how many shard workers a coordinator started.
	WorkersStarted int `json:"workers_started,omitempty"`
	// Continuations: how many times a shard's work went on after a
	// worker's time ran out (a worker: 1 when it started its
	// continuation; a run in process: every continuation of every shard).
	Continuations int `json:"continuations,omitempty"`
	// NextCursor: where the shard's continuation starts (a worker that
	// ran out of time).
	NextCursor string `json:"next_cursor,omitempty"`
	// QueryMS: time spent reading the due index, summed over its pages.
	QueryMS    int64 `json:"query_ms"`
	DurationMS int64 `json:"duration_ms"`
}

// plus adds o's counts to s.
func (s *Summary) plus(o Summary) {
	s.Due += o.Due
	s.Refreshed += o.Refreshed
	s.Failed += o.Failed
	s.ReauthRequired += o.ReauthRequired
	s.Skipped += o.Skipped
	s.BackingOff += o.BackingOff
	s.Deferred += o.Deferred
	s.Idled += o.Idled
	s.IdleChecked += o.IdleChecked
	s.ShardErrors += o.ShardErrors
	s.Continuations += o.Continuations
	s.QueryMS += o.QueryMS
}

func (s *Summary) add(o Outcome) {
	switch o {
	case Refreshed:
		s.Refreshed++
	case ReauthRequired:
		s.ReauthRequired++
	case Skipped:
		s.Skipped++
	default:
		s.Failed++
	}
}

// stopping reports whether the run should take no more connections: its
// context ended, or less than the margin is left before its deadline.
func (s *Service) stopping(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < clock.OrDefault(s.DeadlineMargin, DefaultDeadlineMargin)
}

// refresh takes the lease of c and refreshes it.
func (s *Service) refresh(ctx context.Context, conf *zoho.Config, owner string, c *connection.Connection, now, dueBy time.Time) Outcome {
	leased, ok, err := s.Connections.AcquireLease(ctx, c.ID, owner, now, now.Add(clock.OrDefault(s.Lease, DefaultLease)), dueBy)
	if err != nil {
		s.Log.Error("refresh: lease failed", "connection_id", c.ID, "err", err.Error())
		return Failed
	}
	if !ok {
		s.Log.Debug("refresh: skipped, leased elsewhere or already refreshed", "connection_id", c.ID)
		return Skipped
	}
	return s.refreshLeased(ctx, conf, owner, leased)
}

// refreshLeased does the work under the lease: read the refresh token,
// ask Zoho at the connection's DC, write the access token (paced), record.
// Every path ends by releasing the lease with what happened; those writes
// run on a context the run's deadline does not cut.
func (s *Service) refreshLeased(ctx context.Context, conf *zoho.Config, owner string, c *connection.Connection) Outcome {
	started := time.Now()
	// What is recorded runs on a context the run's deadline does not cut,
	// bounded by writeTimeout from the moment there is something to
	// record: before Zoho is asked, and again once Zoho has answered, so
	// that a slow answer still leaves the full time to store a token Zoho
	// already issued (and counted against the org's token budget).
	finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), clock.OrDefault(s.WriteTimeout, writeTimeout))
	defer cancel()
	log := s.Log.With("connection_id", c.ID, "location", c.Location)

	dc, err := c.DataCenter()
	if err != nil {
		return s.fail(finish, log, owner, c, "unknown data center", err)
	}
	rt, err := s.Tokens.RefreshToken(ctx, c.ID)
	if err != nil {
		return s.fail(finish, log, owner, c, "refresh token unreadable", err)
	}
	zctx, zcancel := context.WithTimeout(ctx, clock.OrDefault(s.ZohoTimeout, DefaultZohoTimeout))
	tok, err := conf.Refresh(zctx, dc, zoho.Secret(rt))
	zcancel()
	answered, cancelAnswered := context.WithTimeout(context.WithoutCancel(ctx), clock.OrDefault(s.WriteTimeout, writeTimeout))
	defer cancelAnswered()
	finish = answered
	switch {
	case errors.Is(err, zoho.ErrInvalidCode):
		// A reconnect that did not wait for this lease may have replaced
		// and revoked the token just now: then there is nothing to mark.
		if now, rerr := s.Tokens.RefreshToken(finish, c.ID); rerr == nil && now != rt {
			_ = s.Connections.ReleaseLease(finish, c.ID, owner)
			log.Info("refresh: skipped, the refresh token was replaced by a new connect meanwhile")
			return Skipped
		}
		reason := "Zoho refused the refresh token (invalid_code): it was revoked or expired; connect the org again"
		at := s.Now.Now().UTC()
		refused := func(c *connection.Connection) { c.RefreshRefused(reason, at) }
		if err := s.Connections.UpdateLeased(finish, c.ID, owner, refused); errors.Is(err, connection.ErrConflict) {
			log.Info("refresh: skipped, the connection changed meanwhile (disconnected, or the lease ran out)")
			return Skipped
		} else if err != nil {
			log.Error("refresh: recording reauth_required failed", "err", err.Error())
			return Failed
		}
		log.Warn("refresh: connection needs re-authorization", "reason", "invalid_code")
		return ReauthRequired
	case err != nil:
		return s.fail(finish, log, owner, c, "Zoho refresh failed", err)
	}
	expires := tok.Expiry
	if expires.IsZero() {
		expires = s.Now.Now().Add(accessTokenLife)
	}
	if s.Limiter != nil {
		if err := s.Limiter.Wait(finish); err != nil {
			return s.fail(finish, log, owner, c, "secret write not paced in time", err)
		}
	}
	if err := s.Tokens.PutAccessToken(finish, c.ID, connection.AccessToken{Token: tok.AccessToken, APIDomain: tok.APIDomain, ExpiresAt: expires.UTC()}); err != nil {
		return s.fail(finish, log, owner, c, "access token not stored", err)
	}
	refreshed := func(c *connection.Connection) { c.Refreshed(expires) }
	if err := s.Connections.UpdateLeased(finish, c.ID, owner, refreshed); err != nil {
		if errors.Is(err, connection.ErrConflict) {
			// The token is in the vault; the lease ran out and someone
			// else holds it now, and will record its own refresh.
			log.Warn("refresh: lease lost before the refresh was recorded", "duration_ms", time.Since(started).Milliseconds())
			return Refreshed
		}
		log.Error("refresh: recording the refresh failed", "err", err.Error())
		return Failed
	}
	log.Debug("refreshed", "token_expires_at", expires.UTC(), "duration_ms", time.Since(started).Milliseconds())
	return Refreshed
}

// fail records a failed attempt with exponential backoff, flags the
// connection after MaxConsecutiveFailures, and releases the lease.
func (s *Service) fail(ctx context.Context, log *slog.Logger, owner string, c *connection.Connection, what string, cause error) Outcome {
	n := c.ConsecutiveFailures + 1
	next := s.Now.Now().Add(Backoff(n))
	flag := ""
	if n >= clock.OrDefault(s.MaxConsecutiveFailures, DefaultMaxFailures) {
		flag = FlagReason
	}
	lastErr := what + ": " + cause.Error()
	if len(lastErr) > 500 {
		lastErr = lastErr[:500]
	}
	failed := func(c *connection.Connection) { c.RefreshFailed(lastErr, next, flag) }
	if err := s.Connections.UpdateLeased(ctx, c.ID, owner, failed); err != nil {
		log.Error("refresh: recording a failure failed", "err", err.Error())
	}
	log.Warn("refresh failed", "what", what, "err", cause.Error(), "retryable", zoho.Retryable(cause),
		"consecutive_failures", n, "next_attempt_at", next.UTC(), "flagged", flag != "")
	return Failed
}

// Backoff is the wait after the n-th consecutive failure (n >= 1): one
// minute, doubling, at most 30.
func Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	return clock.Doubling(BackoffBase, BackoffMax, n)
}

// OneResult is RefreshOne's answer.
type OneResult = ondemand.Result

// RefreshOne refreshes one connection now (sync asks after Zoho refused
// its access token), under the same lease as the schedule. When someone
// else holds the lease it waits a little for them. After any outcome but
// Refreshed or Failed the caller should read the vault again.
//
// rejected, when not zero, is the expiry of the access token Zoho
// refused. The stored token_expires_at (unix seconds) then says whether
// the stored token is still that one: at or before rejected (truncated to
// the second) it is, and it is refreshed however young it is (Zoho kills
// tokens early: a revoke-and-reconnect race, its limit of active tokens
// per refresh token); later, someone refreshed it meanwhile and the
// answer is RefreshedByAnother. AcquireLease's token_expires_at <= dueBy
// condition makes that decision atomic with taking the lease, so of many
// callers naming the same rejected token, one refreshes.
//
// Two tokens whose expiries fall in the same second are one to the
// table: a caller naming the older then refreshes the newer again (one
// refresh too many, never one too few).
//
// Without rejected (zero), a token refreshed under a minute ago is not
// refreshed again (Fresh).
func (s *Service) RefreshOne(ctx context.Context, id string, rejected time.Time) (OneResult, error) {
	res := OneResult{ConnectionID: id}
	if !connection.ValidID(id) {
		return res, ErrInvalidRequest
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		return res, fmt.Errorf("refresh: OAuth client: %w", err)
	}
	owner := newOwner("one")
	waitUntil := time.Now().Add(clock.OrDefault(s.OnDemandWait, DefaultOnDemandWait))
	var waited bool
	for attempt := 0; attempt < 5; attempt++ {
		c, err := s.Connections.Get(ctx, id)
		if errors.Is(err, connection.ErrNotFound) {
			res.Outcome = NotFound
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.TokenExpiresAt = timePtr(c.TokenExpiresAt)
		if c.Status != connection.Active {
			res.Outcome = ReauthRequired
			return res, nil
		}
		now := s.Now.Now()
		if c.NextAttemptAt.After(now) {
			// The last refresh failed and its backoff has not run out
			// (Zoho's "Access Denied" limit, or Zoho down): asking again
			// now would only spend the token budget and push the backoff
			// further. The caller queues its work.
			res.Outcome = ondemand.BackingOff
			return res, nil
		}
		dueBy := now.Add(accessTokenLife - recentRefresh)
		if !rejected.IsZero() {
			dueBy = rejected.Truncate(time.Second)
		}
		if !c.TokenExpiresAt.After(dueBy) {
			leased, ok, err := s.Connections.AcquireLease(ctx, id, owner, now, now.Add(clock.OrDefault(s.Lease, DefaultLease)), dueBy)
			if err != nil {
				return res, err
			}
			if ok {
				res.Outcome = s.refreshLeased(ctx, conf, owner, leased)
				if after, err := s.Connections.Get(ctx, id); err == nil {
					res.TokenExpiresAt = timePtr(after.TokenExpiresAt)
				}
				return res, nil
			}
		} else {
			res.Outcome = Fresh
			if waited || !rejected.IsZero() {
				res.Outcome = RefreshedByAnother
			}
			return res, nil
		}
		// Not leased: someone holds it, or the item changed since the read.
		held, err := s.waitForLease(ctx, id, waitUntil)
		if err != nil {
			return res, err
		}
		if held {
			res.Outcome = InProgress
			return res, nil
		}
		waited = true
	}
	res.Outcome = InProgress
	return res, nil
}

// waitForLease polls until nobody holds the lease of id, or until; it
// answers true when it is still held then.
func (s *Service) waitForLease(ctx context.Context, id string, until time.Time) (bool, error) {
	poll := clock.OrDefault(s.PollInterval, 200*time.Millisecond)
	for {
		owner, exp, err := s.Connections.Lease(ctx, id)
		if err != nil {
			return false, err
		}
		if owner == "" || exp.Before(s.Now.Now().Truncate(time.Second)) {
			return false, nil
		}
		if time.Now().Add(poll).After(until) {
			return true, nil
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return false, err
		}
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// newOwner names a lease holder: one per run or on-demand call.
func newOwner(kind string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return kind + "-" + hex.EncodeToString(b[:])
}
