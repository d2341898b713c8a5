// Package testflow connects Zoho orgs the real way in integration tests:
// one test's slice of the local stack (testenv), the Zoho simulator with
// the test's OAuth client, and the callback function built from the
// template's own environment, driven through GET /connect, the simulator's
// consent page and GET /oauth/callback. Everything the functions log goes
// to one buffer, which is checked when the test ends for every token, code,
// secret and key the test met.
//
// It imports "testing" and sets the process environment: only tests may
// import it, never a function, a command or a local run.
package testflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim/zohosimtest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/functions/productapi/productapifn"
	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/product"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// LogBuffer collects log lines written from many goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Flow is one test's deployment with a way to connect orgs.
type Flow struct {
	Env *testenv.Env
	Sim *zohosim.Server
	// SimURL is the simulator's address: the template's
	// ZohoEndpointOverride in every function's environment.
	SimURL string
	// Callback is the callback function, built from CallbackConfig (read
	// from the template's CallbackFunction environment) and Env.Config.
	Callback       *connect.Handler
	CallbackConfig callbackfn.Config
	// Log writes debug JSON lines to Logs; give it to every function the
	// test builds, so that CheckLogs sees what they log.
	Log  *slog.Logger
	Logs *LogBuffer
	// ZohoHTTP reaches the simulator's hosts, as a browser reaches Zoho.
	ZohoHTTP *http.Client
	// Product is the product API function (ProductApiFunction's
	// environment), ProductKey the product's API key. Refresh is the
	// refresh function the callback and the product API ask for
	// revocations, in process.
	Product    *product.Handler
	ProductKey string
	Refresh    *refresh.Handler

	// cookies is the browser's cookie jar: what /connect set, sent back
	// to the callback.
	cookies map[string]string

	mu      sync.Mutex
	secrets []string // submission keys seen and AddSecret's
}

// New makes the simulator (with Env's OAuth client registered, and no
// limit on grant codes unless simOpts sets one), this test's resources
// from template.yaml with the simulator as Zoho endpoint, and the callback
// function. It sets the CallbackFunction's environment for the rest of the
// test (t.Setenv: not with t.Parallel) and checks the logs at cleanup.
func New(t testing.TB, simOpts zohosim.Options, envOpts ...testenv.Option) *Flow {
	t.Helper()
	if simOpts.Limits.GrantCodesPer10Min == 0 {
		simOpts.Limits.GrantCodesPer10Min = -1
	}
	sim, simURL := zohosimtest.Start(t, simOpts)
	// Anonymous connects are on unless the test turns them off: most
	// tests connect without the product's session.
	opts := append([]testenv.Option{testenv.WithParameter("AllowAnonymousConnect", "true")}, envOpts...)
	env := testenv.New(t, append(opts, testenv.WithZohoEndpoint(simURL))...)
	cs := env.ClientSecret
	sim.AddClient(zohosim.Client{ID: cs.ClientID, Secret: cs.ClientSecret, Secrets: cs.ClientSecrets, RedirectURIs: []string{cs.RedirectURI}})

	for k, v := range env.FunctionEnv(t, "CallbackFunction") {
		t.Setenv(k, v)
	}
	cfg, err := callbackfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EndpointOverride != simURL {
		t.Fatalf("the template's environment does not carry the simulator: %q", cfg.EndpointOverride)
	}
	zc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: simURL})
	if err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	f := &Flow{Env: env, Sim: sim, SimURL: simURL, CallbackConfig: cfg, Log: logging.New(logs, "debug"), Logs: logs, ZohoHTTP: zc,
		cookies: map[string]string{}}
	f.Refresh = f.newRefresh(t)
	f.Callback = f.NewCallback(t, env.Config)
	f.Product = f.newProduct(t)
	f.ProductKey = env.Deployment.SecretValues["ProductApiKeySecret"]
	f.AddSecret(f.ProductKey)
	// Every other function's environment, then the callback's again: the
	// tests read CallbackConfig's.
	for k, v := range env.FunctionEnv(t, "CallbackFunction") {
		t.Setenv(k, v)
	}
	t.Cleanup(func() { f.CheckLogs(t) })
	return f
}

