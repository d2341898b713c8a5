package zoho_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim/zohosimtest"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// The client against the simulator: every flow and error path end to end,
// through the real transport and ZOHO_ENDPOINT_OVERRIDE.

const (
	simClientID = "1000.SIMCLIENT"
	simSecret   = "sim-secret-0123456789"
	simEUSecret = "sim-eu-secret-0123456789"
	simRedirect = "https://example.com/oauth/callback"
)

type simEnv struct {
	sim *zohosim.Server
	cfg *zoho.Config
	hc  *http.Client
	// hcAll also reaches the API hosts of unconfirmed data centers.
	hcAll *http.Client
	now   time.Time
}

func startSim(t *testing.T, opts zohosim.Options) *simEnv {
	t.Helper()
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if opts.Now == nil {
		opts.Now = func() time.Time { return base }
	}
	if opts.Clients == nil {
		opts.Clients = []zohosim.Client{{ID: simClientID, Secret: simSecret, Secrets: map[string]string{"eu": simEUSecret}, RedirectURIs: []string{simRedirect}}}
	}
	s, baseURL := zohosimtest.Start(t, opts)
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	hcAll, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: baseURL, AllowUnconfirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{sim: s, hc: hc, hcAll: hcAll, now: base}
	e.cfg = &zoho.Config{
		ClientID:      simClientID,
		ClientSecret:  simSecret,
		ClientSecrets: map[string]zoho.Secret{"eu": simEUSecret},
		RedirectURL:   simRedirect,
		Scopes:        []string{"ZohoCRM.modules.ALL", "ZohoCRM.org.READ", "ZohoCRM.users.READ"},
		HTTPClient:    hc,
		Now:           s.Now,
	}
	return e
}

// connect adds a user with one org and exchanges a fresh code for it.
func (e *simEnv) connect(t *testing.T, loc string, env zoho.Environment) (zoho.DataCenter, zohosim.User, *zoho.Token) {
	t.Helper()
	u := e.sim.AddUser(zohosim.User{Location: loc, Orgs: []zohosim.Org{{Environment: env}}})
	code, err := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	dc := mustDC(t, loc)
	tok, err := e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
	if err != nil {
		t.Fatalf("Exchange in %s/%s: %v", loc, env, err)
	}
	return dc, u, tok
}

func (e *simEnv) client(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) *zoho.Client {
	return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), e.hc)
}

// allowingUnconfirmed is e with clients that also reach unconfirmed DCs.
func (e *simEnv) allowingUnconfirmed() *simEnv {
	c := *e
	cfg := *e.cfg
	cfg.HTTPClient = e.hcAll
	c.cfg, c.hc = &cfg, e.hcAll
	return &c
}

func TestSimConnectEveryDataCenterAndEnvironment(t *testing.T) {
	for _, namesEnv := range []bool{false, true} {
		all := startSim(t, zohosim.Options{APIDomainNamesEnvironment: namesEnv, Limits: zohosim.Limits{GrantCodesPer10Min: -1}})
		for _, dc := range zoho.DataCenters() {
			// An unconfirmed DC is only reached when enabled
			// (TestSimUnconfirmedDataCenterRefused covers the default).
			e := all
			if dc.Unconfirmed {
				e = all.allowingUnconfirmed()
			}
			for _, env := range zoho.Environments {
				t.Run(fmt.Sprintf("%s/%s/apidomain-env=%v", dc.Location, env, namesEnv), func(t *testing.T) {
					e.sim.ResetRequests()
					_, u, tok := e.connect(t, dc.Location, env)
					if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || !tok.Expiry.Equal(e.sim.Now().Add(time.Hour)) {
						t.Errorf("token = %+v", redacted(tok))
					}
					apiDC, apiEnv, err := zoho.ByAPIDomain(tok.APIDomain)
					if err != nil || apiDC.Location != dc.Location || (namesEnv && apiEnv != env) {
						t.Errorf("api_domain %q: %v %v %v", tok.APIDomain, apiDC.Location, apiEnv, err)
					}
					reqs := e.sim.Requests()
					if len(reqs) != 1 || reqs[0].Host != dc.AccountsHost || reqs[0].Path != "/oauth/v2/token" {
						t.Errorf("requests %+v", reqs)
					}
					if got := reqs[0].Form.Get("client_secret"); got != e.cfg.SecretFor(dc).Reveal() {
						t.Errorf("secret for %s: wrong one sent", dc.Location)
					}
					if len(reqs[0].Query) != 0 {
						t.Errorf("token request has a query: secrets belong in the body")
					}

					c := e.client(dc, env, tok)
					org, err := c.Org(context.Background())
					if err != nil || org.ID != u.Orgs[0].ID || org.Environment != env || org.Name != u.Orgs[0].Name {
						t.Errorf("Org() = %+v, %v", org, err)
					}
					user, err := c.CurrentUser(context.Background())
					if err != nil || user.Email != u.Email || user.ZUID != u.ID || user.FullName != u.FullName || user.ID == "" {
						t.Errorf("CurrentUser() = %+v, %v", user, err)
					}
					reqs = e.sim.Requests()
					if last := reqs[len(reqs)-1]; last.Host != dc.APIHost(env) {
						t.Errorf("CRM call went to %s, want %s", last.Host, dc.APIHost(env))
					}
				})
			}
		}
	}
}

