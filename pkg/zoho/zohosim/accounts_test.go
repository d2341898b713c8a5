package zohosim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCodeExchange(t *testing.T) {
	tests := []struct {
		name      string
		opts      func(*Options)
		host      string
		form      func(f *fixture) url.Values
		wantCode  int
		wantError string // "" = success
	}{
		{name: "success", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values { return exchangeForm(f.code(eva, evaProd)) }},
		{name: "params in the query string work too", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values { return exchangeForm(f.code(eva, evaProd)) }},
		{name: "unknown code", host: "accounts.zoho.eu",
			form:      func(f *fixture) url.Values { return exchangeForm("1000.nope.nope") },
			wantError: "invalid_code"},
		{name: "unknown client", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(eva, evaProd))
				v.Set("client_id", "1000.OTHER")
				return v
			},
			wantError: "invalid_client"},
		{name: "wrong secret", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(eva, evaProd))
				v.Set("client_secret", "wrong")
				return v
			},
			wantError: "invalid_client_secret"},
		{name: "per-DC secret: cn secret at cn", host: "accounts.zoho.com.cn",
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(li, liProd))
				v.Set("client_secret", cnSecret)
				return v
			}},
		{name: "per-DC secret: default secret at cn", host: "accounts.zoho.com.cn",
			form:      func(f *fixture) url.Values { return exchangeForm(f.code(li, liProd)) },
			wantError: "invalid_client_secret"},
		{name: "redirect not registered", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(eva, evaProd))
				v.Set("redirect_uri", "https://evil.example/cb")
				return v
			},
			wantError: "invalid_redirect_uri"},
		{name: "client without registered redirects accepts any", host: "accounts.zoho.eu",
			opts: func(o *Options) { o.Clients[0].RedirectURIs = nil },
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(eva, evaProd))
				v.Set("redirect_uri", "https://anything.example/cb")
				return v
			}},
		{name: "wrong DC accounts server", host: "accounts.zoho.com",
			form:      func(f *fixture) url.Values { return exchangeForm(f.code(eva, evaProd)) },
			wantError: "invalid_code"},
		{name: "CA code at zohocloud.ca", host: "accounts.zohocloud.ca",
			form: func(f *fixture) url.Values { return exchangeForm(f.code(noah, noahProd)) }},
		{name: "59 s old code is valid", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				c := f.code(eva, evaProd)
				f.s.Advance(59 * time.Second)
				return exchangeForm(c)
			}},
		{name: "61 s old code expired", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				c := f.code(eva, evaProd)
				f.s.Advance(61 * time.Second)
				return exchangeForm(c)
			},
			wantError: "invalid_code"},
		{name: "GrantCodeTTL option", host: "accounts.zoho.eu",
			opts: func(o *Options) { o.Limits.GrantCodeTTL = 3 * time.Minute },
			form: func(f *fixture) url.Values {
				c := f.code(eva, evaProd)
				f.s.Advance(2 * time.Minute)
				return exchangeForm(c)
			}},
		{name: "used code", host: "accounts.zoho.eu",
			form: func(f *fixture) url.Values {
				v := exchangeForm(f.code(eva, evaProd))
				if _, body := f.token("accounts.zoho.eu", v); body["access_token"] == nil {
					f.t.Fatalf("first exchange failed: %v", body)
				}
				return v
			},
			wantError: "invalid_code"},
		{name: "ErrorStatus option", host: "accounts.zoho.eu",
			opts:     func(o *Options) { o.ErrorStatus = 400 },
			form:     func(f *fixture) url.Values { return exchangeForm("1000.nope.nope") },
			wantCode: 400, wantError: "invalid_code"},
		{name: "unsupported grant type", host: "accounts.zoho.eu",
			form:      func(f *fixture) url.Values { return url.Values{"grant_type": {"password"}} },
			wantError: "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			form := tc.form(f)
			var status int
			var body map[string]any
			if strings.HasPrefix(tc.name, "params in the query") {
				status, body = f.call(http.MethodPost, tc.host, "/oauth/v2/token?"+form.Encode(), "", "", nil)
			} else {
				status, body = f.token(tc.host, form)
			}
			want := tc.wantCode
			if want == 0 {
				want = 200
			}
			if status != want {
				t.Errorf("status %d, want %d (%v)", status, want, body)
			}
			if tc.wantError != "" {
				if body["error"] != tc.wantError || body["access_token"] != nil {
					t.Errorf("body %v, want error %q", body, tc.wantError)
				}
				return
			}
			for _, k := range []string{"access_token", "refresh_token"} {
				v, _ := body[k].(string)
				if parts := strings.Split(v, "."); len(parts) != 3 || parts[0] != "1000" || len(parts[1]) != 32 {
					t.Errorf("%s %q is not Zoho-shaped", k, v)
				}
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["expires_in_sec"] != nil || body["scope"] != DefaultScope {
				t.Errorf("body %v", body)
			}
		})
	}
}

