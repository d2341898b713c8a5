package zoho_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// These tests pin the body shapes of zoho-facts.md with tiny handlers; the
// simulator-based tests (sim_test.go) cover the flows.

const (
	testSecret  = "client-secret-0123456789"
	testCode    = "1000.grantcode.abcdef0123456789"
	testRefresh = "1000.refresh.abcdef0123456789"
	testAccess  = "1000.access.abcdef0123456789"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

type canned struct {
	status int
	body   string
}

type fakeAccounts struct {
	srv   *httptest.Server
	calls atomic.Int64
	last  atomic.Pointer[http.Request]
	form  atomic.Pointer[url.Values]
}

func newFakeAccounts(t *testing.T, answer canned) (*fakeAccounts, *zoho.Config) {
	t.Helper()
	f := &fakeAccounts{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		r.ParseForm()
		form := r.PostForm
		f.form.Store(&form)
		f.last.Store(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answer.status)
		io.WriteString(w, answer.body)
	}))
	t.Cleanup(f.srv.Close)
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return f, &zoho.Config{
		ClientID:      "1000.CLIENTID",
		ClientSecret:  testSecret,
		ClientSecrets: map[string]zoho.Secret{"eu": "eu-secret-0123456789"},
		RedirectURL:   "https://example.com/oauth/callback",
		Scopes:        []string{"ZohoCRM.modules.ALL", "ZohoCRM.org.READ"},
		HTTPClient:    hc,
		Now:           func() time.Time { return t0 },
	}
}

func mustDC(t *testing.T, loc string) zoho.DataCenter {
	t.Helper()
	dc, err := zoho.ByLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// assertClean fails when err's message holds a secret.
func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("assertClean: empty secret")
		}
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}

