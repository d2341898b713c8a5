//go:build integration

package product_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

const returnOrigin = "https://app.example.test"

type harness struct {
	*testflow.Flow
	sync *submission.Handler
}

func newHarness(t *testing.T, opts ...testenv.Option) *harness {
	t.Helper()
	cs := localstack.ClientSecret{ClientID: "1000.PRODUCTCLIENT", ClientSecret: "product-client-secret-value",
		RedirectURI: "https://api.example.test/oauth/callback", ClientSecrets: map[string]string{"eu": "product-eu-secret-value"}}
	base := []testenv.Option{testenv.WithClientSecret(cs), testenv.WithQueues(), testenv.WithParameter("ReturnUrlOrigins", returnOrigin)}
	h := &harness{Flow: testflow.New(t, zohosim.Options{}, append(base, opts...)...)}
	h.Env.Setenv(t, "SyncFunction")
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if h.sync, err = syncfn.New(scfg, h.Env.Config, h.Log); err != nil {
		t.Fatal(err)
	}
	h.Env.Setenv(t, "CallbackFunction")
	return h
}

// session runs a connect through a session for tenant: the product's
// backend opens it, its user goes to connect_url, consents with orgID,
// and comes back with the cookie /connect set. It answers the callback's
// answer.
func (h *harness) session(t *testing.T, body map[string]any, orgID string) (string, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	sid, q := h.OpenSession(t, body)
	back := h.Consent(t, h.Start(t, q), orgID, "accept")
	return sid, h.Do(t, "/oauth/callback", back, true)
}

func (h *harness) submit(t *testing.T, id, key string) int {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: "/connections/" + id + "/submissions", PathParameters: map[string]string{"connection_id": id},
		Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer " + key},
		Body:    `{"Last_Name":"Lovelace","Email":"ada-` + id[3:9] + `@example.com"}`}
	req.RequestContext.HTTP.Method = "POST"
	return h.sync.Handle(context.Background(), req).StatusCode
}

func jsonBody(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("%d, not JSON: %s", resp.StatusCode, resp.Body)
	}
	return out
}

func TestEveryRouteNeedsTheProductKey(t *testing.T) {
	h := newHarness(t)
	id := connection.ID("eu", zoho.Production, "1")
	for _, r := range [][2]string{
		{"POST", "/connect/sessions"}, {"GET", "/connections"}, {"GET", "/connections/" + id},
		{"PATCH", "/connections/" + id}, {"DELETE", "/connections/" + id}, {"POST", "/connections/" + id + "/submission-key"},
	} {
		for _, key := range []string{"", "wrong-key", h.ProductKey + "x", "zsk_notakey"} {
			status, body := h.ProductDo(t, key, r[0], r[1], "", map[string]any{"tenant_id": "t1"})
			if status != 401 || body["error"] != "unauthorized" {
				t.Errorf("%s %s with %q: %d %v", r[0], r[1], key, status, body)
			}
		}
	}
}

