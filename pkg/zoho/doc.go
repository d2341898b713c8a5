// Package zoho gets multi-data-center, multi-environment Zoho CRM OAuth and
// CRM calls right: which hosts belong to which data center and environment,
// the authorization URL, grant exchange, refresh and revoke at the right
// accounts server, and a small CRM v8 client.
//
// It imports nothing from AWS; any Go program can use it alone.
//
// # Data centers and environments
//
// A Zoho account lives in one data center (DataCenter: US, EU, IN, AU, CN,
// JP, CA, SA, UK); a token is bound to one CRM org in one Environment
// (Production, Sandbox, Developer) of that DC. The DC table is the
// allowlist: NewHTTPClient refuses to send anything to a host that is not
// in it, and VerifyCallbackServer accepts the browser-supplied
// `accounts-server` of Zoho's redirect only when it is exactly the
// accounts server of the `location` that came with it.
//
// UK is Unconfirmed: Zoho Accounts lists its accounts server, but no
// source names a CRM API host for it. Its API hosts receive nothing, and
// Exchange makes no token for it, unless the HTTP client is built with
// HTTPOptions.AllowUnconfirmed (ErrUnconfirmedDataCenter otherwise).
//
// # Limits
//
// Org reports the org's edition (license_details.paid_type); Org.Limits,
// Org.ConcurrencyLimit and Org.DailyCredits, or EditionLimits, tell how
// many calls the org takes at once and per rolling 24 hours. Beyond
// either, Zoho answers 429 TOO_MANY_REQUESTS: ErrTooManyRequests.
//
// # Use
//
//	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: os.Getenv(zoho.EndpointOverrideEnv)})
//	cfg := &zoho.Config{ClientID: id, ClientSecret: secret, RedirectURL: cb, Scopes: scopes, HTTPClient: hc}
//
//	// /connect: send the user to consent (accounts.zoho.com, or China's own).
//	http.Redirect(w, r, cfg.AuthCodeURL(state, startDC), http.StatusFound)
//
//	// /oauth/callback: check state, then location and accounts-server.
//	dc, err := zoho.VerifyCallbackServer(q.Get("location"), q.Get("accounts-server"))
//	tok, err := cfg.Exchange(ctx, dc, zoho.Secret(q.Get("code"))) // never retried: a code is single use
//	org, err := zoho.NewClient(dc, wantEnv, zoho.StaticTokenSource(tok), hc).Org(ctx)
//	// org.Environment must be wantEnv; ErrDomainTokenMismatch says it is not.
//
//	// later, in one coordinated place:
//	tok, err = cfg.Refresh(ctx, dc, tok.RefreshToken)
//	res, err := zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc).Insert(ctx, "Leads", recs, nil)
//
// Besides Insert and Upsert, the client reads a module's fields (Fields)
// and attaches notes to a record (AddNote); an Insert with
// DuplicateCheckFields refuses a duplicate as DUPLICATE_DATA, whose
// RecordResult names the existing record in both of Zoho's shapes.
//
// Errors are tested with errors.Is: ErrInvalidCode (the user must connect
// again), ErrInvalidClient and ErrInvalidRedirectURI (our configuration),
// ErrRateLimited, ErrUnavailable, ErrInvalidToken (INVALID_TOKEN,
// AUTHENTICATION_FAILURE, INVALID_OAUTHTOKEN), ErrDomainTokenMismatch,
// ErrScopeMismatch, ErrTooManyRequests, ErrUnconfirmedDataCenter, and
// ErrTokenAlreadyInvalid, which Revoke returns for a token Zoho no longer
// knows (HTTP 400): for a disconnect that is done. Retryable tells which
// are worth trying again later. No error message holds an access or refresh token,
// a grant code or a client secret, so errors may be logged as they are.
//
// Those four are Secret values (Token.AccessToken and RefreshToken,
// Config.ClientSecret and ClientSecrets, the code and refresh token
// Exchange, Refresh and Revoke take): printed, logged or marshaled they
// read "[redacted]", and Reveal gives the value where it must be sent or
// stored.
//
// The package does no retries and no refreshing of its own. Zoho allows
// 10 refreshes per refresh token per 10 minutes and 15 live access tokens
// per refresh token, the 16th silently killing the oldest; refreshing from
// every caller that finds a token stale breaks tokens in use. So a
// TokenSource here only hands out tokens, and refreshing is left to one
// place that holds a lease.
//
// # Why not golang.org/x/oauth2
//
// This package mirrors golang.org/x/oauth2's shape (Config, AuthCodeURL,
// Exchange, Token, TokenSource) so it reads familiarly, but does not
// depend on it, because for Zoho it would get several things wrong or
// make them awkward:
//
//   - Its Config has one fixed Endpoint. Zoho's token endpoint is per data
//     center, known only at the callback, so it would take a Config per DC,
//     built from browser input, with the secret chosen per DC by hand.
//   - Zoho reports token errors as {"error":"invalid_code"} with HTTP 200.
//     Older oauth2 releases turn such a body into a generic "server
//     response missing access_token" error; current ones return a
//     *RetrieveError with the code, which still leaves the mapping to us
//     (invalid_code also means a revoked refresh token; "Access Denied" is
//     a rate limit, not a refusal).
//   - With the default AuthStyle it first sends the secret in a Basic
//     header and, on any error, posts the same grant again with the secret
//     in the form: two token requests for one exchange, against Zoho's
//     per-client limits.
//   - Zoho's older token format sends expires_in in milliseconds next to
//     expires_in_sec; oauth2 reads expires_in as seconds and would make an
//     hour-long token live 41 days.
//   - It has no revoke.
//   - api_domain is only reachable through Token.Extra.
//   - Its auto-refreshing TokenSource refreshes wherever a token is stale,
//     the uncoordinated refreshing Zoho's limits punish.
//
// What remains — building a URL, posting a form, reading JSON — is less
// code than adapting oauth2 would be.
//
// # Local runs and tests
//
// NewHTTPClient with an EndpointOverride (ZOHO_ENDPOINT_OVERRIDE) sends
// every Zoho request to a simulator such as package zohosim, over plain
// HTTP, keeping the path, the query and the real Zoho host in the Host
// header.
package zoho
