package zohosim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	cid      = "1000.TESTCLIENT"
	secret   = "s3cret"
	cnSecret = "s3cret-cn"
	redirect = "https://app.example/oauth/callback"

	eva, evaProd, evaSandbox, evaSandbox2, evaDev = "eva@acme-europe.example", "20071000201", "20071000202", "20071000203", "20071000204"
	sam, samProd, samSandbox                      = "sam@acme-us.example", "20071000211", "20071000212"
	li, liProd                                    = "li@acme-china.example", "20071000221"
	noah, noahProd                                = "noah@acme-ca.example", "20071000241"
)

type fixture struct {
	t    *testing.T
	s    *Server
	base string
	hc   *http.Client
}

// newFixture starts a simulator on a fixed clock with the demo users and
// one client (a separate secret for cn).
func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	opts := Options{
		Clients: []Client{{ID: cid, Secret: secret, Secrets: map[string]string{"cn": cnSecret}, RedirectURIs: []string{redirect}}},
		Now:     func() time.Time { return t0 },
	}
	if mod != nil {
		mod(&opts)
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	base := ts.URL
	for _, u := range DemoUsers() {
		s.AddUser(u)
	}
	return &fixture{t: t, s: s, base: base, hc: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send makes a raw request with Host naming a Zoho host.
func (f *fixture) send(ctx context.Context, method, host, path, contentType, body string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return f.hc.Do(req)
}

// call makes a request and decodes a JSON answer (nil for no body).
func (f *fixture) call(method, host, path, contentType, body string, hdr http.Header) (int, map[string]any) {
	f.t.Helper()
	resp, err := f.send(context.Background(), method, host, path, contentType, body, hdr)
	if err != nil {
		f.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(b) == 0 {
		return resp.StatusCode, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("%s %s%s: %d %q is not JSON: %v", method, host, path, resp.StatusCode, b, err)
	}
	return resp.StatusCode, m
}

func (f *fixture) token(host string, form url.Values) (int, map[string]any) {
	f.t.Helper()
	return f.call(http.MethodPost, host, "/oauth/v2/token", "application/x-www-form-urlencoded", form.Encode(), nil)
}

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {cid}, "client_secret": {secret}, "redirect_uri": {redirect}}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {cid}, "client_secret": {secret}}
}

func (f *fixture) code(email, org string) string {
	f.t.Helper()
	c, err := f.s.IssueCode(cid, email, org)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// connect runs a code exchange for the org at the accounts server given
// and returns the access and refresh tokens.
func (f *fixture) connect(accounts, email, org string) (string, string) {
	f.t.Helper()
	form := exchangeForm(f.code(email, org))
	if accounts == "accounts.zoho.com.cn" {
		form.Set("client_secret", cnSecret)
	}
	status, body := f.token(accounts, form)
	at, _ := body["access_token"].(string)
	rt, _ := body["refresh_token"].(string)
	if status != 200 || at == "" || rt == "" {
		f.t.Fatalf("exchange: %d %v", status, body)
	}
	return at, rt
}

func (f *fixture) refresh(rt string) (string, map[string]any) {
	f.t.Helper()
	_, body := f.token("accounts.zoho.eu", refreshForm(rt))
	at, _ := body["access_token"].(string)
	return at, body
}

func (f *fixture) crm(method, host, path, token, body string) (int, map[string]any) {
	f.t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Zoho-oauthtoken "+token)
	}
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return f.call(method, host, path, ct, body, hdr)
}

// dig walks a decoded JSON value: keys for objects, ints for arrays.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