func TestSessionFlowEndToEnd(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Email: "ana@acme.eu", Location: "eu", Orgs: []zohosim.Org{{Name: "Acme Sandbox", Environment: zoho.Sandbox}}})
	org := u.Orgs[0].ID
	sid, q := h.OpenSession(t, map[string]any{"tenant_id": "acme-42", "environment": "sandbox",
		"return_url": returnOrigin + "/settings/zoho?tab=crm", "metadata": map[string]string{"plan": "pro"}})

	// /connect sets the cookie that binds the state to this browser.
	resp := h.Do(t, "/connect", q, false)
	if resp.StatusCode != 302 || len(resp.Cookies) != 1 {
		t.Fatalf("/connect: %d, cookies %v", resp.StatusCode, resp.Cookies)
	}
	c := resp.Cookies[0]
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"} {
		if !strings.Contains(c, "; "+attr) {
			t.Errorf("cookie %q lacks %s", c, attr)
		}
	}
	if !strings.HasPrefix(c, "__Host-zc_") || strings.Contains(c, "Domain=") {
		t.Errorf("cookie %q is not a __Host- cookie", c)
	}
	consent, _ := url.Parse(resp.Headers["Location"])
	back := h.Consent(t, consent, org, "accept")
	resp = h.Do(t, "/oauth/callback", back, true)

	// The browser goes back to the product, with no key or token.
	if resp.StatusCode != 303 {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
	}
	loc, _ := url.Parse(resp.Headers["Location"])
	lq := loc.Query()
	id := lq.Get("connection_id")
	if loc.Scheme+"://"+loc.Host != returnOrigin || loc.Path != "/settings/zoho" || lq.Get("tab") != "crm" ||
		lq.Get("status") != "connected" || lq.Get("session_id") != sid || !connection.ValidID(id) || len(lq) != 4 {
		t.Fatalf("back to %s", loc)
	}
	if len(resp.Cookies) != 1 || !strings.Contains(resp.Cookies[0], "Max-Age=0") || len(h.Cookies()) != 0 {
		t.Fatalf("the state's cookie is not cleared: %v", resp.Cookies)
	}
	// The product reads its connection and fetches a key.
	status, got := h.ProductDo(t, h.ProductKey, "GET", "/connections/"+id, "", nil)
	if status != 200 || got["tenant_id"] != "acme-42" || got["environment"] != "sandbox" || got["org_id"] != org ||
		got["status"] != "active" || got["metadata"].(map[string]any)["plan"] != "pro" || got["user_email"] != "ana@acme.eu" {
		t.Fatalf("GET: %d %v", status, got)
	}
	if _, ok := got["submission_key"]; ok {
		t.Fatal("a key in the connection's view")
	}
	status, key := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil)
	if status != 201 || key["key_id"] == "" {
		t.Fatalf("rotate: %d %v", status, key)
	}
	if s := h.submit(t, id, key["submission_key"].(string)); s != 201 {
		t.Fatalf("a submission with the fetched key: %d", s)
	}
	if s := h.submit(t, id, h.ProductKey); s != 201 && s != 200 {
		t.Fatalf("a submission with the product's key: %d", s)
	}
	// The session completed: its URL starts nothing any more.
	if resp := h.Do(t, "/connect", q, true); resp.StatusCode != 400 {
		t.Fatalf("a completed session's connect: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestSessionInputs(t *testing.T) {
	h := newHarness(t)
	for _, body := range []map[string]any{
		{},
		{"tenant_id": ""},
		{"tenant_id": "bad tenant"},
		{"tenant_id": "t1", "environment": "staging"},
		{"tenant_id": "t1", "dc": "eu"},
		{"tenant_id": "t1", "return_url": "https://evil.example/cb"},
		{"tenant_id": "t1", "return_url": "http://app.example.test/cb"},
		{"tenant_id": "t1", "metadata": map[string]string{"x": strings.Repeat("y", 3000)}},
		{"tenant_id": "t1", "unknown": true},
	} {
		if status, out := h.ProductDo(t, h.ProductKey, "POST", "/connect/sessions", "", body); status != 400 || out["error"] != "invalid_request" || out["message"] == "" {
			t.Errorf("%v: %d %v", body, status, out)
		}
	}
	// Without a session, /connect is refused while anonymous connects are off.
	off := newHarness(t, testenv.WithParameter("AllowAnonymousConnect", "false"))
	if resp := off.Do(t, "/connect", "environment=production", true); resp.StatusCode != 400 {
		t.Fatalf("anonymous /connect: %d %s", resp.StatusCode, resp.Body)
	}
	for _, q := range []string{"session=nope", "session=cs_000000000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if resp := off.Do(t, "/connect", q, true); resp.StatusCode != 400 {
			t.Errorf("/connect?%s: %d", q, resp.StatusCode)
		}
	}
	_, q := off.OpenSession(t, map[string]any{"tenant_id": "t1"})
	if resp := off.Do(t, "/connect", q+"&environment=sandbox", true); resp.StatusCode != 400 {
		t.Errorf("a session with another parameter: %d", resp.StatusCode)
	}
	if resp := off.Do(t, "/connect", q, true); resp.StatusCode != 302 {
		t.Errorf("a session's connect: %d %s", resp.StatusCode, resp.Body)
	}
}

// Login CSRF: a callback of someone else's consent, opened in a victim's
// browser, carries no cookie (or the victim's own for another state).
func TestCallbackIsBoundToTheBrowser(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{}}})
	org := u.Orgs[0].ID
	before := h.Sim.Stats().TokenRequests["authorization_code"]

	// The attacker consents in their browser; the victim opens the link.
	back := h.Consent(t, h.Start(t, ""), org, "accept")
	h.SwitchBrowser()
	if resp := h.Do(t, "/oauth/callback", back, true); resp.StatusCode != 400 || jsonBody(t, resp)["error"] != "invalid_state" {
		t.Fatalf("without the cookie: %d %s", resp.StatusCode, resp.Body)
	}
	// A cookie of the state's name holding another browser's nonce (the
	// victim's own connect's) does not pass either.
	attacker := h.Consent(t, h.Start(t, ""), org, "accept")
	h.SwitchBrowser()
	h.Start(t, "")
	var victimNonce string
	for _, v := range h.Cookies() {
		victimNonce = v
	}
	aq, _ := url.ParseQuery(attacker)
	h.SwitchBrowser()
	h.SetCookie(connect.CookieName(aq.Get("state")), victimNonce)
	if resp := h.Do(t, "/oauth/callback", attacker, true); resp.StatusCode != 400 || jsonBody(t, resp)["error"] != "invalid_state" {
		t.Fatalf("with another browser's cookie: %d %s", resp.StatusCode, resp.Body)
	}
	if n := h.Sim.Stats().TokenRequests["authorization_code"]; n != before {
		t.Fatalf("%d grants were exchanged for refused callbacks", n-before)
	}
}

