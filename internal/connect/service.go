// Package connect is the connect flow: GET /connect starts Zoho's consent
// with a fresh single-use state, and GET /oauth/callback checks what came
// back through the browser, exchanges the grant at the right DC, confirms
// the org's environment and stores the connection and its tokens.
package connect

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The failures of the flow. The handler maps each to its interface code.
var (
	ErrAccessDenied        = errors.New("the user refused consent")
	ErrInvalidRequest      = errors.New("the request is malformed")
	ErrInvalidState        = errors.New("the state is missing, unknown, expired or already used")
	ErrInvalidLocation     = errors.New("the location or accounts server is not one of Zoho's, or they disagree")
	ErrGrantExpired        = errors.New("the grant code expired or was already used")
	ErrEnvironmentMismatch = errors.New("the org is not of the environment asked for")
	ErrZohoUnavailable     = errors.New("Zoho did not answer as expected")
	// ErrClientNotEnabled: the DC's accounts server refused the OAuth
	// client (invalid_client): it is not enabled for that DC, or its
	// secret or redirect URI there is wrong. The error names the DC.
	ErrClientNotEnabled = errors.New("the OAuth client is not enabled for this data center")
	// ErrInvalidSession: /connect named an unknown, expired or completed
	// connect session.
	ErrInvalidSession = errors.New("the connect session is unknown, expired or already completed")
	// ErrSessionRequired: /connect without a session while anonymous
	// connects are off.
	ErrSessionRequired = errors.New("a connect session is required: the product's backend opens one (POST /connect/sessions)")
	// ErrConnectedByAnotherUser: without a session, another Zoho user
	// than the one who connected the org tried to connect it again.
	ErrConnectedByAnotherUser = errors.New("this org is connected by another Zoho user")
)

// StateStore keeps pending connects.
type StateStore interface {
	Put(ctx context.Context, p connection.PendingConnect) error
	Consume(ctx context.Context, stateHash string, now time.Time) (connection.PendingConnect, error)
}

// ConnectionStore keeps connections. The lease is the refresh function's:
// the flow holds it while it replaces an existing connection's tokens.
type ConnectionStore interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
	Update(ctx context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error)
	TakeLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, id, owner string) error
}

// TokenVault keeps tokens. The flow writes them and never reads a refresh
// token: it faces the public.
type TokenVault interface {
	PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error
	PutRefreshToken(ctx context.Context, id, refreshToken string) error
}

// SessionStore reads and completes the product's connect sessions.
type SessionStore interface {
	Get(ctx context.Context, id string, now time.Time) (*connection.Session, error)
	Complete(ctx context.Context, id, connectionID string) error
}

// Revoker has the refresh token a reconnect replaced revoked where
// refresh tokens are read (RefreshFunction).
type Revoker interface {
	RevokeReplaced(ctx context.Context, id string) error
}

// OAuthConfig gives the OAuth client's config (read from its secret).
type OAuthConfig interface {
	Config(ctx context.Context) (*zoho.Config, error)
}

// KeySource gives the submission-key minter (its master is a secret).
type KeySource interface {
	Keys(ctx context.Context) (*connection.SubmissionKeys, error)
}

// CRM is what the flow asks Zoho's CRM about a new token.
type CRM interface {
	Org(ctx context.Context) (*zoho.Org, error)
	CurrentUser(ctx context.Context) (*zoho.User, error)
}

// Service runs the connect flow.
type Service struct {
	States      StateStore
	Connections ConnectionStore
	Tokens      TokenVault
	Sessions    SessionStore
	Revoker     Revoker
	// AllowAnonymous lets /connect start without a session
	// (ALLOW_ANONYMOUS_CONNECT).
	AllowAnonymous bool
	OAuth          OAuthConfig
	Keys           KeySource
	// NewCRM makes a CRM client for a token on a DC's environment host.
	NewCRM func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) CRM
	Log    *slog.Logger
	Now    clock.Func
	// StateTTL is how long a started connect may take (default 10 min).
	StateTTL time.Duration
	// ExchangeTimeout bounds the grant exchange; it must fit the grant's
	// one-minute life (default 10 s).
	ExchangeTimeout time.Duration
	// IdentifyTimeout bounds the Organization and user API calls
	// (default 8 s).
	IdentifyTimeout time.Duration
	// LeaseWait is how long a reconnect waits for a refresh in progress
	// to finish before it replaces the tokens anyway (default 3 s).
	LeaseWait time.Duration
}

