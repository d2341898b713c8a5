//go:build integration

package connect_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// harness is one test's bundle: the connect flow of testflow, with the
// callback function's AWS requests counted.
type harness struct {
	*testflow.Flow
	awsCalls *atomic.Int64
}

// countingTransport counts the AWS requests the function makes.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func newHarness(t testing.TB, opts zohosim.Options) *harness {
	t.Helper()
	cs := localstack.ClientSecret{ClientID: "1000.TESTCLIENT", ClientSecret: "s3cr3t-client-value", RedirectURI: "https://api.example.test/oauth/callback",
		ClientSecrets: map[string]string{"eu": "s3cr3t-eu-value"}}
	f := testflow.New(t, opts, testenv.WithClientSecret(cs))
	var calls atomic.Int64
	awsCfg := f.Env.Config.Copy()
	awsCfg.HTTPClient = &http.Client{Transport: countingTransport{base: http.DefaultTransport, n: &calls}}
	f.Callback = f.NewCallback(t, awsCfg)
	return &harness{Flow: f, awsCalls: &calls}
}

func (h *harness) tokenRequests() int {
	n := 0
	for _, r := range h.Sim.Requests() {
		if r.Path == "/oauth/v2/token" {
			n++
		}
	}
	return n
}

func euUser(h *harness) zohosim.User {
	return h.Sim.AddUser(zohosim.User{Email: "ana@example.eu", FullName: "Ana EU", Location: "eu", Orgs: []zohosim.Org{
		{Name: "Acme GmbH", Environment: zoho.Production},
		{Name: "Acme Sandbox", Environment: zoho.Sandbox},
		{Name: "Acme Dev", Environment: zoho.Developer},
	}})
}