func TestTenantsOwnTheirConnections(t *testing.T) {
	h := newHarness(t)
	ana := h.Sim.AddUser(zohosim.User{Email: "ana@acme.eu", Location: "eu", Orgs: []zohosim.Org{{Name: "Acme"}}})
	h.Sim.AddUser(zohosim.User{Email: "bob@acme.eu", Location: "eu"})
	org := ana.Orgs[0].ID

	_, first := h.session(t, map[string]any{"tenant_id": "t1"}, org)
	a := jsonBody(t, first)
	id := a["connection_id"].(string)
	if first.StatusCode != 200 || a["tenant_id"] != "t1" || a["submission_key"] != nil {
		t.Fatalf("first: %d %v", first.StatusCode, a)
	}
	_, key := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil)
	// The same org again within the tenant: the same connection and key.
	_, again := h.session(t, map[string]any{"tenant_id": "t1", "metadata": map[string]string{"n": "2"}}, org)
	if b := jsonBody(t, again); again.StatusCode != 200 || b["connection_id"] != id {
		t.Fatalf("again: %d %v", again.StatusCode, b)
	}
	if s := h.submit(t, id, key["submission_key"].(string)); s != 201 && s != 200 {
		t.Fatalf("the key after a reconnect: %d", s)
	}
	// Another tenant connecting the org gets its own connection.
	_, other := h.session(t, map[string]any{"tenant_id": "t2"}, org)
	o := jsonBody(t, other)
	if other.StatusCode != 200 || o["connection_id"] == id || o["tenant_id"] != "t2" {
		t.Fatalf("another tenant: %d %v", other.StatusCode, o)
	}
	// Listing by tenant finds each tenant's only.
	for tenant, want := range map[string]string{"t1": id, "t2": o["connection_id"].(string)} {
		status, page := h.ProductDo(t, h.ProductKey, "GET", "/connections", "tenant_id="+tenant, nil)
		list := page["connections"].([]any)
		if status != 200 || len(list) != 1 || list[0].(map[string]any)["connection_id"] != want || page["next_cursor"] != nil {
			t.Fatalf("%s: %d %v", tenant, status, page)
		}
	}

	// Another Zoho user of the org: refused without a session, its new
	// token revoked ...
	if err := h.Sim.SetOrgUser(org, "bob@acme.eu"); err != nil {
		t.Fatal(err)
	}
	revoked := h.Sim.Stats().Revocations
	status, body := h.Connect(t, "", org) // anonymous: tenant ""
	if status != 200 {
		t.Fatalf("bob's first anonymous connect: %d %v", status, body)
	}
	if err := h.Sim.SetOrgUser(org, "ana@acme.eu"); err != nil {
		t.Fatal(err)
	}
	status, body = h.Connect(t, "", org)
	if status != 409 || body["error"] != "connected_by_another_user" {
		t.Fatalf("ana over bob's anonymous connection: %d %v", status, body)
	}
	if h.Sim.Stats().Revocations != revoked+1 {
		t.Fatalf("the refused connect's token was not revoked (%d revocations)", h.Sim.Stats().Revocations-revoked)
	}
	// ... allowed through a session, and the connection says whom it replaced.
	if err := h.Sim.SetOrgUser(org, "bob@acme.eu"); err != nil {
		t.Fatal(err)
	}
	revoked = h.Sim.Stats().Revocations
	_, taken := h.session(t, map[string]any{"tenant_id": "t1"}, org)
	if tk := jsonBody(t, taken); taken.StatusCode != 200 || tk["connection_id"] != id || tk["user_email"] != "bob@acme.eu" {
		t.Fatalf("bob through a session: %d %v", taken.StatusCode, tk)
	}
	c, err := awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"]).Get(context.Background(), id)
	if err != nil || c.PreviousUserEmail != "ana@acme.eu" || c.UserEmail != "bob@acme.eu" {
		t.Fatalf("%+v %v", c, err)
	}
	// The token the reconnect replaced was revoked, by the refresh function.
	if h.Sim.Stats().Revocations != revoked+1 {
		t.Fatalf("%d revocations after a reconnect", h.Sim.Stats().Revocations-revoked)
	}
}