func TestAuthCodeURL(t *testing.T) {
	c := &zoho.Config{ClientID: "1000.ID", RedirectURL: "https://x.example/oauth/callback?a=b", Scopes: []string{"ZohoCRM.modules.ALL", "ZohoCRM.org.READ", "ZohoCRM.users.READ"}}
	got := c.AuthCodeURL("st&ate=1", mustDC(t, "eu"))
	want := "https://accounts.zoho.com/oauth/v2/auth?scope=ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ" +
		"&client_id=1000.ID&response_type=code&access_type=offline&prompt=consent" +
		"&redirect_uri=https%3A%2F%2Fx.example%2Foauth%2Fcallback%3Fa%3Db&state=st%26ate%3D1"
	if got != want {
		t.Errorf("AuthCodeURL =\n %s\nwant\n %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != "st&ate=1" || q.Get("redirect_uri") != c.RedirectURL || q.Get("scope") != "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ" {
		t.Errorf("query does not round-trip: %v", q)
	}
	if cn := c.AuthCodeURL("s", mustDC(t, "cn")); !strings.HasPrefix(cn, "https://accounts.zoho.com.cn/oauth/v2/auth?") {
		t.Errorf("China starts at %s", cn)
	}
}

func TestSecretFor(t *testing.T) {
	c := &zoho.Config{ClientSecret: "default", ClientSecrets: map[string]zoho.Secret{"eu": "eu", "in": ""}}
	for loc, want := range map[string]string{"eu": "eu", "us": "default", "in": "default"} {
		if got := c.SecretFor(mustDC(t, loc)).Reveal(); got != want {
			t.Errorf("SecretFor(%s) = %q, want %q", loc, got, want)
		}
	}
}

func TestExchangeShapes(t *testing.T) {
	tests := []struct {
		name      string
		answer    canned
		wantTTL   time.Duration
		wantErr   []error
		notErr    []error
		retryable bool
	}{
		{"success", canned{200, `{"access_token":"` + testAccess + `","refresh_token":"` + testRefresh + `","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}`}, time.Hour, nil, nil, false},
		{"legacy expiry", canned{200, `{"access_token":"` + testAccess + `","refresh_token":"` + testRefresh + `","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in_sec":3600,"expires_in":3600000}`}, time.Hour, nil, nil, false},
		{"string expiry", canned{200, `{"access_token":"` + testAccess + `","refresh_token":"` + testRefresh + `","expires_in":"1800"}`}, 30 * time.Minute, nil, nil, false},
		{"no expiry", canned{200, `{"access_token":"` + testAccess + `","refresh_token":"` + testRefresh + `"}`}, time.Hour, nil, nil, false},
		{"success under 500", canned{500, `{"access_token":"` + testAccess + `","expires_in":3600}`}, time.Hour, nil, nil, false},
		{"invalid_code 200", canned{200, `{"error":"invalid_code"}`}, 0, []error{zoho.ErrInvalidCode}, []error{zoho.ErrInvalidClient, zoho.ErrUnavailable}, false},
		{"invalid_code 400", canned{400, `{"error":"invalid_code"}`}, 0, []error{zoho.ErrInvalidCode}, nil, false},
		{"invalid_code 500", canned{500, `{"error":"invalid_code"}`}, 0, []error{zoho.ErrInvalidCode}, []error{zoho.ErrUnavailable}, false},
		{"invalid_client", canned{200, `{"error":"invalid_client"}`}, 0, []error{zoho.ErrInvalidClient}, []error{zoho.ErrInvalidCode, zoho.ErrInvalidRedirectURI}, false},
		{"invalid_client_secret", canned{200, `{"error":"invalid_client_secret"}`}, 0, []error{zoho.ErrInvalidClient}, []error{zoho.ErrInvalidRedirectURI}, false},
		{"invalid_redirect_uri", canned{200, `{"error":"invalid_redirect_uri"}`}, 0, []error{zoho.ErrInvalidClient, zoho.ErrInvalidRedirectURI}, nil, false},
		{"rate limit 200", canned{200, `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`}, 0, []error{zoho.ErrRateLimited}, []error{zoho.ErrUnavailable, zoho.ErrInvalidClient}, true},
		{"rate limit 400", canned{400, `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`}, 0, []error{zoho.ErrRateLimited}, nil, true},
		{"429 html", canned{429, `<html>slow down</html>`}, 0, []error{zoho.ErrRateLimited}, nil, true},
		{"502 html", canned{502, `<html>bad gateway</html>`}, 0, []error{zoho.ErrUnavailable}, []error{zoho.ErrInvalidCode}, true},
		{"503 json unknown", canned{503, `{"error":"server_error"}`}, 0, []error{zoho.ErrUnavailable}, nil, true},
		{"500 empty", canned{500, ``}, 0, []error{zoho.ErrUnavailable}, nil, true},
		{"200 html", canned{200, `<html>hello</html>`}, 0, nil, []error{zoho.ErrUnavailable, zoho.ErrInvalidCode}, false},
		{"200 empty object", canned{200, `{}`}, 0, nil, []error{zoho.ErrUnavailable, zoho.ErrInvalidCode}, false},
		{"unknown error", canned{400, `{"error":"something_new"}`}, 0, nil, []error{zoho.ErrUnavailable, zoho.ErrInvalidCode, zoho.ErrInvalidClient}, false},
		{"echoing description", canned{200, `{"error":"invalid_code","error_description":"code ` + testCode + ` with secret eu-secret-0123456789"}`}, 0, []error{zoho.ErrInvalidCode}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeAccounts(t, tt.answer)
			tok, err := c.Exchange(context.Background(), mustDC(t, "eu"), testCode)
			assertClean(t, err, testCode, "eu-secret-0123456789", testSecret)
			if f.calls.Load() != 1 {
				t.Errorf("%d requests, want exactly 1 (an exchange is never retried)", f.calls.Load())
			}
			if r := f.last.Load(); r != nil {
				if r.Host != "accounts.zoho.eu" || r.URL.Path != "/oauth/v2/token" || r.Method != http.MethodPost || r.URL.RawQuery != "" {
					t.Errorf("request %s %s %s?%s", r.Method, r.Host, r.URL.Path, r.URL.RawQuery)
				}
				form := *f.form.Load()
				want := url.Values{"grant_type": {"authorization_code"}, "code": {testCode}, "client_id": {"1000.CLIENTID"},
					"client_secret": {"eu-secret-0123456789"}, "redirect_uri": {"https://example.com/oauth/callback"}}
				if form.Encode() != want.Encode() {
					t.Errorf("form = %v, want %v", form, want)
				}
			}
			if tt.wantTTL != 0 {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if tok.AccessToken != testAccess || !tok.Expiry.Equal(t0.Add(tt.wantTTL)) {
					t.Errorf("token %+v, want expiry %v", tok, t0.Add(tt.wantTTL))
				}
				return
			}
			if err == nil {
				t.Fatalf("Exchange succeeded: %+v", tok)
			}
			var oe *zoho.OAuthError
			if !errors.As(err, &oe) || oe.Op != "exchange" || oe.StatusCode != tt.answer.status {
				t.Errorf("err = %#v, want an *OAuthError for exchange with status %d", err, tt.answer.status)
			}
			for _, target := range tt.wantErr {
				if !errors.Is(err, target) {
					t.Errorf("err %v is not %v", err, target)
				}
			}
			for _, target := range tt.notErr {
				if errors.Is(err, target) {
					t.Errorf("err %v is %v", err, target)
				}
			}
			if zoho.Retryable(err) != tt.retryable {
				t.Errorf("Retryable(%v) = %v", err, !tt.retryable)
			}
		})
	}
}