func TestTokenResponseShapes(t *testing.T) {
	tests := []struct {
		name        string
		opts        func(*Options)
		accounts    string
		email, org  string
		wantDomain  string
		wantExpires float64
		wantSec     any
	}{
		{"production host by default for a sandbox", nil, "accounts.zoho.eu", eva, evaSandbox, "https://www.zohoapis.eu", 3600, nil},
		{"env host when asked", func(o *Options) { o.APIDomainNamesEnvironment = true }, "accounts.zoho.eu", eva, evaSandbox, "https://sandbox.zohoapis.eu", 3600, nil},
		{"developer env host", func(o *Options) { o.APIDomainNamesEnvironment = true }, "accounts.zoho.eu", eva, evaDev, "https://developer.zohoapis.eu", 3600, nil},
		{"CA api domain", nil, "accounts.zohocloud.ca", noah, noahProd, "https://www.zohoapis.ca", 3600, nil},
		{"US sandbox env host", func(o *Options) { o.APIDomainNamesEnvironment = true }, "accounts.zoho.com", sam, samSandbox, "https://sandbox.zohoapis.com", 3600, nil},
		{"legacy expiry", func(o *Options) { o.LegacyExpiry = true }, "accounts.zoho.eu", eva, evaProd, "https://www.zohoapis.eu", 3600000, 3600.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			_, body := f.token(tc.accounts, exchangeForm(f.code(tc.email, tc.org)))
			if body["api_domain"] != tc.wantDomain || body["expires_in"] != tc.wantExpires || body["expires_in_sec"] != tc.wantSec {
				t.Errorf("exchange: %v", body)
			}
			_, rbody := f.token(tc.accounts, refreshForm(body["refresh_token"].(string)))
			if rbody["api_domain"] != tc.wantDomain || rbody["expires_in"] != tc.wantExpires || rbody["expires_in_sec"] != tc.wantSec {
				t.Errorf("refresh: %v", rbody)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	f := newFixture(t, nil)
	_, rt := f.connect("accounts.zoho.eu", eva, evaProd)

	at, body := f.refresh(rt)
	if at == "" || body["refresh_token"] != nil || body["api_domain"] != "https://www.zohoapis.eu" {
		t.Fatalf("refresh: %v", body)
	}
	if !f.s.AccessTokenValid(at) {
		t.Error("refreshed token not valid")
	}
	// At another DC the refresh token is unknown.
	if _, body := f.token("accounts.zoho.com", refreshForm(rt)); body["error"] != "invalid_code" {
		t.Errorf("refresh at wrong DC: %v", body)
	}
	bad := refreshForm(rt)
	bad.Set("client_secret", "nope")
	if _, body := f.token("accounts.zoho.eu", bad); body["error"] != "invalid_client_secret" {
		t.Errorf("wrong secret: %v", body)
	}
	if _, body := f.token("accounts.zoho.eu", refreshForm("1000.x.y")); body["error"] != "invalid_code" {
		t.Errorf("unknown refresh token: %v", body)
	}
	if got := f.s.Stats(); got.Refreshes[rt] != 1 || got.TokenRequests["refresh_token"] != 4 || got.TokenRequests["authorization_code"] != 1 {
		t.Errorf("stats %+v", got)
	}
}

func TestRefreshRateLimitSlides(t *testing.T) {
	f := newFixture(t, nil)
	_, rt := f.connect("accounts.zoho.eu", eva, evaProd)
	for i := range 5 { // 5 at t0
		if at, body := f.refresh(rt); at == "" {
			t.Fatalf("refresh %d: %v", i, body)
		}
	}
	f.s.Advance(5 * time.Minute)
	for i := range 5 { // 5 at t0+5m
		if at, body := f.refresh(rt); at == "" {
			t.Fatalf("refresh %d: %v", 5+i, body)
		}
	}
	_, body := f.refresh(rt)
	want := "You have made too many requests continuously. Please try again after some time."
	if body["error"] != "Access Denied" || body["error_description"] != want || body["status"] != "failure" {
		t.Fatalf("11th refresh: %v", body)
	}
	f.s.Advance(5*time.Minute + time.Second) // the first five leave the window
	for i := range 5 {
		if at, body := f.refresh(rt); at == "" {
			t.Fatalf("refresh after slide %d: %v", i, body)
		}
	}
	if _, body := f.refresh(rt); body["error"] != "Access Denied" {
		t.Fatalf("window not full again: %v", body)
	}
	if n := f.s.Stats().TokenErrors["Access Denied"]; n != 2 {
		t.Errorf("Access Denied count %d", n)
	}
}

func TestSixteenthAccessTokenInvalidatesOldest(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.AccessTokensPer10Min = -1 })
	first, rt := f.connect("accounts.zoho.eu", eva, evaProd)
	tokens := []string{first}
	for range 14 {
		at, body := f.refresh(rt)
		if at == "" {
			t.Fatal(body)
		}
		tokens = append(tokens, at)
	}
	for i, at := range tokens {
		if !f.s.AccessTokenValid(at) {
			t.Fatalf("token %d invalid with 15 active", i+1)
		}
	}
	sixteenth, _ := f.refresh(rt)
	if f.s.AccessTokenValid(tokens[0]) || !f.s.AccessTokenValid(tokens[1]) || !f.s.AccessTokenValid(sixteenth) {
		t.Error("the 16th token must invalidate the oldest only")
	}
	if code, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/org", tokens[0], ""); code != 401 || body["code"] != "INVALID_TOKEN" {
		t.Errorf("oldest token at CRM: %d %v", code, body)
	}
	// Expired tokens do not count as active.
	f.s.Advance(time.Hour + time.Second)
	fresh, _ := f.refresh(rt)
	if !f.s.AccessTokenValid(fresh) {
		t.Error("fresh token invalid")
	}
}