// redacted is a token fit for a test log.
func redacted(t *zoho.Token) zoho.Token {
	if t == nil {
		return zoho.Token{}
	}
	c := *t
	c.AccessToken, c.RefreshToken = "…", "…"
	return c
}

func TestSimGrantCodeSingleUseAndShortLived(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	u := e.sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{}}})
	dc := mustDC(t, "eu")
	ctx := context.Background()

	code, _ := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if _, err := e.cfg.Exchange(ctx, dc, zoho.Secret(code)); err != nil {
		t.Fatal(err)
	}
	_, err := e.cfg.Exchange(ctx, dc, zoho.Secret(code))
	if !errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("reused code: err = %v", err)
	}
	assertClean(t, err, code, simEUSecret)

	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	e.sim.Advance(61 * time.Second)
	e.sim.ResetRequests()
	_, err = e.cfg.Exchange(ctx, dc, zoho.Secret(code))
	if !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("code after 61 s: err = %v", err)
	}
	if n := len(e.sim.Requests()); n != 1 {
		t.Errorf("%d requests for one exchange", n)
	}

	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if _, err := e.cfg.Exchange(ctx, mustDC(t, "us"), zoho.Secret(code)); !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("code at another DC: err = %v", err)
	}
}

func TestSimPerDataCenterSecret(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	u := e.sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{}}})
	noEU := *e.cfg
	noEU.ClientSecrets = nil
	code, _ := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	_, err := noEU.Exchange(context.Background(), mustDC(t, "eu"), zoho.Secret(code))
	if !errors.Is(err, zoho.ErrInvalidClient) || errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("default secret in eu: err = %v", err)
	}
	var oe *zoho.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client_secret" {
		t.Errorf("err = %#v", err)
	}
	assertClean(t, err, code, simSecret, simEUSecret)

	// The code was not consumed by the failed attempt.
	if _, err := e.cfg.Exchange(context.Background(), mustDC(t, "eu"), zoho.Secret(code)); err != nil {
		t.Errorf("with the eu secret: %v", err)
	}

	wrongID := *e.cfg
	wrongID.ClientID = "1000.NOPE"
	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if _, err := wrongID.Exchange(context.Background(), mustDC(t, "eu"), zoho.Secret(code)); !errors.Is(err, zoho.ErrInvalidClient) {
		t.Errorf("unknown client: err = %v", err)
	}
	wrongRedirect := *e.cfg
	wrongRedirect.RedirectURL = "https://evil.example/cb"
	_, err = wrongRedirect.Exchange(context.Background(), mustDC(t, "eu"), zoho.Secret(code))
	if !errors.Is(err, zoho.ErrInvalidRedirectURI) || !errors.Is(err, zoho.ErrInvalidClient) {
		t.Errorf("wrong redirect: err = %v", err)
	}
}