func TestExchangeSuccessFields(t *testing.T) {
	_, c := newFakeAccounts(t, canned{200, `{"access_token":"a","refresh_token":"r","api_domain":"https://www.zohoapis.com","token_type":"Bearer","scope":"ZohoCRM.org.READ","expires_in":3600}`})
	tok, err := c.Exchange(context.Background(), mustDC(t, "us"), testCode)
	if err != nil {
		t.Fatal(err)
	}
	want := zoho.Token{AccessToken: "a", RefreshToken: "r", TokenType: "Bearer", APIDomain: "https://www.zohoapis.com", Scope: "ZohoCRM.org.READ", Expiry: t0.Add(time.Hour)}
	if *tok != want {
		t.Errorf("token = %+v, want %+v", *tok, want)
	}
}

func TestRefreshShapes(t *testing.T) {
	f, c := newFakeAccounts(t, canned{200, `{"access_token":"` + testAccess + `","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}`})
	tok, err := c.Refresh(context.Background(), mustDC(t, "us"), testRefresh)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != testRefresh || tok.AccessToken != testAccess || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Errorf("token = %+v", tok)
	}
	form := *f.form.Load()
	want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {testRefresh}, "client_id": {"1000.CLIENTID"}, "client_secret": {testSecret}}
	if form.Encode() != want.Encode() {
		t.Errorf("form = %v, want %v", form, want)
	}

	_, c = newFakeAccounts(t, canned{200, `{"error":"invalid_code"}`})
	_, err = c.Refresh(context.Background(), mustDC(t, "us"), testRefresh)
	if !errors.Is(err, zoho.ErrInvalidCode) || zoho.Retryable(err) {
		t.Errorf("revoked refresh token: err = %v", err)
	}
	assertClean(t, err, testRefresh, testSecret)
	var oe *zoho.OAuthError
	if !errors.As(err, &oe) || oe.Op != "refresh" {
		t.Errorf("err = %#v", err)
	}
}

func TestRevokeShapes(t *testing.T) {
	f, c := newFakeAccounts(t, canned{200, `{"status":"success"}`})
	if err := c.Revoke(context.Background(), mustDC(t, "ca"), testRefresh); err != nil {
		t.Fatal(err)
	}
	r := f.last.Load()
	if r.Host != "accounts.zohocloud.ca" || r.URL.Path != "/oauth/v2/token/revoke" || r.URL.Query().Get("token") != testRefresh || r.Method != http.MethodPost {
		t.Errorf("request %s %s %s", r.Method, r.Host, r.URL)
	}
	if form := *f.form.Load(); form.Get("client_secret") != "" {
		t.Errorf("revoke sent the client secret")
	}
	for _, a := range []canned{{200, `{"status":"failure"}`}, {400, `{"error":"invalid_code"}`}, {503, `oops`}, {200, `nope`}} {
		_, c := newFakeAccounts(t, a)
		err := c.Revoke(context.Background(), mustDC(t, "us"), testRefresh)
		if err == nil {
			t.Errorf("%v: no error", a)
		}
		assertClean(t, err, testRefresh)
		if (a.status == 503) != errors.Is(err, zoho.ErrUnavailable) {
			t.Errorf("%v: err = %v", a, err)
		}
	}
}

