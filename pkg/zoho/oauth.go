package zoho

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is an OAuth client registered in Zoho's API console, used in
// every data center. The zero value of the optional fields is right for
// production. A Config is safe for concurrent use as long as it is not
// modified.
type Config struct {
	ClientID     string
	ClientSecret Secret
	// ClientSecrets overrides ClientSecret for a data center, keyed by its
	// location ("eu", "in", ...): Zoho may issue a different secret per DC.
	ClientSecrets map[string]Secret
	// RedirectURL is the callback registered for the client; Zoho compares
	// it with the registered one at authorization and again at exchange.
	RedirectURL string
	// Scopes, e.g. ZohoCRM.modules.ALL, ZohoCRM.org.READ, ZohoCRM.users.READ.
	Scopes []string
	// HTTPClient sends every request. Nil: one client made once per process
	// with NewHTTPClient(HTTPOptions{}), which calls the real hosts (it does
	// not read ZOHO_ENDPOINT_OVERRIDE; pass a client built with the override
	// to use a simulator).
	HTTPClient *http.Client
	// Now is the clock used to turn expires_in into Token.Expiry.
	// Nil: time.Now.
	Now func() time.Time
}

// Token is what Zoho's token endpoint issues: an access token bound to one
// org in one environment of one data center, and, from a code exchange, the
// refresh token that makes more of them.
type Token struct {
	AccessToken  Secret
	RefreshToken Secret
	// TokenType is what Zoho reports ("Bearer"); CRM calls nonetheless use
	// the "Zoho-oauthtoken" authorization scheme.
	TokenType string
	// APIDomain is Zoho's api_domain, e.g. https://www.zohoapis.eu. It is
	// informational: Client never chooses a host from it (see NewClient).
	APIDomain string
	// Scope is the granted scope when Zoho reports it.
	Scope string
	// Expiry is when the access token stops working. The zero value means
	// unknown; such a token is treated as never expiring, as golang.org/x/oauth2 does.
	Expiry time.Time
}

// expiryDelta is how early a token counts as expired in Valid, so that a
// token handed to a request does not expire on the way.
const expiryDelta = 10 * time.Second

// Valid reports whether t has an access token that will not expire within
// the next 10 seconds.
func (t *Token) Valid() bool { return t.ValidAt(time.Now()) }

// ValidAt is Valid with an explicit clock.
func (t *Token) ValidAt(now time.Time) bool {
	return t != nil && t.AccessToken != "" && !t.ExpiresBy(now.Add(expiryDelta))
}

// ExpiresWithin reports whether the access token expires within d from now.
func (t *Token) ExpiresWithin(d time.Duration) bool { return t.ExpiresBy(time.Now().Add(d)) }

// ExpiresBy reports whether the access token has expired by the instant
// deadline: ExpiresWithin with an explicit clock. A nil token has; a token
// with a zero Expiry never does.
func (t *Token) ExpiresBy(deadline time.Time) bool {
	if t == nil {
		return true
	}
	if t.Expiry.IsZero() {
		return false
	}
	return !t.Expiry.After(deadline)
}

// Errors of the OAuth calls. Test with errors.Is; the concrete error is an
// *OAuthError when Zoho answered, or a wrapped network error.
var (
	// ErrInvalidCode: the grant code expired or was already used, or the
	// refresh token was revoked (Zoho's invalid_code for all three). The
	// user has to connect again.
	ErrInvalidCode = errors.New("zoho: grant code or refresh token is invalid, expired, used or revoked")
	// ErrInvalidClient: Zoho rejected the client's credentials or settings
	// (invalid_client, invalid_client_secret, invalid_redirect_uri,
	// unauthorized_client). A configuration error, not the user's.
	ErrInvalidClient = errors.New("zoho: OAuth client rejected (client id, secret or redirect URI)")
	// ErrInvalidRedirectURI is the invalid_redirect_uri case of
	// ErrInvalidClient; such errors match both.
	ErrInvalidRedirectURI = errors.New("zoho: redirect URI does not match the registered one")
	// ErrRateLimited: Zoho's "Access Denied ... too many requests" answer
	// (whatever the HTTP status), or HTTP 429 from the accounts server.
	// Retry later.
	ErrRateLimited = errors.New("zoho: too many requests to the accounts server")
	// ErrTokenAlreadyInvalid: Revoke was refused because the refresh token
	// is invalid or already revoked (Zoho answers HTTP 400). The token is
	// dead either way, so a disconnect treats this as done, not as an
	// error to retry. Such errors match ErrInvalidCode too.
	ErrTokenAlreadyInvalid = errors.New("zoho: refresh token already invalid or revoked")
	// ErrUnavailable: Zoho could not be reached or failed (network error,
	// timeout, HTTP 5xx, an unreadable body with a 5xx). Retryable. The CRM
	// client uses the same sentinel.
	ErrUnavailable = errors.New("zoho: unavailable")
)