func TestSimRefreshAndRateLimit(t *testing.T) {
	for _, status := range []int{0, http.StatusBadRequest} {
		t.Run(fmt.Sprintf("error-status-%d", status), func(t *testing.T) {
			e := startSim(t, zohosim.Options{ErrorStatus: status})
			dc, _, tok := e.connect(t, "in", zoho.Sandbox)
			ctx := context.Background()
			var last *zoho.Token
			for i := range 10 {
				e.sim.Advance(time.Second)
				nt, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken)
				if err != nil {
					t.Fatalf("refresh %d: %v", i, err)
				}
				if nt.RefreshToken != tok.RefreshToken || nt.AccessToken == tok.AccessToken || !nt.Expiry.Equal(e.sim.Now().Add(time.Hour)) {
					t.Errorf("refresh %d: %+v", i, redacted(nt))
				}
				last = nt
			}
			_, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken)
			if !errors.Is(err, zoho.ErrRateLimited) || !zoho.Retryable(err) || errors.Is(err, zoho.ErrInvalidCode) {
				t.Errorf("11th refresh in 10 min: err = %v", err)
			}
			assertClean(t, err, tok.RefreshToken.Reveal(), simSecret)
			if _, err := e.client(dc, zoho.Sandbox, last).Org(ctx); err != nil {
				t.Errorf("latest access token: %v", err)
			}
			e.sim.Advance(10 * time.Minute)
			if _, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken); err != nil {
				t.Errorf("after the window: %v", err)
			}
		})
	}
}

func TestSimLegacyExpiry(t *testing.T) {
	e := startSim(t, zohosim.Options{LegacyExpiry: true})
	dc, _, tok := e.connect(t, "au", zoho.Production)
	if want := e.sim.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("exchange expiry %v, want %v", tok.Expiry, want)
	}
	nt, err := e.cfg.Refresh(context.Background(), dc, tok.RefreshToken)
	if err != nil || !nt.Expiry.Equal(e.sim.Now().Add(time.Hour)) {
		t.Errorf("refresh expiry %v, %v", nt, err)
	}
}

func TestSimUnavailable(t *testing.T) {
	e := startSim(t, zohosim.Options{Limits: zohosim.Limits{GrantCodesPer10Min: -1}})
	dc, u, tok := e.connect(t, "jp", zoho.Production)
	ctx := context.Background()
	faults := map[string]zohosim.Fault{
		"503":     {Host: dc.AccountsHost, Status: http.StatusServiceUnavailable, Times: 1},
		"500html": {Host: dc.AccountsHost, Status: http.StatusInternalServerError, Body: "<html>oops</html>", Times: 1},
		"drop":    {Host: dc.AccountsHost, Drop: true, Times: 1},
		"latency": {Host: dc.AccountsHost, Latency: 3 * time.Second, Times: 1},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			for _, op := range []string{"exchange", "refresh", "revoke"} {
				e.sim.ClearFaults()
				e.sim.Inject(f)
				e.sim.ResetRequests()
				ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				code, err := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				switch op {
				case "exchange":
					_, err = e.cfg.Exchange(ctx, dc, zoho.Secret(code))
				case "refresh":
					_, err = e.cfg.Refresh(ctx, dc, tok.RefreshToken)
				case "revoke":
					err = e.cfg.Revoke(ctx, dc, "1000.not-a-real-token-0123456789")
				}
				cancel()
				if time.Since(start) > 2*time.Second {
					t.Errorf("%s: took %v, the deadline was 200 ms", op, time.Since(start))
				}
				if !errors.Is(err, zoho.ErrUnavailable) || !zoho.Retryable(err) {
					t.Errorf("%s: err = %v, want ErrUnavailable", op, err)
				}
				if name == "latency" && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: err = %v, want DeadlineExceeded too", op, err)
				}
				assertClean(t, err, code, tok.RefreshToken.Reveal(), "1000.not-a-real-token-0123456789", simSecret)
				if n := len(e.sim.Requests()); n != 1 {
					t.Errorf("%s: %d requests, want 1 (no retries)", op, n)
				}
			}
		})
	}
	e.sim.ClearFaults()
	if _, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

func TestSimRevoke(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "ca", zoho.Developer)
	ctx := context.Background()
	e.sim.ResetRequests()
	if err := e.cfg.Revoke(ctx, dc, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	if len(reqs) != 1 || reqs[0].Host != "accounts.zohocloud.ca" || reqs[0].Path != "/oauth/v2/token/revoke" || reqs[0].Query.Get("token") != tok.RefreshToken.Reveal() || reqs[0].Method != http.MethodPost {
		t.Errorf("requests = %+v", reqs)
	}
	if e.sim.RefreshTokenActive(tok.RefreshToken.Reveal()) {
		t.Error("refresh token still active")
	}
	if _, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken); !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("refresh after revoke: %v", err)
	}
	if _, err := e.client(dc, zoho.Developer, tok).Org(ctx); !errors.Is(err, zoho.ErrInvalidToken) {
		t.Errorf("access token after revoke: %v", err)
	}
}