// TestNetworkErrorsScrubbed: net/http puts the URL in its errors, and
// Revoke's URL holds the refresh token.
func TestNetworkErrorsScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	hc, _ := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	c := &zoho.Config{ClientID: "id", ClientSecret: testSecret, HTTPClient: hc}
	ctx := context.Background()
	errs := map[string]error{}
	errs["revoke"] = c.Revoke(ctx, mustDC(t, "eu"), testRefresh)
	_, errs["refresh"] = c.Refresh(ctx, mustDC(t, "eu"), testRefresh)
	_, errs["exchange"] = c.Exchange(ctx, mustDC(t, "eu"), testCode)
	for op, err := range errs {
		if !errors.Is(err, zoho.ErrUnavailable) || !zoho.Retryable(err) {
			t.Errorf("%s: err = %v, want ErrUnavailable", op, err)
		}
		assertClean(t, err, testRefresh, testCode, testSecret)
		if !strings.Contains(err.Error(), op) {
			t.Errorf("%s: error %q does not name the operation", op, err)
		}
	}
}

func TestDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	hc, _ := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	c := &zoho.Config{ClientID: "id", ClientSecret: testSecret, HTTPClient: hc}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Refresh(ctx, mustDC(t, "eu"), testRefresh)
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if !errors.Is(err, zoho.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !zoho.Retryable(err) {
		t.Errorf("err = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	assertClean(t, err, testRefresh, testSecret)
}

func TestOversizedBody(t *testing.T) {
	_, c := newFakeAccounts(t, canned{200, `{"access_token":"` + strings.Repeat("a", 2<<20) + `"}`})
	if _, err := c.Refresh(context.Background(), mustDC(t, "us"), testRefresh); err == nil {
		t.Error("a 2 MiB body was accepted")
	}
}

func TestHandMadeDataCenterRefused(t *testing.T) {
	f, c := newFakeAccounts(t, canned{200, `{"access_token":"a"}`})
	evil := mustDC(t, "eu")
	evil.AccountsHost = "accounts.zoho.com" // a real host, but not eu's
	if _, err := c.Exchange(context.Background(), evil, testCode); err == nil {
		t.Error("Exchange accepted a hand-made DC")
	}
	if _, err := c.Exchange(context.Background(), zoho.DataCenter{}, testCode); !errors.Is(err, zoho.ErrUnknownLocation) {
		t.Errorf("zero DC: err = %v", err)
	}
	if err := c.Revoke(context.Background(), evil, testRefresh); err == nil {
		t.Error("Revoke accepted a hand-made DC")
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d requests sent", f.calls.Load())
	}
}

func TestEmptyInputs(t *testing.T) {
	f, c := newFakeAccounts(t, canned{200, `{"access_token":"a"}`})
	if _, err := c.Exchange(context.Background(), mustDC(t, "us"), ""); !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("empty code: %v", err)
	}
	if _, err := c.Refresh(context.Background(), mustDC(t, "us"), ""); !errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("empty refresh token: %v", err)
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d requests sent", f.calls.Load())
	}
}

func TestTokenValidity(t *testing.T) {
	now := t0
	tok := &zoho.Token{AccessToken: "a", Expiry: now.Add(time.Minute)}
	if !tok.ValidAt(now) || tok.ValidAt(now.Add(55*time.Second)) {
		t.Error("ValidAt does not keep a 10 s margin")
	}
	if tok.ExpiresBy(now.Add(59*time.Second)) || !tok.ExpiresBy(now.Add(time.Minute)) {
		t.Error("ExpiresBy wrong at the boundary")
	}
	if (&zoho.Token{AccessToken: "a", Expiry: time.Now().Add(time.Hour)}).ExpiresWithin(time.Minute) {
		t.Error("ExpiresWithin: an hour-long token expires within a minute")
	}
	if !(&zoho.Token{AccessToken: "a", Expiry: time.Now().Add(time.Minute)}).ExpiresWithin(5 * time.Minute) {
		t.Error("ExpiresWithin: a minute-long token does not expire within 5")
	}
	var nilTok *zoho.Token
	if nilTok.Valid() || !nilTok.ExpiresWithin(0) {
		t.Error("nil token")
	}
	if (&zoho.Token{Expiry: now.Add(time.Hour)}).ValidAt(now) {
		t.Error("token without access token is valid")
	}
	if !(&zoho.Token{AccessToken: "a"}).Valid() {
		t.Error("token without expiry is not valid")
	}
}

