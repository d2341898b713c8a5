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
		ClientSecrets: map[string]string{"eu": simEUSecret},
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
	tok, err := e.cfg.Exchange(context.Background(), dc, code)
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
					if got := reqs[0].Form.Get("client_secret"); got != e.cfg.SecretFor(dc) {
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
	if _, err := e.cfg.Exchange(ctx, dc, code); err != nil {
		t.Fatal(err)
	}
	_, err := e.cfg.Exchange(ctx, dc, code)
	if !errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("reused code: err = %v", err)
	}
	assertClean(t, err, code, simEUSecret)

	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	e.sim.Advance(61 * time.Second)
	e.sim.ResetRequests()
	_, err = e.cfg.Exchange(ctx, dc, code)
	if !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("code after 61 s: err = %v", err)
	}
	if n := len(e.sim.Requests()); n != 1 {
		t.Errorf("%d requests for one exchange", n)
	}

	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if _, err := e.cfg.Exchange(ctx, mustDC(t, "us"), code); !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("code at another DC: err = %v", err)
	}
}

func TestSimPerDataCenterSecret(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	u := e.sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{}}})
	noEU := *e.cfg
	noEU.ClientSecrets = nil
	code, _ := e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	_, err := noEU.Exchange(context.Background(), mustDC(t, "eu"), code)
	if !errors.Is(err, zoho.ErrInvalidClient) || errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("default secret in eu: err = %v", err)
	}
	var oe *zoho.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client_secret" {
		t.Errorf("err = %#v", err)
	}
	assertClean(t, err, code, simSecret, simEUSecret)

	// The code was not consumed by the failed attempt.
	if _, err := e.cfg.Exchange(context.Background(), mustDC(t, "eu"), code); err != nil {
		t.Errorf("with the eu secret: %v", err)
	}

	wrongID := *e.cfg
	wrongID.ClientID = "1000.NOPE"
	code, _ = e.sim.IssueCode(simClientID, u.Email, u.Orgs[0].ID)
	if _, err := wrongID.Exchange(context.Background(), mustDC(t, "eu"), code); !errors.Is(err, zoho.ErrInvalidClient) {
		t.Errorf("unknown client: err = %v", err)
	}
	wrongRedirect := *e.cfg
	wrongRedirect.RedirectURL = "https://evil.example/cb"
	_, err = wrongRedirect.Exchange(context.Background(), mustDC(t, "eu"), code)
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
			assertClean(t, err, tok.RefreshToken, simSecret)
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
					_, err = e.cfg.Exchange(ctx, dc, code)
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
				assertClean(t, err, code, tok.RefreshToken, "1000.not-a-real-token-0123456789", simSecret)
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
	if len(reqs) != 1 || reqs[0].Host != "accounts.zohocloud.ca" || reqs[0].Path != "/oauth/v2/token/revoke" || reqs[0].Query.Get("token") != tok.RefreshToken || reqs[0].Method != http.MethodPost {
		t.Errorf("requests = %+v", reqs)
	}
	if e.sim.RefreshTokenActive(tok.RefreshToken) {
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
	e.sim.RevokeRefreshToken(tok.RefreshToken)
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
	assertClean(t, err, tok.AccessToken)
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
	tok, err := e.cfg.Exchange(context.Background(), dc, code)
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
	assertClean(t, err, tok.AccessToken)
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
		assertClean(t, err, tok.RefreshToken, tok.AccessToken, simSecret)
		if strings.Contains(fmt.Sprintf("%+v %#v", err, err), tok.RefreshToken) {
			t.Errorf("formatted error holds the refresh token")
		}
	}
}