// The time budget of a callback: exchange 10 s + identify 8 s + lease
// wait 3 s + storage + revoke 5 s stays inside the function's 29 s.
const (
	// DefaultStateTTL is how long a started connect may take.
	DefaultStateTTL        = 10 * time.Minute
	defaultExchangeTimeout = 10 * time.Second
	defaultIdentifyTimeout = 8 * time.Second
	defaultLeaseWait       = 3 * time.Second
	revokeTimeout          = 5 * time.Second
	swapLease              = 30 * time.Second
)

// StartRequest is a checked GET /connect.
type StartRequest struct {
	// SessionToken is the session's token; empty for an anonymous
	// connect, which then names Environment (zero: any) and Start.
	SessionToken zoho.Secret
	Environment  zoho.Environment
	Start        zoho.DataCenter
	// CallbackURL is the redirect URI of this request
	// (Handler.CallbackURL): used unless the client secret names one.
	CallbackURL string
}

// Started is a started connect: where to send the browser, and the nonce
// of the cookie that binds the state to this browser.
type Started struct {
	URL          string
	BrowserNonce zoho.Secret
	// CookieName is the cookie's name: one per state, so that two
	// connects started in one browser do not undo each other.
	CookieName string
	SessionID  string
}

// Start begins a connect: it stores a fresh state, bound to this browser
// by a nonce whose hash it keeps, with what the session (or an anonymous
// connect's query) asks for, and returns the URL of Zoho's consent page.
func (s *Service) Start(ctx context.Context, r StartRequest) (*Started, error) {
	now := s.Now.Now()
	p := connection.PendingConnect{StartLocation: r.Start.Location, ExpiresAt: now.Add(s.stateTTL())}
	if r.Environment != 0 {
		p.Environment = r.Environment.String()
	}
	switch {
	case r.SessionToken != "":
		sess, err := s.openSession(ctx, r.SessionToken, now)
		if err != nil {
			return nil, err
		}
		p.SessionID, p.TenantID, p.Environment, p.StartLocation = sess.ID, sess.TenantID, sess.Environment, sess.StartLocation
		if p.StartLocation == "" {
			p.StartLocation = "us"
		}
	case !s.AllowAnonymous:
		return nil, ErrSessionRequired
	}
	start, err := zoho.ByLocation(p.StartLocation)
	if err != nil {
		return nil, err
	}
	state, err := randomToken()
	if err != nil {
		return nil, err
	}
	nonce, err := randomToken()
	if err != nil {
		return nil, err
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		return nil, err
	}
	if conf, err = withRedirect(conf, r.CallbackURL); err != nil {
		return nil, err
	}
	p.StateHash, p.BrowserHash = hashState(state), hashState(nonce)
	if err := s.States.Put(ctx, p); err != nil {
		return nil, err
	}
	return &Started{URL: conf.AuthCodeURL(state, start), BrowserNonce: zoho.Secret(nonce), CookieName: CookieName(state), SessionID: p.SessionID}, nil
}

// openSession reads the session a token names and checks that it may
// start a consent flow.
func (s *Service) openSession(ctx context.Context, token zoho.Secret, now time.Time) (*connection.Session, error) {
	id, secret, ok := connection.ParseSessionToken(token)
	if !ok || s.Sessions == nil {
		return nil, ErrInvalidSession
	}
	sess, err := s.Sessions.Get(ctx, id, now)
	if errors.Is(err, connection.ErrSessionNotFound) {
		return nil, ErrInvalidSession
	}
	if err != nil {
		return nil, err
	}
	if err := sess.Open(secret, now); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSession, err)
	}
	return sess, nil
}

// CookieName is the name of the cookie that binds state to its browser:
// __Host- (Secure, Path=/, no Domain: only this host sets and reads it),
// then a part of the state's hash.
func CookieName(state string) string { return "__Host-zc_" + hashState(state)[:16] }

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (s *Service) stateTTL() time.Duration { return clock.OrDefault(s.StateTTL, DefaultStateTTL) }