func TestOAuthErrorMessage(t *testing.T) {
	e := &zoho.OAuthError{Op: "refresh", StatusCode: 200, Code: "invalid_code", Description: "d"}
	if got := e.Error(); got != "zoho: refresh: invalid_code (HTTP 200): d" {
		t.Errorf("Error() = %q", got)
	}
	if zoho.Retryable(nil) || zoho.Retryable(errors.New("x")) || zoho.Retryable(e) {
		t.Error("Retryable of a non-retryable error")
	}
}

// TestRevokeAlreadyInvalid: Zoho refuses to revoke an invalid or already
// revoked token with HTTP 400 (body undocumented). A disconnect must see
// that as done: ErrTokenAlreadyInvalid (and ErrInvalidCode), never
// retryable. Other refusals keep their meaning.
func TestRevokeAlreadyInvalid(t *testing.T) {
	tests := []struct {
		name    string
		answer  canned
		already bool
		want    error // another sentinel it must match
	}{
		{"400 invalid_code", canned{400, `{"error":"invalid_code"}`}, true, nil},
		{"400 invalid_token", canned{400, `{"error":"invalid_token","status":"failure"}`}, true, nil},
		{"400 status failure", canned{400, `{"status":"failure"}`}, true, nil},
		{"400 empty object", canned{400, `{}`}, true, nil},
		{"400 empty body", canned{400, ``}, true, nil},
		{"400 html", canned{400, `<html>Bad Request</html>`}, true, nil},
		{"200 invalid_code", canned{200, `{"error":"invalid_code"}`}, true, nil},
		{"400 rate limit", canned{400, `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`}, false, zoho.ErrRateLimited},
		{"400 invalid_client", canned{400, `{"error":"invalid_client"}`}, false, zoho.ErrInvalidClient},
		{"503", canned{503, `oops`}, false, zoho.ErrUnavailable},
		{"200 failure", canned{200, `{"status":"failure"}`}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFakeAccounts(t, tt.answer)
			err := c.Revoke(context.Background(), mustDC(t, "eu"), testRefresh)
			if err == nil {
				t.Fatal("no error")
			}
			assertClean(t, err, testRefresh)
			if errors.Is(err, zoho.ErrTokenAlreadyInvalid) != tt.already || errors.Is(err, zoho.ErrInvalidCode) != tt.already {
				t.Errorf("err = %v: already invalid %v, want %v", err, errors.Is(err, zoho.ErrTokenAlreadyInvalid), tt.already)
			}
			if tt.already && zoho.Retryable(err) {
				t.Errorf("err = %v is retryable", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Only a revoke: a 400 from the token endpoint means something else.
	_, c := newFakeAccounts(t, canned{400, `{}`})
	if _, err := c.Refresh(context.Background(), mustDC(t, "eu"), testRefresh); errors.Is(err, zoho.ErrTokenAlreadyInvalid) || errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("refresh 400: %v", err)
	}
}

// TestUnconfirmedDataCenterOAuth: UK's accounts server is Zoho's listed
// one, so refresh and revoke go there; but no code is exchanged for a
// token that could only be used on unconfirmed API hosts.
func TestUnconfirmedDataCenterOAuth(t *testing.T) {
	uk := mustDC(t, "uk")
	f, c := newFakeAccounts(t, canned{200, `{"access_token":"` + testAccess + `","refresh_token":"` + testRefresh + `","expires_in":3600}`})
	_, err := c.Exchange(context.Background(), uk, testCode)
	if !errors.Is(err, zoho.ErrUnconfirmedDataCenter) || zoho.Retryable(err) || errors.Is(err, zoho.ErrInvalidCode) {
		t.Errorf("exchange: %v", err)
	}
	assertClean(t, err, testCode, testSecret)
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if _, err := c.Refresh(context.Background(), uk, testRefresh); err != nil {
		t.Errorf("refresh: %v", err)
	}
	if r := f.last.Load(); r == nil || r.Host != "accounts.zoho.uk" {
		t.Errorf("refresh went to %v", r)
	}

	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: f.srv.URL, AllowUnconfirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	enabled := *c
	enabled.HTTPClient = hc
	if tok, err := enabled.Exchange(context.Background(), uk, testCode); err != nil || tok.AccessToken != testAccess {
		t.Errorf("enabled exchange: %v", err)
	}
}