func (f *Flow) newRefresh(t testing.TB) *refresh.Handler {
	t.Helper()
	for k, v := range f.Env.FunctionEnv(t, "RefreshFunction") {
		t.Setenv(k, v)
	}
	cfg, err := refreshfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	h, err := refreshfn.New(cfg, f.Env.Config, f.Log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f *Flow) newProduct(t testing.TB) *product.Handler {
	t.Helper()
	for k, v := range f.Env.FunctionEnv(t, "ProductApiFunction") {
		t.Setenv(k, v)
	}
	cfg, err := productapifn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	h, err := productapifn.New(cfg, f.Env.Config, f.Log)
	if err != nil {
		t.Fatal(err)
	}
	h.Service.Revoker = refresh.InProcess{Handler: f.Refresh}
	return h
}

// NewCallback builds one more callback function from CallbackConfig, on
// awsCfg (a copy of Env.Config with, say, a counting HTTP client).
func (f *Flow) NewCallback(t testing.TB, awsCfg aws.Config) *connect.Handler {
	t.Helper()
	h, err := callbackfn.New(f.CallbackConfig, awsCfg, f.Log)
	if err != nil {
		t.Fatal(err)
	}
	if f.Refresh != nil {
		h.Service.Revoker = refresh.InProcess{Handler: f.Refresh}
	}
	return h
}

// Do sends the callback function a GET, as API Gateway would, asking for
// a JSON answer or (jsonAnswer false) a page.
func (f *Flow) Do(t testing.TB, path, rawQuery string, jsonAnswer bool) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r := events.APIGatewayV2HTTPRequest{RouteKey: "GET " + path, RawPath: path, RawQueryString: rawQuery, Headers: map[string]string{}}
	r.RequestContext.HTTP.Method = "GET"
	r.RequestContext.HTTP.Path = path
	r.RequestContext.DomainName = "api.example.test"
	if jsonAnswer {
		r.Headers["accept"] = "application/json"
	}
	f.mu.Lock()
	for name, value := range f.cookies {
		r.Cookies = append(r.Cookies, name+"="+value)
	}
	f.mu.Unlock()
	resp, err := f.Callback.Handle(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	f.keepCookies(resp.Cookies)
	return resp
}

// keepCookies does what a browser does with Set-Cookie: stores a cookie,
// or forgets it (Max-Age=0). A nonce is a secret: it must not be logged.
func (f *Flow) keepCookies(set []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range set {
		nv, attrs, _ := strings.Cut(c, ";")
		name, value, _ := strings.Cut(nv, "=")
		if strings.Contains(strings.ReplaceAll(attrs, " ", ""), "Max-Age=0") || value == "" {
			delete(f.cookies, name)
			continue
		}
		f.cookies[name] = value
		f.secrets = append(f.secrets, value)
	}
}

// Cookies is the browser's jar: name to value.
func (f *Flow) Cookies() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.cookies))
	for k, v := range f.cookies {
		out[k] = v
	}
	return out
}

// SetCookie puts a cookie in the jar, as a browser holding it would.
func (f *Flow) SetCookie(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cookies[name] = value
}

// SwitchBrowser empties the jar: the next requests come from another
// browser, which started nothing.
func (f *Flow) SwitchBrowser() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cookies = map[string]string{}
}

// ProductDo calls the product API as the product's backend does, with
// key (ProductKey for the real one) and a JSON body (nil for none), and
// returns the status and the decoded JSON answer.
func (f *Flow) ProductDo(t testing.TB, key, method, path, rawQuery string, body any) (int, map[string]any) {
	t.Helper()
	route, params := productRoute(method, path)
	r := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, RawQueryString: rawQuery, PathParameters: params,
		Headers: map[string]string{"content-type": "application/json"}}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.HTTP.Path = path
	r.RequestContext.DomainName = "api.example.test"
	if key != "" {
		r.Headers["authorization"] = "Bearer " + key
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r.Body = string(b)
	}
	resp, err := f.Product.Handle(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("%s %s answered %d, not JSON: %s", method, path, resp.StatusCode, resp.Body)
	}
	if k, ok := out["submission_key"].(string); ok {
		f.AddSecret(k)
	}
	return resp.StatusCode, out
}

// productRoute is the template's route key of a product API path, and
// its path parameters.
func productRoute(method, path string) (string, map[string]string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 2 && parts[0] == "connections" {
		params := map[string]string{"connection_id": parts[1]}
		if len(parts) == 4 && parts[2] == "forms" {
			params["form_id"] = parts[3]
			return method + " /connections/{connection_id}/forms/{form_id}", params
		}
		rest := strings.Join(parts[2:], "/")
		if rest != "" {
			return method + " /connections/{connection_id}/" + rest, params
		}
		return method + " /connections/{connection_id}", params
	}
	return method + " " + path, nil
}

// OpenSession opens a connect session through the product API (body as
// POST /connect/sessions takes it) and returns its id and the query of
// its connect URL. The session token's secret is a secret of the test.
func (f *Flow) OpenSession(t testing.TB, body map[string]any) (sessionID, connectQuery string) {
	t.Helper()
	status, out := f.ProductDo(t, f.ProductKey, "POST", "/connect/sessions", "", body)
	if status != 201 {
		t.Fatalf("POST /connect/sessions answered %d: %v", status, out)
	}
	u, err := url.Parse(out["connect_url"].(string))
	if err != nil || u.Path != "/connect" {
		t.Fatalf("connect_url %v", out["connect_url"])
	}
	token := u.Query().Get("session")
	if _, secret, ok := strings.Cut(token, "."); ok {
		f.AddSecret(secret)
	}
	return out["session_id"].(string), u.RawQuery
}