func TestConnectRedirectsToZohoConsent(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := h.Start(t, "environment=Sandbox")
	q := u.Query()
	if u.Host != "accounts.zoho.com" || u.Path != "/oauth/v2/auth" || u.Scheme != "https" {
		t.Fatalf("consent URL %s", u.Redacted())
	}
	want := map[string]string{"client_id": "1000.TESTCLIENT", "response_type": "code", "access_type": "offline", "prompt": "consent",
		"redirect_uri": "https://api.example.test/oauth/callback", "scope": "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.settings.fields.READ"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("state")) < 22 { // 128 bits in base64url
		t.Errorf("state %d characters", len(q.Get("state")))
	}
	if s2 := h.Start(t, "environment=sandbox").Query().Get("state"); s2 == q.Get("state") {
		t.Error("two connects got the same state")
	}
	if cn := h.Start(t, "dc=CN"); cn.Host != "accounts.zoho.com.cn" {
		t.Errorf("dc=cn starts at %s", cn.Host)
	}
	for _, bad := range []string{"environment=staging", "dc=mars", "environment=sandbox&environment=production"} {
		resp := h.Do(t, "/connect", bad, true)
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"error":"invalid_request"`) {
			t.Errorf("/connect?%s answered %d %s", bad, resp.StatusCode, resp.Body)
		}
	}
}

func TestEveryDataCenterAndEnvironmentConnects(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	for _, dc := range zoho.DataCenters() {
		u := h.Sim.AddUser(zohosim.User{Email: "user@" + dc.Location + ".example", Location: dc.Location, Orgs: []zohosim.Org{
			{Name: dc.Name + " prod", Environment: zoho.Production},
			{Name: dc.Name + " sandbox", Environment: zoho.Sandbox},
			{Name: dc.Name + " dev", Environment: zoho.Developer},
		}})
		for _, org := range u.Orgs {
			query := "environment=" + org.Environment.String()
			if dc.Location == "cn" {
				query += "&dc=cn"
			}
			status, body := h.Connect(t, query, org.ID)
			if dc.Unconfirmed {
				// No source names its CRM API hosts: tokens are not sent
				// there unless an operator enables it, and the grant is
				// not spent.
				if status != 400 || body["error"] != "invalid_location" {
					t.Fatalf("%s (unconfirmed) %s: %d %v", dc.Location, org.Environment, status, body)
				}
				continue
			}
			if status != 200 {
				t.Fatalf("%s %s: %d %v", dc.Location, org.Environment, status, body)
			}
			if body["location"] != dc.Location || body["environment"] != org.Environment.String() || body["org_id"] != org.ID {
				t.Fatalf("%s %s: %v", dc.Location, org.Environment, body)
			}
			if body["connection_id"] != connection.ID(dc.Location, org.Environment, org.ID) || body["submission_key"] == nil {
				t.Fatalf("%s %s: %v", dc.Location, org.Environment, body)
			}
		}
	}
	// Every token request went to the accounts server of the user's DC,
	// and every CRM call to the org's own environment host.
	for _, r := range h.Sim.Requests() {
		if r.Path == "/oauth/v2/token" {
			if _, env, ok := zoho.ByHost(r.Host); !ok || env != 0 {
				t.Errorf("token request to %s", r.Host)
			}
		}
	}
	store := awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"])
	c, err := store.Get(context.Background(), connection.ID("ca", zoho.Sandbox, h.Sim.AddUser(zohosim.User{}).ID))
	if err == nil || c != nil {
		t.Fatal("found a connection that was never made")
	}
}

func TestConnectionIsStoredWithoutSecrets(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	status, body := h.Connect(t, "environment=sandbox", u.Orgs[1].ID)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	id := body["connection_id"].(string)
	ctx := context.Background()
	c, err := awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"]).Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Location != "eu" || c.AccountsServer != "https://accounts.zoho.eu" || c.APIDomain != "https://sandbox.zohoapis.eu" ||
		c.Environment != "sandbox" || c.OrgID != u.Orgs[1].ID || c.OrgName != "Acme Sandbox" || c.UserEmail != "ana@example.eu" ||
		c.UserID == "" || c.Status != connection.Active || c.TokenExpiresAt.IsZero() || c.CreatedAt.IsZero() {
		t.Fatalf("stored %+v", c)
	}
	key := body["submission_key"].(string)
	if !connection.KeyMatches(key, c.SubmissionHash) {
		t.Fatal("the stored hash does not match the key")
	}
	raw, _ := json.Marshal(c)
	if strings.Contains(string(raw), key) {
		t.Fatal("the key is stored")
	}
	vault := &awsstore.TokenVault{SM: h.Env.SecretsManager, Prefix: h.Env.TokenSecretPrefix}
	at, err := vault.AccessToken(ctx, id)
	if err != nil || !h.Sim.AccessTokenValid(at.Token.Reveal()) {
		t.Fatalf("access token in the vault: %v", err)
	}
	rt, err := vault.RefreshToken(ctx, id)
	if err != nil || !h.Sim.RefreshTokenActive(rt) {
		t.Fatalf("refresh token in the vault: %v", err)
	}
	// The two tokens live in two secrets, so IAM can tell them apart.
	for _, name := range []string{vault.AccessSecretName(id), vault.RefreshSecretName(id)} {
		if _, err := h.Env.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)}); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
}

func TestReconnectKeepsIDAndKeyAndRevokesTheOldToken(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	_, first := h.Connect(t, "environment=production", u.Orgs[0].ID)
	id := first["connection_id"].(string)
	vault := &awsstore.TokenVault{SM: h.Env.SecretsManager, Prefix: h.Env.TokenSecretPrefix}
	oldRT, err := vault.RefreshToken(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	status, second := h.Connect(t, "", u.Orgs[0].ID)
	if status != 200 || second["connection_id"] != id {
		t.Fatalf("%d %v", status, second)
	}
	if _, shown := second["submission_key"]; shown {
		t.Fatal("the submission key was shown again")
	}
	newRT, _ := vault.RefreshToken(context.Background(), id)
	if newRT == oldRT || !h.Sim.RefreshTokenActive(newRT) {
		t.Fatal("the refresh token was not replaced")
	}
	if h.Sim.RefreshTokenActive(oldRT) {
		t.Fatal("the replaced refresh token was not revoked")
	}
	c, _ := awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"]).Get(context.Background(), id)
	if !connection.KeyMatches(first["submission_key"].(string), c.SubmissionHash) {
		t.Fatal("the first submission key no longer matches")
	}
}

func TestEnvironmentMismatchRevokesTheNewToken(t *testing.T) {
	for _, names := range []bool{false, true} {
		h := newHarness(t, zohosim.Options{APIDomainNamesEnvironment: names})
		u := euUser(h)
		status, body := h.Connect(t, "environment=sandbox", u.Orgs[0].ID) // a production org
		if status != 409 || body["error"] != "environment_mismatch" {
			t.Fatalf("%d %v", status, body)
		}
		if st := h.Sim.Stats(); st.RefreshTokensIssued != 1 || st.Revocations != 1 {
			t.Fatalf("issued %d, revoked %d refresh tokens", st.RefreshTokensIssued, st.Revocations)
		}
		// Asked for no environment, the same org connects as production.
		status, body = h.Connect(t, "", u.Orgs[0].ID)
		if status != 200 || body["environment"] != "production" {
			t.Fatalf("%d %v", status, body)
		}
	}
}

func TestCallbackFailures(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	org := u.Orgs[1].ID
	good := func(t *testing.T) url.Values {
		back, _ := url.ParseQuery(h.Consent(t, h.Start(t, "environment=sandbox"), org, "accept"))
		return back
	}
	tests := []struct {
		name   string
		query  func(t *testing.T) string
		status int
		code   string
	}{
		{"refused", func(t *testing.T) string { return h.Consent(t, h.Start(t, ""), org, "reject") }, 403, "access_denied"},
		{"no code", func(t *testing.T) string { q := good(t); q.Del("code"); return q.Encode() }, 400, "invalid_request"},
		{"no state", func(t *testing.T) string { q := good(t); q.Del("state"); return q.Encode() }, 400, "invalid_state"},
		{"unknown state", func(t *testing.T) string { q := good(t); q.Set("state", "forged"); return q.Encode() }, 400, "invalid_state"},
		{"unknown location", func(t *testing.T) string { q := good(t); q.Set("location", "mars"); return q.Encode() }, 400, "invalid_location"},
		{"no location", func(t *testing.T) string { q := good(t); q.Del("location"); return q.Encode() }, 400, "invalid_location"},
		{"server of another DC", func(t *testing.T) string {
			q := good(t)
			q.Set("accounts-server", "https://accounts.zoho.com")
			return q.Encode()
		}, 400, "invalid_location"},
		{"forged server", func(t *testing.T) string {
			q := good(t)
			q.Set("accounts-server", "https://accounts.zoho.eu.attacker.example")
			return q.Encode()
		}, 400, "invalid_location"},
		{"grant expired", func(t *testing.T) string { q := good(t); h.Sim.Advance(61e9); return q.Encode() }, 400, "grant_expired"},
		{"zoho down", func(t *testing.T) string {
			q := good(t)
			h.Sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Status: 503, Times: 1})
			return q.Encode()
		}, 502, "zoho_unavailable"},
		{"org API down", func(t *testing.T) string {
			q := good(t)
			h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/org", Status: 500, Times: 1})
			return q.Encode()
		}, 502, "zoho_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.tokenRequests()
			for _, asJSON := range []bool{true, false} {
				// A state is single use, so each answer gets its own redirect.
				resp := h.Do(t, "/oauth/callback", tt.query(t), asJSON)
				if asJSON {
					var body map[string]string
					if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != tt.status || body["error"] != tt.code || body["message"] == "" {
						t.Fatalf("answered %d %s, want %d %s", resp.StatusCode, resp.Body, tt.status, tt.code)
					}
				} else if resp.StatusCode != tt.status || !strings.Contains(resp.Body, `data-code="`+tt.code+`"`) ||
					!strings.Contains(resp.Body, `id="retry"`) || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
					t.Fatalf("page for %s: %d %s", tt.code, resp.StatusCode, resp.Body)
				}
			}
			if tt.code == "invalid_location" && h.tokenRequests() != before {
				t.Fatal("a token request was sent for an unverified accounts server")
			}
		})
	}
	h.Sim.ClearFaults()
}

// The failures a person can act on say what to do: which DC refused the
// client and where to enable it; how long the grant waited.
func TestCallbackFailuresSayWhatToFix(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	good := func(t *testing.T) string {
		return h.Consent(t, h.Start(t, ""), u.Orgs[0].ID, "accept")
	}
	for _, tc := range []struct {
		name, code string
		status     int
		prepare    func()
		says       []string
	}{
		{"client not enabled for the DC", "client_not_enabled", 502, func() {
			h.Sim.Inject(zohosim.Fault{Host: "accounts.zoho.eu", Path: "/oauth/v2/token", Status: 200, Body: `{"error":"invalid_client"}`, Times: 1})
		}, []string{"Europe", "accounts.zoho.eu", "Multi-DC"}},
		{"wrong secret for the DC", "client_not_enabled", 502, func() {
			h.Sim.Inject(zohosim.Fault{Host: "accounts.zoho.eu", Path: "/oauth/v2/token", Status: 200, Body: `{"error":"invalid_client_secret"}`, Times: 1})
		}, []string{"Europe", "client_secrets.eu"}},
		{"grant expired", "grant_expired", 400, func() { h.Sim.Advance(61e9) }, []string{"after the sign-in started", "within about a minute"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := good(t)
			tc.prepare()
			resp := h.Do(t, "/oauth/callback", q, true)
			var body map[string]string
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != tc.status || body["error"] != tc.code {
				t.Fatalf("answered %d %s", resp.StatusCode, resp.Body)
			}
			for _, want := range tc.says {
				if !strings.Contains(body["message"], want) {
					t.Errorf("message %q does not say %q", body["message"], want)
				}
			}
		})
	}
	h.Sim.ClearFaults()
}

func TestForgedAccountsServerNeverGetsTheSecret(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	for _, forged := range []string{"https://evil.example", "https%3A%2F%2Fevil.example%2F%3Faccounts.zoho.eu", "http://accounts.zoho.eu",
		"https://accounts.zoho.eu:8443", "https://accounts.zoho.com.cn", "https://user@accounts.zoho.eu"} {
		back, _ := url.ParseQuery(h.Consent(t, h.Start(t, ""), u.Orgs[0].ID, "accept"))
		raw := "code=" + url.QueryEscape(back.Get("code")) + "&location=eu&state=" + url.QueryEscape(back.Get("state")) + "&accounts-server=" + forged
		resp := h.Do(t, "/oauth/callback", raw, true)
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, "invalid_location") {
			t.Fatalf("%s: %d %s", forged, resp.StatusCode, resp.Body)
		}
	}
	for _, r := range h.Sim.Requests() {
		if r.Form.Get("client_secret") != "" || r.Path == "/oauth/v2/token" {
			t.Fatalf("the simulator received a token request at %s", r.Host)
		}
	}
}

func TestStateReplayRaceHasOneWinner(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	for round := range 5 {
		back := h.Consent(t, h.Start(t, ""), u.Orgs[round%3].ID, "accept")
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Go(func() { statuses[i] = h.Do(t, "/oauth/callback", back, true).StatusCode })
		}
		wg.Wait()
		wins, replays := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				wins++
			case 400:
				replays++
			}
		}
		if wins != 1 || replays != len(statuses)-1 {
			t.Fatalf("round %d: statuses %v", round, statuses)
		}
	}
	if n := h.Sim.Stats().TokenRequests["authorization_code"]; n != 5 {
		t.Fatalf("%d code exchanges for 5 grants", n)
	}
}

func TestSuccessPageForAPerson(t *testing.T) {
	h := newHarness(t, zohosim.Options{})
	u := euUser(h)
	back := h.Consent(t, h.Start(t, "environment=developer"), u.Orgs[2].ID, "accept")
	resp := h.Do(t, "/oauth/callback", back, false)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "Zoho CRM connected") || !strings.Contains(resp.Body, "Acme Dev") ||
		!strings.Contains(resp.Body, "zsk_") || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	i := strings.Index(resp.Body, "zsk_")
	h.AddSecret(resp.Body[i : i+47])
}

// BenchmarkCallback measures the callback's own work per successful
// connect, with the simulator at zero latency, and reports how many AWS and
// Zoho calls one connect makes.
type asyncInvoke struct{ n *atomic.Int64 }

func (a asyncInvoke) RevokeReplaced(context.Context, string) error { a.n.Add(1); return nil }

func BenchmarkCallback(b *testing.B) {
	h := newHarness(b, zohosim.Options{Limits: zohosim.Limits{RefreshTokensPerUser: -1}})
	u := euUser(h)
	queries := make([]string, b.N)
	for i := range queries {
		queries[i] = h.Consent(b, h.Start(b, ""), u.Orgs[i%3].ID, "accept")
	}
	// In Lambda the callback asks RefreshFunction to revoke the replaced
	// token with an asynchronous invoke (one Lambda call, not waited for):
	// count it as such, rather than run the refresh in process.
	h.Callback.Service.Revoker = asyncInvoke{n: h.awsCalls}
	h.awsCalls.Store(0)
	h.Sim.ResetRequests()
	b.ResetTimer()
	for i := range b.N {
		if resp := h.Do(b, "/oauth/callback", queries[i], true); resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.awsCalls.Load())/float64(b.N), "aws-calls/op")
	b.ReportMetric(float64(len(h.Sim.Requests()))/float64(b.N), "zoho-calls/op")
}