func TestTwentyFirstRefreshTokenInvalidatesFirst(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.GrantCodesPer10Min = -1 })
	var ats, rts []string
	for range 20 {
		at, rt := f.connect("accounts.zoho.eu", eva, evaProd)
		ats, rts = append(ats, at), append(rts, rt)
	}
	for i, rt := range rts {
		if !f.s.RefreshTokenActive(rt) {
			t.Fatalf("refresh token %d inactive with 20", i+1)
		}
	}
	// Another user's tokens are not counted against eva.
	f.connect("accounts.zoho.com", sam, samProd)
	f.connect("accounts.zoho.eu", eva, evaSandbox) // the 21st of eva (per user, any org)
	if f.s.RefreshTokenActive(rts[0]) || f.s.AccessTokenValid(ats[0]) {
		t.Error("the 21st refresh token must invalidate the first and its access tokens")
	}
	if !f.s.RefreshTokenActive(rts[1]) || !f.s.AccessTokenValid(ats[1]) {
		t.Error("the second must stay")
	}
	if _, body := f.refresh(rts[0]); body["error"] != "invalid_code" {
		t.Errorf("refresh with the first: %v", body)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t, nil)
	at, rt := f.connect("accounts.zoho.eu", eva, evaProd)
	at2, _ := f.refresh(rt)
	otherAT, otherRT := f.connect("accounts.zoho.eu", eva, evaSandbox)

	// Unknown tokens and another DC's fail with 400, as at Zoho, and
	// change nothing.
	for _, host := range []string{"accounts.zoho.eu", "accounts.zoho.com"} {
		tok := "1000.unknown.unknown"
		if host == "accounts.zoho.com" {
			tok = rt
		}
		if code, body := f.call("POST", host, "/oauth/v2/token/revoke?token="+url.QueryEscape(tok), "", "", nil); code != 400 || body["status"] == "success" {
			t.Errorf("revoke at %s: %d %v", host, code, body)
		}
	}
	if !f.s.RefreshTokenActive(rt) {
		t.Fatal("revoke at another DC must not revoke")
	}
	code, body := f.call("POST", "accounts.zoho.eu", "/oauth/v2/token/revoke?token="+url.QueryEscape(rt), "", "", nil)
	if code != 200 || body["status"] != "success" {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if f.s.RefreshTokenActive(rt) || f.s.AccessTokenValid(at) || f.s.AccessTokenValid(at2) {
		t.Error("revoke must kill the refresh token and all its access tokens")
	}
	if !f.s.RefreshTokenActive(otherRT) || !f.s.AccessTokenValid(otherAT) {
		t.Error("revoke killed another refresh token")
	}
	if _, body := f.refresh(rt); body["error"] != "invalid_code" {
		t.Errorf("refresh after revoke: %v", body)
	}
	if code, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/org", at, ""); code != 401 || body["code"] != "INVALID_TOKEN" {
		t.Errorf("CRM after revoke: %d %v", code, body)
	}
	// Revoking it again: already revoked, 400.
	if code, body := f.call("POST", "accounts.zoho.eu", "/oauth/v2/token/revoke?token="+url.QueryEscape(rt), "", "", nil); code != 400 || body["error"] != "invalid_token" {
		t.Errorf("second revoke: %d %v", code, body)
	}
	f.s.RevokeRefreshToken(otherRT)
	if f.s.RefreshTokenActive(otherRT) || f.s.AccessTokenValid(otherAT) {
		t.Error("RevokeRefreshToken")
	}
	if n := f.s.Stats().Revocations; n != 1 {
		t.Errorf("Revocations %d", n)
	}
}