// Start runs GET /connect and returns Zoho's consent URL.
func (f *Flow) Start(t testing.TB, query string) *url.URL {
	t.Helper()
	resp := f.Do(t, "/connect", query, false)
	if resp.StatusCode != 302 {
		t.Fatalf("/connect?%s answered %d: %s", query, resp.StatusCode, resp.Body)
	}
	u, err := url.Parse(resp.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Consent plays the person on Zoho's consent page: it follows the consent
// URL to the simulator, picks orgID and accepts ("accept") or refuses
// ("reject"), and returns the query of Zoho's redirect back to us, exactly
// as Zoho built it.
func (f *Flow) Consent(t testing.TB, consentURL *url.URL, orgID, action string) string {
	t.Helper()
	u := *consentURL
	q := u.Query()
	q.Set("sim_org", orgID)
	q.Set("sim_action", action)
	u.RawQuery = q.Encode()
	resp, err := f.ZohoHTTP.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 {
		t.Fatalf("consent answered %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back.RawQuery
}

// Connect runs the whole flow for orgID (GET /connect?query, consent
// accepted, GET /oauth/callback) and returns the callback's status and
// JSON answer. A submission key in the answer is checked against the logs.
func (f *Flow) Connect(t testing.TB, query, orgID string) (int, map[string]any) {
	t.Helper()
	back := f.Consent(t, f.Start(t, query), orgID, "accept")
	resp := f.Do(t, "/oauth/callback", back, true)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("callback answered %d, not JSON: %s", resp.StatusCode, resp.Body)
	}
	if k, ok := body["submission_key"].(string); ok {
		f.AddSecret(k)
	}
	return resp.StatusCode, body
}

// Connected is Connect for a connect that must work: it fails the test
// unless the callback answered 200 with a connection id.
func (f *Flow) Connected(t testing.TB, query, orgID string) map[string]any {
	t.Helper()
	status, body := f.Connect(t, query, orgID)
	if id, _ := body["connection_id"].(string); status != 200 || id == "" {
		t.Fatalf("/oauth/callback answered %d: %v", status, body)
	}
	return body
}

// AddSecret adds a value that must never be logged (or printed, see
// CheckText), such as a key the test read from a page or a command.
func (f *Flow) AddSecret(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, s)
}

// Secrets is every secret the test met: the OAuth client's secrets, the
// submission-key master secret, the submission keys Connect saw, what
// AddSecret added, and every code, token, state and client secret in the
// requests the simulator received.
func (f *Flow) Secrets() []string {
	cs := f.Env.ClientSecret
	f.mu.Lock()
	secrets := append([]string{cs.ClientSecret, f.Env.SubmissionKey}, f.secrets...)
	f.mu.Unlock()
	for _, s := range cs.ClientSecrets {
		secrets = append(secrets, s)
	}
	for _, r := range f.Sim.Requests() {
		secrets = append(secrets, r.Form.Get("code"), r.Form.Get("refresh_token"), r.Form.Get("client_secret"),
			r.Query.Get("token"), r.Query.Get("state"), strings.TrimPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken "))
	}
	return secrets
}

// CheckLogs fails the test if anything the functions logged holds a secret
// or part of one. New runs it when the test ends.
func (f *Flow) CheckLogs(t testing.TB) {
	t.Helper()
	f.CheckText(t, "the logs", f.Logs.String())
}

// CheckText fails the test if text (described by what) holds one of
// Secrets, or part of one.
func (f *Flow) CheckText(t testing.TB, what, text string) {
	t.Helper()
	for _, leak := range Leaks(text, f.Secrets()) {
		t.Errorf("%s contain %s", what, leak)
	}
}

// Leaks describes each secret found in text: whole (one of 8 characters or
// more), or in part: any 16 characters of a piece between dots or
// underscores (an access token's halves, a submission key's body), taken
// every 8 characters. The description shows the secret's first four
// characters only.
func Leaks(text string, secrets []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if seen[s] {
			continue
		}
		seen[s] = true
		switch {
		case len(s) >= 8 && strings.Contains(text, s):
			out = append(out, "a secret ("+describe(s)+")")
		case containsPart(text, s):
			out = append(out, "part of a secret ("+describe(s)+")")
		}
	}
	return out
}

func containsPart(text, secret string) bool {
	for _, part := range strings.FieldsFunc(secret, func(r rune) bool { return r == '.' || r == '_' }) {
		for i := 0; i+16 <= len(part); i += 8 {
			if strings.Contains(text, part[i:i+16]) {
				return true
			}
		}
	}
	return false
}

func describe(s string) string {
	return fmt.Sprintf("%d characters, starting %q", len(s), s[:4])
}