func TestSimRevokedByUser(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "sa", zoho.Production)
	e.sim.RevokeRefreshToken(tok.RefreshToken.Reveal())
	_, err := e.cfg.Refresh(context.Background(), dc, tok.RefreshToken)
	if !errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("err = %v", err)
	}
}

func TestSimInvalidToken(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "us", zoho.Production)
	ctx := context.Background()
	e.sim.ExpireAccessTokens()
	c := e.client(dc, zoho.Production, tok)
	_, err := c.Org(ctx)
	var ae *zoho.APIError
	if !errors.Is(err, zoho.ErrInvalidToken) || zoho.Retryable(err) || !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired: err = %v", err)
	}
	assertClean(t, err, tok.AccessToken.Reveal())
	nt, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(dc, zoho.Production, nt).Org(ctx); err != nil {
		t.Errorf("after refresh: %v", err)
	}

	e.sim.Advance(time.Hour + time.Second)
	if _, err := e.client(dc, zoho.Production, nt).Org(ctx); !errors.Is(err, zoho.ErrInvalidToken) {
		t.Errorf("after an hour: %v", err)
	}
}

func TestSimDomainTokenMismatch(t *testing.T) {
	e := startSim(t, zohosim.Options{APIDomainNamesEnvironment: true})
	dc, _, tok := e.connect(t, "eu", zoho.Sandbox)
	ctx := context.Background()
	for _, tc := range []struct {
		dc  zoho.DataCenter
		env zoho.Environment
	}{{dc, zoho.Production}, {dc, zoho.Developer}, {mustDC(t, "us"), zoho.Sandbox}} {
		_, err := e.client(tc.dc, tc.env, tok).Org(ctx)
		if !errors.Is(err, zoho.ErrDomainTokenMismatch) || errors.Is(err, zoho.ErrInvalidToken) || zoho.Retryable(err) {
			t.Errorf("%s/%s: err = %v", tc.dc.Location, tc.env, err)
		}
		_, err = e.client(tc.dc, tc.env, tok).Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
		if !errors.Is(err, zoho.ErrDomainTokenMismatch) {
			t.Errorf("insert %s/%s: err = %v", tc.dc.Location, tc.env, err)
		}
	}
}

func TestSimScopeMismatch(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	u := e.sim.AddUser(zohosim.User{Location: "us", Orgs: []zohosim.Org{{}}})
	code, err := e.sim.IssueCodeScope(simClientID, u.Email, u.Orgs[0].ID, "ZohoCRM.org.READ")
	if err != nil {
		t.Fatal(err)
	}
	dc := mustDC(t, "us")
	tok, err := e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(dc, zoho.Production, tok)
	if _, err := c.Org(context.Background()); err != nil {
		t.Errorf("Org with org.READ: %v", err)
	}
	if _, err := c.CurrentUser(context.Background()); !errors.Is(err, zoho.ErrScopeMismatch) {
		t.Errorf("CurrentUser: %v", err)
	}
	if _, err := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil); !errors.Is(err, zoho.ErrScopeMismatch) || zoho.Retryable(err) {
		t.Errorf("Insert: %v", err)
	}
}

func TestSimTooManyRequests(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "cn", zoho.Production)
	e.sim.Inject(zohosim.Fault{Host: dc.APIHost(zoho.Production), Status: http.StatusTooManyRequests, Times: 1})
	_, err := e.client(dc, zoho.Production, tok).Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
	if !errors.Is(err, zoho.ErrTooManyRequests) || !zoho.Retryable(err) {
		t.Errorf("err = %v", err)
	}
	e.sim.Inject(zohosim.Fault{Host: dc.APIHost(zoho.Production), Status: http.StatusBadGateway, Body: "<html></html>", Times: 1})
	_, err = e.client(dc, zoho.Production, tok).Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
	if !errors.Is(err, zoho.ErrUnavailable) || !zoho.Retryable(err) {
		t.Errorf("502: err = %v", err)
	}
	// Not Times: 1: net/http retries an idempotent GET once on a reused
	// connection that died (a POST is never retried this way).
	e.sim.Inject(zohosim.Fault{Host: dc.APIHost(zoho.Production), Drop: true})
	_, err = e.client(dc, zoho.Production, tok).Org(context.Background())
	e.sim.ClearFaults()
	if !errors.Is(err, zoho.ErrUnavailable) {
		t.Errorf("drop: err = %v", err)
	}
	assertClean(t, err, tok.AccessToken.Reveal())
}