func TestDisconnectRevokesAtTheConnectionsDC(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{}}})
	_, resp := h.session(t, map[string]any{"tenant_id": "t1"}, u.Orgs[0].ID)
	id := jsonBody(t, resp)["connection_id"].(string)
	_, key := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil)
	if status, out := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+id, "", nil); status != 200 || out["status"] != "disconnected" {
		t.Fatalf("DELETE: %d %v", status, out)
	}
	var revokedAt []string
	for _, r := range h.Sim.Requests() {
		if r.Path == "/oauth/v2/token/revoke" {
			revokedAt = append(revokedAt, r.Host)
		}
	}
	if len(revokedAt) == 0 || revokedAt[len(revokedAt)-1] != "accounts.zoho.eu" {
		t.Fatalf("revocations at %v", revokedAt)
	}
	vault := &awsstore.TokenVault{SM: h.Env.SecretsManager, Prefix: h.Env.TokenSecretPrefix}
	if _, err := vault.RefreshToken(context.Background(), id); err == nil {
		t.Fatal("the refresh token secret remains")
	}
	if _, err := vault.AccessToken(context.Background(), id); err == nil {
		t.Fatal("the access token secret remains")
	}
	if s := h.submit(t, id, key["submission_key"].(string)); s != 401 {
		t.Fatalf("a submission after DELETE: %d", s)
	}
	if s := h.submit(t, id, h.ProductKey); s != 401 {
		t.Fatalf("the product's key after DELETE: %d", s)
	}
	if status, out := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+id, "", nil); status != 200 || out["status"] != "disconnected" {
		t.Fatalf("DELETE again: %d %v", status, out)
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+connection.ID("eu", zoho.Production, "404"), "", nil); status != 404 {
		t.Fatalf("DELETE of an unknown connection: %d", status)
	}
	if status, out := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil); status != 409 {
		t.Fatalf("a key for a disconnected connection: %d %v", status, out)
	}
}

func TestRotatedKeyAndSettings(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Location: "us", Orgs: []zohosim.Org{{}}})
	_, resp := h.session(t, map[string]any{"tenant_id": "t1"}, u.Orgs[0].ID)
	id := jsonBody(t, resp)["connection_id"].(string)
	_, k1 := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil)
	_, k2 := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+id+"/submission-key", "", nil)
	if k1["submission_key"] == k2["submission_key"] || k1["key_id"] == k2["key_id"] {
		t.Fatal("the rotated key is the same")
	}
	if s := h.submit(t, id, k1["submission_key"].(string)); s != 401 {
		t.Fatalf("the previous key: %d", s)
	}
	if s := h.submit(t, id, k2["submission_key"].(string)); s != 201 {
		t.Fatalf("the new key: %d", s)
	}
	status, got := h.ProductDo(t, h.ProductKey, "PATCH", "/connections/"+id, "", map[string]any{
		"metadata": map[string]string{"plan": "team"}, "field_mapping": map[string]string{"email": "Email"},
		"allowed_fields": []string{"Lead_Source"}, "on_duplicate": "fill_empty", "concurrency_limit": 3})
	if status != 200 || got["on_duplicate"] != "fill_empty" || got["field_mapping"].(map[string]any)["email"] != "Email" ||
		got["concurrency_limit"] != float64(3) || got["edition"] != "enterprise" ||
		len(got["allowed_fields"].([]any)) != 1 || got["metadata"].(map[string]any)["plan"] != "team" {
		t.Fatalf("PATCH: %d %v", status, got)
	}
	for _, bad := range []map[string]any{{}, {"on_duplicate": "merge"}, {"field_mapping": map[string]string{"email": "lower"}},
		{"allowed_fields": []string{"$x"}}, {"status": "active"}, {"concurrency_limit": -1}, {"concurrency_limit": 26}} {
		if status, out := h.ProductDo(t, h.ProductKey, "PATCH", "/connections/"+id, "", bad); status != 400 {
			t.Errorf("PATCH %v: %d %v", bad, status, out)
		}
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "GET", "/connections/zc_unknown", "", nil); status != 404 {
		t.Fatalf("GET unknown: %d", status)
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "GET", "/connections", "limit=101", nil); status != 400 {
		t.Fatalf("limit 101: %d", status)
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "GET", "/connections", "cursor=abc", nil); status != 400 {
		t.Fatalf("a bad cursor: %d", status)
	}
}