// Retryable reports whether the call may succeed later without anyone's
// help: Zoho was unavailable or asked us to slow down (ErrUnavailable,
// ErrRateLimited, ErrTooManyRequests). Everything else needs a fix or a
// person: a new consent, a new configuration, different data.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited) || errors.Is(err, ErrTooManyRequests)
}

// OAuthError is Zoho's answer to a token or revoke request that did not
// succeed. Its message holds no token, grant code or secret.
type OAuthError struct {
	// Op is "exchange", "refresh" or "revoke".
	Op string
	// StatusCode is the HTTP status; Zoho often reports errors with 200.
	StatusCode int
	// Code is Zoho's `error` value, e.g. invalid_code or "Access Denied".
	// Empty when the body held none.
	Code string
	// Description is Zoho's error_description, or what was wrong with the body.
	Description string
}

func (e *OAuthError) Error() string {
	var b strings.Builder
	b.WriteString("zoho: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString("unexpected response")
	}
	fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// Is maps Zoho's error codes to this package's sentinels.
func (e *OAuthError) Is(target error) bool {
	code := e.code()
	switch target {
	case ErrInvalidCode:
		return code == "invalid_code" || code == "invalid_grant" || e.alreadyInvalid()
	case ErrTokenAlreadyInvalid:
		return e.alreadyInvalid()
	case ErrInvalidClient:
		return e.invalidClient()
	case ErrInvalidRedirectURI:
		return code == "invalid_redirect_uri"
	case ErrRateLimited:
		return e.rateLimited()
	case ErrUnavailable:
		return e.StatusCode >= 500 && !e.known()
	}
	return false
}

func (e *OAuthError) code() string { return strings.ToLower(strings.TrimSpace(e.Code)) }

func (e *OAuthError) invalidClient() bool {
	switch e.code() {
	case "invalid_client", "invalid_client_secret", "invalid_redirect_uri", "unauthorized_client":
		return true
	}
	return false
}

func (e *OAuthError) rateLimited() bool {
	code := e.code()
	return code == "access denied" || code == "too_many_requests" || e.StatusCode == http.StatusTooManyRequests
}

// alreadyInvalid: a revoke Zoho refused because the token is invalid or
// already revoked. Zoho answers that with HTTP 400; its body is not
// documented, so any 400 that does not name another cause counts, as does
// a token error code with any status.
func (e *OAuthError) alreadyInvalid() bool {
	if e.Op != "revoke" || e.rateLimited() || e.invalidClient() {
		return false
	}
	switch e.code() {
	case "invalid_code", "invalid_grant", "invalid_token", "invalid_refresh_token":
		return true
	}
	return e.StatusCode == http.StatusBadRequest
}

// known reports whether the code is one of those mapped to a
// non-retryable sentinel; such a code wins over a 5xx status.
func (e *OAuthError) known() bool {
	return errors.Is(e, ErrInvalidCode) || errors.Is(e, ErrInvalidClient) || errors.Is(e, ErrRateLimited)
}

// SecretFor returns the client secret to use with dc's accounts server.
func (c *Config) SecretFor(dc DataCenter) Secret {
	if s := c.ClientSecrets[dc.Location]; s != "" {
		return s
	}
	if s := c.ClientSecrets[strings.ToLower(dc.Location)]; s != "" {
		return s
	}
	return c.ClientSecret
}

// AuthCodeURL returns the URL to send the user to for consent: the start
// data center's authorization host (accounts.zoho.com for all but China),
// asking for offline access and a fresh refresh token (prompt=consent).
func (c *Config) AuthCodeURL(state string, start DataCenter) string {
	scopes := make([]string, len(c.Scopes))
	for i, s := range c.Scopes {
		scopes[i] = url.QueryEscape(s)
	}
	var b strings.Builder
	b.WriteString("https://")
	b.WriteString(start.AuthorizationHost())
	b.WriteString("/oauth/v2/auth?scope=")
	b.WriteString(strings.Join(scopes, ",")) // Zoho's docs separate scopes with a bare comma
	b.WriteString("&client_id=")
	b.WriteString(url.QueryEscape(c.ClientID))
	b.WriteString("&response_type=code&access_type=offline&prompt=consent&redirect_uri=")
	b.WriteString(url.QueryEscape(c.RedirectURL))
	b.WriteString("&state=")
	b.WriteString(url.QueryEscape(state))
	return b.String()
}

// Exchange trades a grant code for tokens at dc's accounts server. dc must
// come from VerifyCallbackServer (or another look-up), never from a value
// built by hand. It is never retried, here or by callers: a code is single
// use and lives about a minute.
func (c *Config) Exchange(ctx context.Context, dc DataCenter, code Secret) (*Token, error) {
	const op = "exchange"
	if code == "" {
		return nil, &OAuthError{Op: op, Code: "invalid_code", Description: "no grant code"}
	}
	if hc, err := c.httpClient(); err == nil {
		// A token for a DC whose API hosts are refused could never be used.
		if err := checkReachable(hc, dc); err != nil {
			return nil, fmt.Errorf("zoho: %s: %w", op, err)
		}
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code.Reveal()},
		"client_id":     {c.ClientID},
		"client_secret": {c.SecretFor(dc).Reveal()},
		"redirect_uri":  {c.RedirectURL},
	}
	return c.tokenRequest(ctx, op, dc, form, code, "")
}