func TestGrantCodeLimit(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 10 {
		if _, err := f.s.IssueCode(cid, eva, evaProd); err != nil {
			t.Fatalf("code %d: %v", i+1, err)
		}
	}
	if _, err := f.s.IssueCode(cid, eva, evaProd); !errors.Is(err, ErrTooManyCodes) {
		t.Fatalf("11th code: %v", err)
	}
	f.s.Advance(10*time.Minute + time.Second)
	if _, err := f.s.IssueCode(cid, eva, evaProd); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for _, tc := range []struct {
		client, email, org string
		want               error
	}{
		{"1000.OTHER", eva, evaProd, ErrUnknownClient},
		{cid, "nobody@example.com", evaProd, ErrUnknownUser},
		{cid, eva, samProd, ErrUnknownOrg},
	} {
		if _, err := f.s.IssueCode(tc.client, tc.email, tc.org); !errors.Is(err, tc.want) {
			t.Errorf("IssueCode(%s, %s, %s) = %v, want %v", tc.client, tc.email, tc.org, err, tc.want)
		}
	}
}

// TestServerInfo: Zoho's serverinfo lists the DCs of Zoho Accounts'
// multi-DC page, UK among them; China is operated apart and not listed.
func TestServerInfo(t *testing.T) {
	f := newFixture(t, nil)
	code, body := f.call("GET", "accounts.zoho.com", "/oauth/serverinfo", "", "", nil)
	want := map[string]any{
		"us": "https://accounts.zoho.com", "eu": "https://accounts.zoho.eu", "in": "https://accounts.zoho.in",
		"au": "https://accounts.zoho.com.au", "jp": "https://accounts.zoho.jp", "ca": "https://accounts.zohocloud.ca",
		"sa": "https://accounts.zoho.sa", "uk": "https://accounts.zoho.uk",
	}
	if code != 200 || body["result"] != "success" || !reflect.DeepEqual(body["locations"], want) {
		t.Errorf("%d %v", code, body)
	}
}