func TestSimInsertAndUpsert(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, u, tok := e.connect(t, "eu", zoho.Production)
	c := e.client(dc, zoho.Production, tok)
	ctx := context.Background()
	orgID := u.Orgs[0].ID

	res, err := c.Insert(ctx, "Leads", []zoho.Record{
		{"Last_Name": "Smith", "Email": "smith@x.example"},
		{"First_Name": "No last name"},
		{"Last_Name": "Dup", "Email": "SMITH@x.example"},
		{"Last_Name": "Bad", "Email": "not-an-email"},
	}, &zoho.WriteOptions{Trigger: []string{"workflow"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ code, field string }{{"SUCCESS", ""}, {"MANDATORY_NOT_FOUND", "Last_Name"}, {"DUPLICATE_DATA", "Email"}, {"INVALID_DATA", "Email"}}
	for i, w := range want {
		if res[i].Code != w.code || res[i].Field != w.field || res[i].OK() != (w.code == "SUCCESS") {
			t.Errorf("record %d: %+v, want %s %s", i, res[i], w.code, w.field)
		}
	}
	recs := e.sim.Records(orgID, "Leads")
	if len(recs) != 1 || recs[0]["id"] != res[0].ID || res[0].ID == "" {
		t.Fatalf("stored %v, result id %q", recs, res[0].ID)
	}
	if res[2].ID != res[0].ID {
		t.Errorf("DUPLICATE_DATA id %q, want the existing %q", res[2].ID, res[0].ID)
	}

	res, err = c.Upsert(ctx, "Leads", []zoho.Record{
		{"Last_Name": "Smith-Jones", "Email": "smith@x.example"},
		{"Last_Name": "New", "Email": "new@x.example"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK() || res[0].Action != "update" || res[0].DuplicateField != "Email" || res[0].ID != recs[0]["id"] {
		t.Errorf("upsert update: %+v", res[0])
	}
	if !res[1].OK() || res[1].Action != "insert" || res[1].DuplicateField != "" || res[1].ID == "" {
		t.Errorf("upsert insert: %+v", res[1])
	}
	recs = e.sim.Records(orgID, "Leads")
	if len(recs) != 2 || recs[0]["Last_Name"] != "Smith-Jones" {
		t.Errorf("stored %v", recs)
	}

	// Every record failing is still per-record answers, not a call error.
	res, err = c.Insert(ctx, "Contacts", []zoho.Record{{"Email": "x@x.example"}}, nil)
	if err != nil || len(res) != 1 || res[0].Code != "MANDATORY_NOT_FOUND" {
		t.Errorf("all failed: %+v, %v", res, err)
	}

	res, err = c.Upsert(ctx, "Accounts", []zoho.Record{{"Account_Name": "Acme"}}, &zoho.WriteOptions{DuplicateCheckFields: []string{"Account_Name"}})
	if err != nil || !res[0].OK() || res[0].Action != "insert" {
		t.Errorf("accounts upsert: %+v, %v", res, err)
	}
}

func TestSimTooManyRecords(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "us", zoho.Production)
	c := e.client(dc, zoho.Production, tok)
	e.sim.ResetRequests()
	recs := make([]zoho.Record, 101)
	for i := range recs {
		recs[i] = zoho.Record{"Last_Name": fmt.Sprint(i)}
	}
	if _, err := c.Insert(context.Background(), "Leads", recs, nil); !errors.Is(err, zoho.ErrTooManyRecords) {
		t.Errorf("err = %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	res, err := c.Insert(context.Background(), "Leads", recs[:100], nil)
	if err != nil || len(res) != 100 {
		t.Fatalf("100 records: %d results, %v", len(res), err)
	}
	for i, r := range res {
		if !r.OK() {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}

func TestSimErrorsHoldNoSecrets(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "us", zoho.Production)
	ctx := context.Background()
	var errs []error
	e.sim.Inject(zohosim.Fault{Drop: true})
	_, err := e.cfg.Refresh(ctx, dc, tok.RefreshToken)
	errs = append(errs, err, e.cfg.Revoke(ctx, dc, tok.RefreshToken))
	_, err = e.client(dc, zoho.Production, tok).Org(ctx)
	errs = append(errs, err)
	e.sim.ClearFaults()
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		assertClean(t, err, tok.RefreshToken.Reveal(), tok.AccessToken.Reveal(), simSecret)
		if strings.Contains(fmt.Sprintf("%+v %#v", err, err), tok.RefreshToken.Reveal()) {
			t.Errorf("formatted error holds the refresh token")
		}
	}
}

func TestSimUnconfirmedDataCenterRefused(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	u := e.sim.AddUser(zohosim.User{Location: "uk", Orgs: []zohosim.Org{{}}})
	code, err := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	uk := mustDC(t, "uk")
	e.sim.ResetRequests()
	_, err = e.cfg.Exchange(context.Background(), uk, zoho.Secret(code))
	if !errors.Is(err, zoho.ErrUnconfirmedDataCenter) || zoho.Retryable(err) {
		t.Errorf("exchange: %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached the simulator", n)
	}
	// The code was not spent: enabled, the same flow works.
	all := e.allowingUnconfirmed()
	tok, err := all.cfg.Exchange(context.Background(), uk, zoho.Secret(code))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := all.client(uk, zoho.Production, tok).Org(context.Background()); err != nil {
		t.Errorf("enabled: %v", err)
	}
	// A token made while enabled is refused by a default client, and can
	// still be revoked at the (confirmed) accounts server.
	if _, err := e.client(uk, zoho.Production, tok).Org(context.Background()); !errors.Is(err, zoho.ErrUnconfirmedDataCenter) {
		t.Errorf("default client: %v", err)
	}
	if err := e.cfg.Revoke(context.Background(), uk, tok.RefreshToken); err != nil {
		t.Errorf("revoke: %v", err)
	}
}

func TestSimRevokeAlreadyInvalid(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, _, tok := e.connect(t, "eu", zoho.Production)
	ctx := context.Background()
	if err := e.cfg.Revoke(ctx, dc, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for name, revoke := range map[string]func() error{
		"again":   func() error { return e.cfg.Revoke(ctx, dc, tok.RefreshToken) },
		"unknown": func() error { return e.cfg.Revoke(ctx, dc, "1000.not-a-real-token-0123456789") },
		"other DC": func() error {
			_, _, t2 := e.connect(t, "in", zoho.Production)
			return e.cfg.Revoke(ctx, dc, t2.RefreshToken)
		},
	} {
		err := revoke()
		var oe *zoho.OAuthError
		if !errors.Is(err, zoho.ErrTokenAlreadyInvalid) || !errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) ||
			!errors.As(err, &oe) || oe.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: err = %v", name, err)
		}
		assertClean(t, err, tok.RefreshToken.Reveal(), "1000.not-a-real-token-0123456789")
	}
	if n := e.sim.Stats().Revocations; n != 1 {
		t.Errorf("%d revocations", n)
	}
}

func TestSimInvalidTokenCodes(t *testing.T) {
	for _, code := range []string{"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"} {
		t.Run(code, func(t *testing.T) {
			e := startSim(t, zohosim.Options{InvalidTokenCode: code})
			dc, _, tok := e.connect(t, "au", zoho.Sandbox)
			e.sim.ExpireAccessTokens()
			_, err := e.client(dc, zoho.Sandbox, tok).Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
			var ae *zoho.APIError
			if !errors.Is(err, zoho.ErrInvalidToken) || zoho.Retryable(err) || !errors.As(err, &ae) || ae.Code != code {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestSimDuplicateData(t *testing.T) {
	for _, shape := range []string{zohosim.DuplicateRecordDetails, zohosim.DuplicateIDDetails} {
		t.Run(shape, func(t *testing.T) {
			e := startSim(t, zohosim.Options{DuplicateDetails: shape})
			dc, u, tok := e.connect(t, "eu", zoho.Production)
			c := e.client(dc, zoho.Production, tok)
			ctx := context.Background()
			if err := e.sim.SetUnique(u.Orgs[0].ID, "Leads", "Email", false); err != nil {
				t.Fatal(err)
			}
			first, err := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Ada", "Email": "ada@example.com"}}, nil)
			if err != nil || !first[0].OK() {
				t.Fatalf("%v, %v", first, err)
			}
			opts := &zoho.WriteOptions{DuplicateCheckFields: []string{"Email"}}
			res, err := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Ada", "Email": "ADA@example.com"}, {"Last_Name": "Bob", "Email": "bob@example.com"}}, opts)
			if err != nil || len(res) != 2 {
				t.Fatalf("%v, %v", res, err)
			}
			d := res[0]
			if !d.Duplicate() || d.ID != first[0].ID || d.Field != "Email" {
				t.Errorf("duplicate: %+v", d)
			}
			if wantModule := map[string]string{zohosim.DuplicateRecordDetails: "Leads"}[shape]; d.DuplicateModule != wantModule || (wantModule != "") != (d.DuplicateOwnerID != "") {
				t.Errorf("duplicate module %q owner %q", d.DuplicateModule, d.DuplicateOwnerID)
			}
			if !res[1].OK() || res[1].Duplicate() {
				t.Errorf("second record: %+v", res[1])
			}
			// Without the check, this org (Email not unique) takes a duplicate.
			if res, err := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Ada", "Email": "ada@example.com"}}, nil); err != nil || !res[0].OK() {
				t.Errorf("plain insert: %+v, %v", res, err)
			}
			if n := len(e.sim.Records(u.Orgs[0].ID, "Leads")); n != 3 {
				t.Errorf("%d leads", n)
			}
		})
	}
}

func TestSimAddNote(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, u, tok := e.connect(t, "in", zoho.Production)
	c := e.client(dc, zoho.Production, tok)
	ctx := context.Background()
	lead, err := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Ada", "Email": "ada@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Ada", "Email": "ada@example.com", "Phone": "+91 1"}}, nil)
	if err != nil || !dup[0].Duplicate() {
		t.Fatalf("%+v, %v", dup, err)
	}
	// The duplicate keeps its data and gets a note of the submission.
	res, err := c.AddNote(ctx, "Leads", dup[0].ID, "Form submission", "Phone: +91 1")
	if err != nil || !res.OK() || res.ID == "" {
		t.Fatalf("%+v, %v", res, err)
	}
	notes := e.sim.Notes(u.Orgs[0].ID)
	if len(notes) != 1 || notes[0].ID != res.ID || notes[0].ParentID != lead[0].ID || notes[0].ParentModule != "Leads" ||
		notes[0].Title != "Form submission" || notes[0].Content != "Phone: +91 1" {
		t.Errorf("notes %+v", notes)
	}
	if recs := e.sim.Records(u.Orgs[0].ID, "Leads"); len(recs) != 1 || recs[0]["Phone"] != nil {
		t.Errorf("the lead changed: %v", recs)
	}
	res, err = c.AddNote(ctx, "Contacts", lead[0].ID, "", "x")
	if err != nil || res.OK() || res.Code != "INVALID_DATA" || res.Field != "Parent_Id" {
		t.Errorf("note on a record that is not there: %+v, %v", res, err)
	}
}

func TestSimFields(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, u, tok := e.connect(t, "jp", zoho.Production)
	if err := e.sim.AddField(u.Orgs[0].ID, "Contacts", zohosim.Field{APIName: "Budget", DataType: "currency"}); err != nil {
		t.Fatal(err)
	}
	fields, err := e.client(dc, zoho.Production, tok).Fields(context.Background(), "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]zoho.Field{}
	for _, f := range fields {
		byName[f.APIName] = f
	}
	for name, want := range map[string]struct{ scalar, readOnly, mandatory, custom, unique bool }{
		"Last_Name":     {scalar: true, mandatory: true},
		"Email":         {scalar: true, unique: true},
		"Email_Opt_Out": {scalar: true},
		"Account_Name":  {},
		"Owner":         {},
		"Layout":        {},
		"Tag":           {},
		"Created_By":    {readOnly: true},
		"Modified_Time": {scalar: true, readOnly: true},
		"Budget":        {scalar: true, custom: true},
	} {
		f, ok := byName[name]
		if !ok || f.Scalar() != want.scalar || f.ReadOnly != want.readOnly || f.SystemMandatory != want.mandatory || f.Custom != want.custom || f.Unique != want.unique {
			t.Errorf("%s: %+v (scalar %v), want %+v", name, f, f.Scalar(), want)
		}
	}
	if f := byName["Account_Name"]; f.DataType != "lookup" || f.LookupModule != "Accounts" {
		t.Errorf("Account_Name %+v", f)
	}
	if f := byName["Lead_Source"]; f.DataType != "picklist" || len(f.PickListValues) == 0 {
		t.Errorf("Lead_Source %+v", f)
	}

	// The project's connect scopes lack ZohoCRM.settings: Zoho refuses.
	code, _ := e.sim.IssueCodeScope(simClientID, u.Email, u.Orgs[0].ID, "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ")
	narrow, err := e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(dc, zoho.Production, narrow).Fields(context.Background(), "Contacts"); !errors.Is(err, zoho.ErrScopeMismatch) {
		t.Errorf("without a settings scope: %v", err)
	}
}

// TestSimEditionLimits: what pkg/zoho reads from the Organization API
// agrees with the limits the simulator applies (two tables, kept apart).
func TestSimEditionLimits(t *testing.T) {
	e := startSim(t, zohosim.Options{Limits: zohosim.Limits{GrantCodesPer10Min: -1}})
	for _, o := range []zohosim.Org{
		{Edition: "Free"}, {Edition: "Standard", Users: 3}, {Edition: "Standard", Users: 1000}, {Edition: "Professional", Users: 25},
		{Edition: "Enterprise"}, {Edition: "Enterprise", Users: 5000}, {Edition: "Ultimate", Users: 7}, {Edition: "Developer"},
	} {
		u := e.sim.AddUser(zohosim.User{Location: "us", Orgs: []zohosim.Org{o}})
		code, _ := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
		dc := mustDC(t, "us")
		tok, err := e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
		if err != nil {
			t.Fatal(err)
		}
		org, err := e.client(dc, zoho.Production, tok).Org(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st := e.sim.OrgStats(u.Orgs[0].ID)
		if org.ConcurrencyLimit() != st.Concurrency || org.DailyCredits() != st.CreditLimit || org.UserLicenses != u.Orgs[0].Users {
			t.Errorf("%s/%d users: client sees concurrency %d, credits %d; simulator applies %d, %d",
				o.Edition, u.Orgs[0].Users, org.ConcurrencyLimit(), org.DailyCredits(), st.Concurrency, st.CreditLimit)
		}
	}
}

func TestSimLimitsAnswerTooManyRequests(t *testing.T) {
	e := startSim(t, zohosim.Options{CRMLatency: 500 * time.Millisecond, Limits: zohosim.Limits{GrantCodesPer10Min: -1}})
	u := e.sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Edition: "Free"}}})
	code, _ := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	dc := mustDC(t, "eu")
	tok, err := e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(dc, zoho.Production, tok)
	errs := make(chan error, 7)
	start := make(chan struct{})
	for i := range 7 {
		go func() {
			<-start
			_, err := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": fmt.Sprint("L", i)}}, nil)
			errs <- err
		}()
	}
	close(start)
	ok, limited := 0, 0
	for range 7 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, zoho.ErrTooManyRequests) && zoho.Retryable(err) && !errors.Is(err, zoho.ErrUnavailable):
			limited++
		default:
			t.Errorf("err = %v", err)
		}
	}
	if ok != 5 || limited != 2 || e.sim.OrgStats(u.Orgs[0].ID).MaxConcurrent != 5 {
		t.Errorf("%d ok, %d limited, stats %+v", ok, limited, e.sim.OrgStats(u.Orgs[0].ID))
	}

	u = e.sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Credits: 1}}})
	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	tok, err = e.cfg.Exchange(context.Background(), dc, zoho.Secret(code))
	if err != nil {
		t.Fatal(err)
	}
	c = e.client(dc, zoho.Production, tok)
	if _, err := c.Org(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(context.Background())
	if !errors.Is(err, zoho.ErrTooManyRequests) || !zoho.Retryable(err) {
		t.Errorf("out of credits: %v", err)
	}
}