// grantExpired says how long the grant waited: since the redirect reached
// us (received, when known) and since the consent started.
func grantExpired(now, received, started time.Time) error {
	var parts []string
	if !received.IsZero() {
		parts = append(parts, fmt.Sprintf("Zoho refused it %s after it reached us", round(now.Sub(received))))
	}
	parts = append(parts, fmt.Sprintf("%s after the sign-in started", round(now.Sub(started))))
	return fmt.Errorf("%w: %s; a code works once, within about a minute", ErrGrantExpired, strings.Join(parts, ", "))
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// ClientError is ErrClientNotEnabled for one DC, saying what to fix.
type ClientError struct {
	DC    zoho.DataCenter
	Why   string
	cause error
}

func (e *ClientError) Error() string {
	return fmt.Sprintf("Zoho's %s data center (%s) refused the OAuth client: %s", e.DC.Name, e.DC.AccountsHost, e.Why)
}

// Is makes a ClientError ErrClientNotEnabled.
func (e *ClientError) Is(target error) bool { return target == ErrClientNotEnabled }

// Unwrap is Zoho's own error.
func (e *ClientError) Unwrap() error { return e.cause }

// ErrNoRedirectURI: neither the client secret (redirect_uri) nor the
// request (PUBLIC_BASE_URL, or API Gateway's domain) names the callback.
var ErrNoRedirectURI = errors.New("no redirect URI: set redirect_uri in the OAuth client secret, or the PublicBaseUrl parameter")

// withRedirect is conf with the redirect URI it will send to Zoho: the
// client secret's redirect_uri when set, else callbackURL. Zoho compares
// the one /connect sent with the one the exchange sends, and both requests
// reach the same domain, so they agree.
func withRedirect(conf *zoho.Config, callbackURL string) (*zoho.Config, error) {
	if conf.RedirectURL != "" {
		return conf, nil
	}
	if callbackURL == "" {
		return nil, ErrNoRedirectURI
	}
	c := *conf
	c.RedirectURL = callbackURL
	return &c, nil
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// Redirect is what Zoho's redirect carried, as parsed by ParseCallbackQuery.
// The grant code, the state and the cookie's nonce are secrets.
type Redirect struct {
	Code, State                     zoho.Secret
	Location, AccountsServer, Error string
	// CallbackURL is the redirect URI this request arrived at (Handler's
	// CallbackURL); the client secret's redirect_uri, when set, wins.
	CallbackURL string
	// ReceivedAt is when the redirect reached API Gateway (zero: unknown).
	ReceivedAt time.Time
	// BrowserNonce is the value of the state's cookie (CookieName), empty
	// when the request carried none.
	BrowserNonce zoho.Secret
}

// Result is a stored connection, and its submission key when it is new.
type Result struct {
	Connection *connection.Connection
	// SubmissionKey is the new connection's key, to show once: only for an
	// anonymous connect (through a session the product fetches keys).
	SubmissionKey zoho.Secret
	// RequestedEnvironment is what /connect asked for ("" for any).
	RequestedEnvironment string
	// Session is the connect session that started it (nil: anonymous).
	Session *connection.Session
	// New: the connection did not exist before (else it was reconnected).
	New bool
}

// Failure is a failed callback whose session is known: the browser goes
// back to the session's return_url with the error's code.
type Failure struct {
	Err     error
	Session *connection.Session
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Complete finishes a connect from Zoho's redirect.
func (s *Service) Complete(ctx context.Context, r Redirect) (*Result, error) {
	if r.Error != "" {
		if r.State != "" {
			_, _ = s.States.Consume(ctx, hashState(r.State.Reveal()), s.Now.Now())
		}
		return nil, ErrAccessDenied
	}
	if r.Code == "" {
		return nil, ErrInvalidRequest
	}
	if r.State == "" {
		return nil, ErrInvalidState
	}
	pending, err := s.States.Consume(ctx, hashState(r.State.Reveal()), s.Now.Now())
	if errors.Is(err, connection.ErrStateNotFound) {
		return nil, ErrInvalidState
	}
	if err != nil {
		return nil, err
	}
	// The state must come back to the browser that started it: without
	// this, a stranger could send a victim a callback of their own consent
	// (login CSRF) and wire the victim's product to the stranger's org.
	if pending.BrowserHash == "" || subtle.ConstantTimeCompare([]byte(hashState(r.BrowserNonce.Reveal())), []byte(pending.BrowserHash)) != 1 {
		s.Log.Warn("callback refused: the state's cookie is missing or another browser's")
		return nil, fmt.Errorf("%w: this browser did not start this connection", ErrInvalidState)
	}
	var sess *connection.Session
	if pending.SessionID != "" {
		if sess, err = s.Sessions.Get(ctx, pending.SessionID, s.Now.Now()); err != nil {
			return nil, fmt.Errorf("%w: its connect session: %v", ErrInvalidState, err)
		}
		if sess.Status == connection.SessionCompleted {
			return nil, &Failure{Err: fmt.Errorf("%w: the connect session is already completed", ErrInvalidState), Session: sess}
		}
	}
	res, err := s.complete(ctx, r, pending, sess)
	if err != nil && sess != nil {
		return nil, &Failure{Err: err, Session: sess}
	}
	return res, err
}

// complete is Complete once the state is the browser's own.
func (s *Service) complete(ctx context.Context, r Redirect, pending connection.PendingConnect, sess *connection.Session) (*Result, error) {
	dc, err := zoho.VerifyCallbackServer(r.Location, r.AccountsServer)
	if err != nil {
		s.Log.Warn("callback refused: accounts server not allowed", "reason", err.Error())
		return nil, fmt.Errorf("%w: %v", ErrInvalidLocation, err)
	}
	var want zoho.Environment
	if pending.Environment != "" {
		if want, err = zoho.ParseEnvironment(pending.Environment); err != nil {
			return nil, err
		}
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		return nil, err
	}
	if conf, err = withRedirect(conf, r.CallbackURL); err != nil {
		return nil, err
	}

	tok, err := s.exchange(ctx, conf, dc, r.Code)
	if errors.Is(err, ErrGrantExpired) {
		return nil, grantExpired(s.Now.Now(), r.ReceivedAt, pending.ExpiresAt.Add(-s.stateTTL()))
	}
	if err != nil {
		return nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, clock.OrDefault(s.IdentifyTimeout, defaultIdentifyTimeout))
	org, user, env, err := s.identify(ictx, dc, want, tok)
	cancel()
	if err != nil {
		s.revoke(ctx, conf, dc, tok.RefreshToken, "identification failed")
		return nil, err
	}
	if want != 0 && env != want {
		s.revoke(ctx, conf, dc, tok.RefreshToken, "environment mismatch")
		return nil, fmt.Errorf("%w: the org %q is a %s org, not %s", ErrEnvironmentMismatch, org.Name, env, want)
	}
	res, replaced, committed, err := s.store(ctx, dc, env, org, user, tok, conf.Scopes, pending, sess)
	if err != nil {
		if !committed {
			// Nobody will ever use it: do not leave it counting against
			// the user's 20 refresh tokens.
			s.revoke(ctx, conf, dc, tok.RefreshToken, "storing the connection failed")
		}
		return nil, err
	}
	res.RequestedEnvironment, res.Session = pending.Environment, sess
	if replaced && s.Revoker != nil {
		if err := s.Revoker.RevokeReplaced(context.WithoutCancel(ctx), res.Connection.ID); err != nil {
			s.Log.Warn("asking for the replaced refresh token's revocation failed", "connection_id", res.Connection.ID, "err", err.Error())
		}
	}
	if sess != nil {
		if err := s.Sessions.Complete(ctx, sess.ID, res.Connection.ID); err != nil && !errors.Is(err, connection.ErrSessionCompleted) {
			s.Log.Warn("marking the connect session completed failed", "session_id", sess.ID, "err", err.Error())
		}
	}
	return res, nil
}

// exchange spends the grant once, under a deadline that fits its life.
func (s *Service) exchange(ctx context.Context, conf *zoho.Config, dc zoho.DataCenter, code zoho.Secret) (*zoho.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, clock.OrDefault(s.ExchangeTimeout, defaultExchangeTimeout))
	defer cancel()
	tok, err := conf.Exchange(ctx, dc, code)
	var oe *zoho.OAuthError
	switch {
	case errors.Is(err, zoho.ErrInvalidCode):
		return nil, ErrGrantExpired
	case errors.Is(err, zoho.ErrUnconfirmedDataCenter):
		return nil, fmt.Errorf("%w: Zoho CRM's hosts in the %s data center are not confirmed, so this deployment does not connect orgs there", ErrInvalidLocation, dc.Name)
	case errors.Is(err, zoho.ErrInvalidClient):
		why := "it is not enabled for that data center: in Zoho's API console open the client, Settings, Multi-DC, and enable " + dc.Name
		switch {
		case errors.Is(err, zoho.ErrInvalidRedirectURI):
			why = "the redirect URI " + conf.RedirectURL + " is not the one registered for the client there"
		case errors.As(err, &oe) && strings.EqualFold(oe.Code, "invalid_client_secret"):
			why = "its client secret for that data center is wrong (client_secrets." + dc.Location + " in the OAuth client secret)"
		}
		return nil, &ClientError{DC: dc, Why: why, cause: err}
	case err != nil:
		return nil, fmt.Errorf("%w: grant exchange at %s: %v", ErrZohoUnavailable, dc.AccountsHost, err)
	case tok.RefreshToken == "":
		return nil, fmt.Errorf("%w: the grant exchange returned no refresh token", ErrZohoUnavailable)
	}
	return tok, nil
}

// identify asks the Organization API which org and environment the token
// belongs to, and who the user is. The first host asked is the requested
// environment's, else the one api_domain names (a guess the Organization
// API then confirms), else production's; org and user are asked there
// concurrently. A DOMAIN_TOKEN_MISMATCH means the org lives in another
// environment: the other hosts are then asked for the org alone, and the
// user is asked where the org answered. The environment always comes from
// the Organization API's type, never from api_domain alone.
func (s *Service) identify(ctx context.Context, dc zoho.DataCenter, want zoho.Environment, tok *zoho.Token) (*zoho.Org, *zoho.User, zoho.Environment, error) {
	first := want
	if first == 0 {
		first = zoho.Production
		if apiDC, env, err := zoho.ByAPIDomain(tok.APIDomain); err == nil && apiDC.Location == dc.Location {
			first = env
		}
	}
	crm := s.NewCRM(dc, first, tok)
	var (
		wg      sync.WaitGroup
		user    *zoho.User
		userErr error
	)
	wg.Go(func() { user, userErr = crm.CurrentUser(ctx) })
	org, err := crm.Org(ctx)
	wg.Wait()
	for _, env := range zoho.Environments {
		if !errors.Is(err, zoho.ErrDomainTokenMismatch) {
			break
		}
		if env == first {
			continue
		}
		crm = s.NewCRM(dc, env, tok)
		if org, err = crm.Org(ctx); err == nil {
			user, userErr = crm.CurrentUser(ctx)
		}
	}
	if errors.Is(err, zoho.ErrDomainTokenMismatch) {
		return nil, nil, 0, fmt.Errorf("%w: no environment host of %s accepted the token", ErrZohoUnavailable, dc.Location)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: organization API: %v", ErrZohoUnavailable, err)
	}
	if userErr != nil {
		if !errors.Is(userErr, zoho.ErrScopeMismatch) {
			return nil, nil, 0, fmt.Errorf("%w: current user API: %v", ErrZohoUnavailable, userErr)
		}
		s.Log.Warn("current user unknown: the token lacks ZohoCRM.users.READ")
		user = &zoho.User{}
	}
	return org, user, org.Environment, nil
}

// store writes the tokens, then the connection. It reports whether the
// new tokens replaced a connection's (whose old refresh token is then to
// be revoked) and whether the new refresh token was committed to the
// vault (after which it must not be revoked: the connection uses it). An
// existing connection's tokens are replaced under the refresh lease, so no
// refresh runs with the token being replaced.
//
// The connection is the tenant's (pending.TenantID): another tenant that
// connects the same org gets its own. Without a session, another Zoho user
// than the one who connected may not take an org over
// (ErrConnectedByAnotherUser); through a session, the product asked for
// it, and the connection remembers whom it replaced.
func (s *Service) store(ctx context.Context, dc zoho.DataCenter, env zoho.Environment, org *zoho.Org, user *zoho.User, tok *zoho.Token,
	scopes []string, pending connection.PendingConnect, sess *connection.Session) (*Result, bool, bool, error) {
	id := connection.TenantConnectionID(pending.TenantID, dc.Location, env, org.ID)
	existing, err := s.Connections.Get(ctx, id)
	switch {
	case errors.Is(err, connection.ErrNotFound):
		existing = nil
	case err != nil:
		return nil, false, false, fmt.Errorf("reading the connection: %w", err)
	}
	if existing != nil && sess == nil && existing.Status != connection.Disconnected &&
		existing.UserID != "" && user.ID != "" && existing.UserID != user.ID {
		return nil, false, false, fmt.Errorf("%w (%s)", ErrConnectedByAnotherUser, existing.UserEmail)
	}
	if existing != nil {
		owner := "callback-" + hashState(tok.RefreshToken.Reveal())[:12]
		if s.takeLease(ctx, id, owner) {
			defer func() { _ = s.Connections.ReleaseLease(context.WithoutCancel(ctx), id, owner) }()
		}
	}
	keys, err := s.Keys.Keys(ctx)
	if err != nil {
		return nil, false, false, err
	}
	if err := s.Tokens.PutRefreshToken(ctx, id, tok.RefreshToken.Reveal()); err != nil {
		return nil, false, false, err
	}
	if err := s.Tokens.PutAccessToken(ctx, id, connection.AccessToken{Token: tok.AccessToken, APIDomain: tok.APIDomain, ExpiresAt: tok.Expiry}); err != nil {
		return nil, false, true, err
	}
	now := s.Now.Now().UTC()
	var newKey zoho.Secret
	grant := connection.Grant{
		Location: dc.Location, AccountsServer: dc.AccountsURL(), APIDomain: dc.APIURL(env),
		Environment: env.String(), OrgID: org.ID, OrgName: org.Name,
		UserID: user.ID, UserEmail: user.Email,
		Scopes: joinScopes(tok.Scope, scopes), TokenExpiresAt: tok.Expiry,
		Edition:  org.Edition,
		TenantID: pending.TenantID, SessionID: pending.SessionID,
	}
	if sess != nil {
		grant.Metadata = sess.Metadata
	}
	c, err := s.Connections.Update(ctx, id, func(c *connection.Connection) error {
		newKey = ""
		if c.Connect(grant, now) {
			key, keyID, hash, err := keys.New(id)
			if err != nil {
				return err
			}
			newKey, c.SubmissionKeyID, c.SubmissionHash = key, keyID, hash
		}
		return nil
	})
	if err != nil {
		return nil, false, true, err
	}
	if sess != nil {
		newKey = "" // the product fetches keys through its API
	}
	return &Result{Connection: c, SubmissionKey: newKey, New: existing == nil}, existing != nil, true, nil
}

// takeLease waits up to LeaseWait for a refresh in progress to let go of
// the connection. If it does not, the tokens are replaced anyway: the
// refresh then finds its token replaced and stands down.
func (s *Service) takeLease(ctx context.Context, id, owner string) bool {
	deadline := time.Now().Add(clock.OrDefault(s.LeaseWait, defaultLeaseWait))
	for {
		now := s.Now.Now()
		ok, err := s.Connections.TakeLease(ctx, id, owner, now, now.Add(swapLease))
		if err == nil && ok {
			return true
		}
		if err != nil || time.Now().After(deadline) {
			s.Log.Warn("replacing tokens without the refresh lease", "connection_id", id)
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func joinScopes(granted string, asked []string) string {
	if granted != "" {
		return granted
	}
	out := ""
	for i, s := range asked {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// revoke is best effort: a refresh token left alive is a leak, not a
// failure of the flow, so it is logged and the flow goes on.
func (s *Service) revoke(ctx context.Context, conf *zoho.Config, dc zoho.DataCenter, refreshToken zoho.Secret, why string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := conf.Revoke(ctx, dc, refreshToken); err != nil && !errors.Is(err, zoho.ErrTokenAlreadyInvalid) {
		s.Log.Warn("revoking a refresh token failed", "reason", why, "location", dc.Location, "err", err.Error())
		return
	}
	s.Log.Info("revoked a refresh token", "reason", why, "location", dc.Location)
}