// Refresh gets a new access token for a refresh token at dc's accounts
// server. The result carries the refresh token passed in (Zoho does not
// rotate refresh tokens; if it ever sends one, that one is kept).
func (c *Config) Refresh(ctx context.Context, dc DataCenter, refreshToken Secret) (*Token, error) {
	const op = "refresh"
	if refreshToken == "" {
		return nil, &OAuthError{Op: op, Code: "invalid_code", Description: "no refresh token"}
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken.Reveal()},
		"client_id":     {c.ClientID},
		"client_secret": {c.SecretFor(dc).Reveal()},
	}
	return c.tokenRequest(ctx, op, dc, form, refreshToken, refreshToken)
}

// Revoke revokes a refresh token, and with it every access token it made.
// A token that is already invalid or revoked is refused by Zoho with HTTP
// 400; that error matches ErrTokenAlreadyInvalid (and ErrInvalidCode), and
// a disconnect should count it as done.
func (c *Config) Revoke(ctx context.Context, dc DataCenter, refreshToken Secret) error {
	const op = "revoke"
	if err := checkDataCenter(dc); err != nil {
		return fmt.Errorf("zoho: %s: %w", op, err)
	}
	if refreshToken == "" {
		return &OAuthError{Op: op, Code: "invalid_code", Description: "no refresh token"}
	}
	u := dc.AccountsURL() + "/oauth/v2/token/revoke?token=" + url.QueryEscape(refreshToken.Reveal())
	status, body, err := c.post(ctx, op, u, nil, refreshToken)
	if err != nil {
		return err
	}
	var r struct {
		Status      string `json:"status"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if jerr := json.Unmarshal(body, &r); jerr != nil {
		return unreadable(op, status)
	}
	if strings.EqualFold(r.Status, "success") && r.Error == "" {
		return nil
	}
	code := r.Error
	if code == "" && !strings.EqualFold(r.Status, "success") {
		code = r.Status
	}
	return &OAuthError{Op: op, StatusCode: status, Code: code, Description: redact(r.Description, refreshToken, c.SecretFor(dc))}
}

// tokenRequest posts to the token endpoint and reads a token or an error.
// grant is the code or refresh token sent, keptRefresh the refresh token to
// keep in the result.
func (c *Config) tokenRequest(ctx context.Context, op string, dc DataCenter, form url.Values, grant, keptRefresh Secret) (*Token, error) {
	if err := checkDataCenter(dc); err != nil {
		return nil, fmt.Errorf("zoho: %s: %w", op, err)
	}
	secret := c.SecretFor(dc)
	status, body, err := c.post(ctx, op, dc.AccountsURL()+"/oauth/v2/token", []byte(form.Encode()), grant, secret)
	if err != nil {
		return nil, err
	}
	var r tokenResponse
	if jerr := json.Unmarshal(body, &r); jerr != nil {
		return nil, unreadable(op, status)
	}
	if r.AccessToken == "" {
		if r.Error == "" {
			return nil, &OAuthError{Op: op, StatusCode: status, Description: "no access_token in the response"}
		}
		return nil, &OAuthError{Op: op, StatusCode: status, Code: r.Error, Description: redact(r.Description, grant, secret)}
	}
	t := &Token{
		AccessToken:  r.AccessToken,
		RefreshToken: r.RefreshToken,
		TokenType:    r.TokenType,
		APIDomain:    r.APIDomain,
		Scope:        r.Scope,
		Expiry:       c.now().Add(r.lifetime()),
	}
	if t.RefreshToken == "" {
		t.RefreshToken = keptRefresh
	}
	return t, nil
}

// tokenResponse is the token endpoint's JSON, success or error.
type tokenResponse struct {
	AccessToken  Secret  `json:"access_token"` // decoded as the string it is
	RefreshToken Secret  `json:"refresh_token"`
	TokenType    string  `json:"token_type"`
	APIDomain    string  `json:"api_domain"`
	Scope        string  `json:"scope"`
	ExpiresIn    flexInt `json:"expires_in"`
	ExpiresInSec flexInt `json:"expires_in_sec"`
	Error        string  `json:"error"`
	Description  string  `json:"error_description"`
}

// defaultLifetime is Zoho's documented access-token lifetime, used when a
// response states none.
const defaultLifetime = time.Hour

// lifetime reads the two expiry formats: expires_in in seconds, or the
// older one where expires_in_sec is seconds and expires_in milliseconds.
func (r *tokenResponse) lifetime() time.Duration {
	switch {
	case r.ExpiresInSec.set && r.ExpiresInSec.v > 0:
		return time.Duration(r.ExpiresInSec.v) * time.Second
	case r.ExpiresInSec.set:
		// expires_in_sec present but useless: expires_in is then milliseconds.
		if r.ExpiresIn.v > 0 {
			return time.Duration(r.ExpiresIn.v) * time.Millisecond
		}
	case r.ExpiresIn.v > 0:
		return time.Duration(r.ExpiresIn.v) * time.Second
	}
	return defaultLifetime
}

// flexInt reads a JSON number or a string holding one.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	f.v, f.set = int64(v), true
	return nil
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// maxOAuthBody bounds what is read of an accounts server's answer.
const maxOAuthBody = 1 << 20

// post sends a form POST (form may be nil) and returns the status and the
// body. Transport failures, 5xx answers that are not JSON and bodies over
// the limit become errors here; secrets are scrubbed from every message.
func (c *Config) post(ctx context.Context, op, rawURL string, form []byte, secrets ...Secret) (int, []byte, error) {
	hc, err := c.httpClient()
	if err != nil {
		return 0, nil, fmt.Errorf("zoho: %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(form))
	if err != nil {
		return 0, nil, fmt.Errorf("zoho: %s: bad request: %s", op, redact(scrubURLError(err).Error(), secrets...))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, transportError(op, err, secrets...)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthBody+1))
	if err != nil {
		return 0, nil, unavailable(op, err, secrets...)
	}
	if len(body) > maxOAuthBody {
		return 0, nil, &OAuthError{Op: op, StatusCode: resp.StatusCode, Description: "response body over 1 MiB"}
	}
	return resp.StatusCode, body, nil
}

// unreadable is the error for a body that is not the JSON Zoho sends: a
// 5xx is an outage (ErrUnavailable), a 429 a rate limit, anything else an
// unexpected answer.
func unreadable(op string, status int) error {
	return &OAuthError{Op: op, StatusCode: status, Description: "response is not JSON"}
}

var (
	defaultClientOnce sync.Once
	defaultClient     *http.Client
	defaultClientErr  error
)

// sharedHTTPClient is the process-wide client used when none is given.
func sharedHTTPClient() (*http.Client, error) {
	defaultClientOnce.Do(func() { defaultClient, defaultClientErr = NewHTTPClient(HTTPOptions{}) })
	return defaultClient, defaultClientErr
}

func (c *Config) httpClient() (*http.Client, error) {
	if c.HTTPClient != nil {
		return c.HTTPClient, nil
	}
	return sharedHTTPClient()
}

// checkDataCenter refuses a DataCenter that is not exactly a row of the
// table, so a hand-made value can never aim a secret at another host.
func checkDataCenter(dc DataCenter) error {
	known, err := ByLocation(dc.Location)
	if err != nil {
		return err
	}
	if known.AccountsHost != dc.AccountsHost || known.APIDomain != dc.APIDomain {
		return fmt.Errorf("%w: data center %q does not match the table", ErrServerMismatch, dc.Location)
	}
	return nil
}

// unavailableError is a transport failure: Zoho was not reached, or did
// not answer in time. It matches ErrUnavailable and whatever it wraps
// (context.DeadlineExceeded, ...).
type unavailableError struct {
	op  string
	msg string
	err error
}

func (e *unavailableError) Error() string {
	return "zoho: " + e.op + ": " + ErrUnavailable.Error() + ": " + e.msg
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// transportError is the error of a request that got no answer: this
// package's own refusal to send, or an outage.
func transportError(op string, err error, secrets ...Secret) error {
	if refused(err) {
		// The refusal names a host, never a query: scrubbing the URL is enough.
		return fmt.Errorf("zoho: %s: %w", op, scrubURLError(err))
	}
	return unavailable(op, err, secrets...)
}

func unavailable(op string, err error, secrets ...Secret) error {
	err = scrubURLError(err)
	return &unavailableError{op: op, msg: redact(err.Error(), secrets...), err: err}
}

// scrubURLError drops the query from a *url.Error's URL: Revoke sends the
// refresh token there, and net/http prints the URL in its errors.
func scrubURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u := ue.URL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] + "?[redacted]"
	}
	return &url.Error{Op: ue.Op, URL: u, Err: ue.Err}
}

// redact replaces every occurrence of a secret in s. Zoho's descriptions
// are not expected to echo one, but a log line is no place to find out.
func redact(s string, secrets ...Secret) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v.Reveal(), redacted)
		}
	}
	return s
}