// authURL is the query of an authorization request.
func authQuery(extra url.Values) url.Values {
	q := url.Values{"scope": {"ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ"}, "client_id": {cid},
		"response_type": {"code"}, "access_type": {"offline"}, "redirect_uri": {redirect}, "state": {"st-123"}, "prompt": {"consent"}}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

func (f *fixture) page(host string, q url.Values) (int, string) {
	f.t.Helper()
	resp, err := f.send(context.Background(), "GET", host, "/oauth/v2/auth?"+q.Encode(), "", "", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConsentPage(t *testing.T) {
	f := newFixture(t, nil)
	code, html := f.page("accounts.zoho.com", authQuery(nil))
	if code != 200 {
		t.Fatalf("%d %s", code, html)
	}
	for _, want := range []string{`id="choose-org"`, `id="accept"`, `id="reject"`,
		`value="` + evaProd + `"`, `value="` + evaSandbox + `"`, `value="` + evaSandbox2 + `"`, `value="` + evaDev + `"`,
		`value="` + samProd + `"`, `value="` + noahProd + `"`,
		`name="state" value="st-123"`, `name="redirect_uri" value="` + redirect + `"`, `name="client_id" value="` + cid + `"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(html, liProd) {
		t.Error("accounts.zoho.com must not list cn users")
	}
	// Eva's orgs are grouped: Production, then both sandboxes, then Developer.
	sec := html[strings.Index(html, `id="user-20071000101"`):]
	sec = sec[:strings.Index(sec, "</section>")]
	iProd, iSand, iDev := strings.Index(sec, `id="env-production-`), strings.Index(sec, `id="env-sandbox-`), strings.Index(sec, `id="env-developer-`)
	if iProd < 0 || iSand < iProd || iDev < iSand {
		t.Errorf("groups out of order: %d %d %d", iProd, iSand, iDev)
	}
	sandbox := sec[iSand:iDev]
	if !strings.Contains(sandbox, evaSandbox) || !strings.Contains(sandbox, evaSandbox2) || strings.Contains(sandbox, evaProd) {
		t.Errorf("sandbox group wrong: %s", sandbox)
	}

	_, cn := f.page("accounts.zoho.com.cn", authQuery(nil))
	if !strings.Contains(cn, `value="`+liProd+`"`) || strings.Contains(cn, evaProd) || strings.Contains(cn, samProd) {
		t.Errorf("cn page must list cn users only:\n%s", cn)
	}
}

func TestConsentErrors(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"unknown client", authQuery(url.Values{"client_id": {"1000.OTHER"}})},
		{"unregistered redirect", authQuery(url.Values{"redirect_uri": {"https://evil.example/cb"}})},
		{"no redirect", authQuery(url.Values{"redirect_uri": {""}})},
		{"response type", authQuery(url.Values{"response_type": {"token"}})},
		{"no scope", authQuery(url.Values{"scope": {""}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, html := f.page("accounts.zoho.com", tc.q); code != 400 || !strings.Contains(html, `id="error"`) {
				t.Errorf("%d %s", code, html)
			}
		})
	}
}

func (f *fixture) postConsent(host string, form url.Values) *http.Response {
	f.t.Helper()
	resp, err := f.send(context.Background(), "POST", host, "/oauth/v2/auth", "application/x-www-form-urlencoded", form.Encode(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestConsentAcceptReject(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Clients[0].RedirectURIs = append(o.Clients[0].RedirectURIs, "https://app.example/other")
	})

	resp := f.postConsent("accounts.zoho.com", authQuery(url.Values{"action": {"accept"}, "org": {evaSandbox}}))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.HasPrefix(loc, redirect+"?") || !strings.Contains(loc, "accounts-server=https%3A%2F%2Faccounts.zoho.eu") {
		t.Fatalf("accept: %d %s", resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("location") != "eu" || q.Get("accounts-server") != "https://accounts.zoho.eu" || q.Get("state") != "st-123" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	// The code must be exchanged with the redirect_uri it was issued for.
	other := exchangeForm(q.Get("code"))
	other.Set("redirect_uri", "https://app.example/other")
	if _, body := f.token("accounts.zoho.eu", other); body["error"] != "invalid_redirect_uri" {
		t.Errorf("other redirect: %v", body)
	}
	_, body := f.token("accounts.zoho.eu", exchangeForm(q.Get("code")))
	at, _ := body["access_token"].(string)
	if at == "" || body["refresh_token"] == nil {
		t.Fatalf("exchange: %v", body)
	}
	if code, org := f.crm("GET", "sandbox.zohoapis.eu", "/crm/v8/org", at, ""); code != 200 || dig(org, "org", 0, "type") != "Sandbox" || dig(org, "org", 0, "id") != evaSandbox {
		t.Errorf("org: %d %v", code, org)
	}

	resp = f.postConsent("accounts.zoho.com", authQuery(url.Values{"action": {"reject"}, "org": {evaSandbox}}))
	u, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "st-123" || u.Query().Has("code") {
		t.Errorf("reject: %d %s", resp.StatusCode, u)
	}

	// A cn org cannot be chosen in a flow started at accounts.zoho.com.
	if resp := f.postConsent("accounts.zoho.com", authQuery(url.Values{"action": {"accept"}, "org": {liProd}})); resp.StatusCode != 400 {
		t.Errorf("cn org at .com: %d", resp.StatusCode)
	}
	if resp := f.postConsent("accounts.zoho.com", authQuery(url.Values{"action": {"accept"}})); resp.StatusCode != 400 {
		t.Errorf("no org: %d", resp.StatusCode)
	}
	resp = f.postConsent("accounts.zoho.com.cn", authQuery(url.Values{"action": {"accept"}, "org": {liProd}}))
	u, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || u.Query().Get("location") != "cn" || u.Query().Get("accounts-server") != "https://accounts.zoho.com.cn" {
		t.Errorf("cn accept: %d %s", resp.StatusCode, u)
	}
}

func TestConsentScripted(t *testing.T) {
	f := newFixture(t, nil)
	// sim_action=accept, and without access_type=offline: no refresh token.
	q := authQuery(url.Values{"sim_org": {noahProd}, "sim_action": {"accept"}, "access_type": {"online"}, "scope": {"ZohoCRM.org.READ"}})
	resp, err := f.send(context.Background(), "GET", "accounts.zoho.com", "/oauth/v2/auth?"+q.Encode(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || u.Query().Get("location") != "ca" || u.Query().Get("accounts-server") != "https://accounts.zohocloud.ca" {
		t.Fatalf("%d %s", resp.StatusCode, u)
	}
	_, body := f.token("accounts.zohocloud.ca", exchangeForm(u.Query().Get("code")))
	if body["access_token"] == nil || body["refresh_token"] != nil || body["scope"] != "ZohoCRM.org.READ" {
		t.Errorf("online exchange: %v", body)
	}
	// The browser path prefix stands for Host.
	resp, err = f.hc.Get(f.base + "/_host/accounts.zoho.com.cn/oauth/v2/auth?" + authQuery(nil).Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), liProd) || !strings.Contains(string(b), `action="/_host/accounts.zoho.com.cn/oauth/v2/auth"`) {
		t.Errorf("/_host/ prefix: %d %s", resp.StatusCode, b)
	}
}
