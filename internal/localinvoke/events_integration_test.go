//go:build integration && rie

package localinvoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/lambdarun"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The org ids the sample events name: the stage's seed org and its
// callback org, as connection ids (zc_ + SHA-256 of location/environment/org),
// and the seed org as SessionTenant's (the stream sample's).
const (
	seedConnectionID     = "zc_4ecc0cf74921ac6cf47e4ff4" // eu/sandbox/20071000202
	callbackConnectionID = "zc_8307b296396ed787fd0e97d6" // eu/sandbox/20071000203
	tenantConnectionID   = "zc_43a9f7057d047d94654ee910" // tenant/acme-gmbh/eu/sandbox/20071000202
)

// The stream sample's event, as the first delivery published it.
var streamEventID string

// expectation is what a sample event must do to its function, on the
// first invocation (n = 0) and on a repeat (n = 1), each made real anew.
type expectation struct {
	function string
	check    func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, n int)
}

var expectations = map[string]expectation{
	"connect.json": {"CallbackFunction", func(t *testing.T, s *Stage, _ map[string]any, inv *lambdarun.Invocation, _ int) {
		consentStarted(t, s, httpAnswer(t, inv, 302))
	}},
	"connect-session.json": {"CallbackFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		consentStarted(t, s, httpAnswer(t, inv, 302))
		q, _ := url.ParseQuery(str(sent["rawQueryString"]))
		if _, _, ok := connection.ParseSessionToken(zoho.Secret(q.Get("session"))); !ok || len(q) != 1 {
			t.Errorf("sent query %v: not a session the product API opened", q)
		}
	}},
	"callback-session.json": {"CallbackFunction", func(t *testing.T, _ *Stage, _ map[string]any, inv *lambdarun.Invocation, _ int) {
		// Back to the product; the first time a new connection of the
		// tenant's, then the same one reconnected.
		resp := httpAnswer(t, inv, 303)
		u, err := url.Parse(resp.Headers["Location"])
		if err != nil || u.Scheme+"://"+u.Host+u.Path != ReturnURL {
			t.Fatalf("Location %q, want the session's return_url %s", resp.Headers["Location"], ReturnURL)
		}
		q := u.Query()
		want := connection.TenantConnectionID(SessionTenant, "eu", zoho.Sandbox, CallbackOrgID)
		if q.Get("status") != "connected" || q.Get("connection_id") != want || !connection.ValidSessionID(q.Get("session_id")) || len(q) != 3 {
			t.Errorf("back with %v, want status=connected, connection_id=%s and the session's id", q, want)
		}
		if len(resp.Cookies) != 1 || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
			t.Errorf("cookies %q: the spent state's cookie is not cleared", resp.Cookies)
		}
	}},
	"product-create-session.json": {"ProductApiFunction", func(t *testing.T, _ *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		resp := httpAnswer(t, inv, 201)
		var a struct {
			ID         string    `json:"session_id"`
			ConnectURL string    `json:"connect_url"`
			ExpiresAt  time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(a.ConnectURL)
		domain := str(sent["requestContext"].(map[string]any)["domainName"])
		id, _, ok := connection.ParseSessionToken(zoho.Secret(u.Query().Get("session")))
		if err != nil || u.Scheme != "https" || u.Host != domain || u.Path != "/connect" || !ok || id != a.ID {
			t.Errorf("connect_url %q: want https://%s/connect?session=<session %s's token>", a.ConnectURL, domain, a.ID)
		}
		if left := time.Until(a.ExpiresAt); left < 28*time.Minute || left > 31*time.Minute {
			t.Errorf("expires_at %s: %s from now, want ConnectSessionTtlSeconds' 30 minutes", a.ExpiresAt, left)
		}
	}},
	"stream-connected.json": {"EventsFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, n int) {
		var resp events.DynamoDBEventResponse
		if err := json.Unmarshal(inv.Payload, &resp); err != nil || inv.FunctionError != "" {
			t.Fatalf("answer %s (%s)", inv.Payload, inv.FunctionError)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("batch item failures %v: the event was not published", resp.BatchItemFailures)
		}
		rec := sent["Records"].([]any)[0].(map[string]any)
		if !strings.Contains(str(rec["eventSourceARN"]), s.Deploy.Tables["ConnectionsTable"]+"/stream/") {
			t.Errorf("sent a record of %v, not of the stage's connections stream", rec["eventSourceARN"])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d, err := s.WaitEvent(ctx, productevents.Connected, tenantConnectionID)
		if err != nil {
			t.Fatalf("no connection.connected for %s on the bus: %v", tenantConnectionID, err)
		}
		if d.TenantID != SessionTenant || d.OrgID != SeedOrgID || d.Metadata["plan"] != "pro" || !connection.ValidSessionID(d.SessionID) {
			t.Errorf("event detail %+v", d)
		}
		// The same record delivered again publishes the same event_id:
		// consumers dedupe on it.
		if n == 0 {
			streamEventID = d.EventID
		} else if d.EventID != streamEventID {
			t.Errorf("the record again published event_id %s, the first time %s", d.EventID, streamEventID)
		}
	}},
	"callback.json": {"CallbackFunction", func(t *testing.T, _ *Stage, _ map[string]any, inv *lambdarun.Invocation, n int) {
		resp := httpAnswer(t, inv, 200)
		if !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
			t.Errorf("Content-Type %q: a browser asked", resp.Headers["Content-Type"])
		}
		for _, want := range []string{"Zoho CRM connected", callbackConnectionID, CallbackOrgName + " (" + CallbackOrgID + ")"} {
			if !strings.Contains(resp.Body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		// The first time the org is new and its key is shown; then it is a reconnect.
		if want := []string{"shown only this once", "connected before"}[n]; !strings.Contains(resp.Body, want) {
			t.Errorf("invocation %d: page lacks %q", n+1, want)
		}
	}},
	"callback-denied.json": {"CallbackFunction", func(t *testing.T, _ *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		resp := httpAnswer(t, inv, 403)
		if !strings.Contains(resp.Body, `data-code="access_denied"`) {
			t.Errorf("page is not access_denied: %s", resp.Body)
		}
		q, _ := url.ParseQuery(str(sent["rawQueryString"]))
		if q.Get("error") != "access_denied" || q.Get("state") == "" || q.Has("code") {
			t.Errorf("sent query %v: not Zoho's refusal", q)
		}
	}},
	"submission-json.json": {"SyncFunction", func(t *testing.T, s *Stage, _ map[string]any, inv *lambdarun.Invocation, _ int) {
		// The repeat answers the first answer, with its status, and creates nothing.
		created(t, s, inv, "jane.doe@example.com", "Doe")
	}},
	"submission-form.json": {"SyncFunction", func(t *testing.T, s *Stage, _ map[string]any, inv *lambdarun.Invocation, _ int) {
		created(t, s, inv, "maria.keller@example.eu", "Keller")
	}},
	"form-post.json": {"SyncFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		// A browser's post: on to the form's redirect URL; the lead in
		// the org once, the repeat a duplicate of it.
		resp := httpAnswer(t, inv, 303)
		if resp.Headers["Location"] != FormRedirectURL {
			t.Errorf("Location %q, want the form's redirect_url %s", resp.Headers["Location"], FormRedirectURL)
		}
		sentToForm(t, s, sent)
		if got := leads(s, "ingrid.lindqvist@example.se"); len(got) != 1 || fmt.Sprint(got[0]["Description"]) != "Bitte um Rückruf" {
			t.Errorf("the org holds %v, want the one lead the form posted", got)
		}
	}},
	"form-fetch.json": {"SyncFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		// fetch from an allowed origin: the submission's JSON, with CORS.
		created(t, s, inv, "chidi.okafor@example.ng", "Okafor")
		resp := httpAnswer(t, inv, 201)
		if resp.Headers["Access-Control-Allow-Origin"] != FormOrigin || resp.Headers["Vary"] != "Origin" {
			t.Errorf("headers %v: want Access-Control-Allow-Origin %s and Vary: Origin", resp.Headers, FormOrigin)
		}
		sentToForm(t, s, sent)
	}},
	"form-preflight.json": {"SyncFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		resp := httpAnswer(t, inv, 204)
		if resp.Headers["Access-Control-Allow-Origin"] != FormOrigin || !strings.Contains(resp.Headers["Access-Control-Allow-Methods"], "POST") ||
			!strings.Contains(strings.ToLower(resp.Headers["Access-Control-Allow-Headers"]), "content-type") {
			t.Errorf("preflight headers %v: want Access-Control-Allow-Origin %s, POST and Content-Type allowed", resp.Headers, FormOrigin)
		}
		sentToForm(t, s, sent)
	}},
	"form-post-other-origin.json": {"SyncFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		// A page the form was not made for: refused, no CORS, nothing sent.
		resp := httpAnswer(t, inv, 403)
		if !strings.Contains(resp.Body, "origin_not_allowed") {
			t.Errorf("body lacks origin_not_allowed: %s", resp.Body)
		}
		if v, ok := resp.Headers["Access-Control-Allow-Origin"]; ok {
			t.Errorf("Access-Control-Allow-Origin %q for a refused origin", v)
		}
		sentToForm(t, s, sent)
		if got := leads(s, "offer@spam.example"); len(got) != 0 {
			t.Errorf("the org holds %v from a refused origin", got)
		}
	}},
	"sqs-retry.json": {"SyncFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, n int) {
		var resp events.SQSEventResponse
		if err := json.Unmarshal(inv.Payload, &resp); err != nil || inv.FunctionError != "" {
			t.Fatalf("answer %s (%s)", inv.Payload, inv.FunctionError)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("batch item failures %v: the queued submission was not delivered", resp.BatchItemFailures)
		}
		queued := s.Queued()
		if len(queued) != n+1 {
			t.Fatalf("%d submissions queued, want %d", len(queued), n+1)
		}
		q := queued[n]
		var body map[string]string
		rec := sent["Records"].([]any)[0].(map[string]any)
		if json.Unmarshal([]byte(str(rec["body"])), &body) != nil || body["idempotency_key"] != q.Message.Key || body["connection_id"] != seedConnectionID {
			t.Errorf("record body %v is not the queued submission's message %+v", rec["body"], q.Message)
		}
		if got := leads(s, q.Email); len(got) != 1 {
			t.Errorf("%d leads %s in the org after the retry, want 1", len(got), q.Email)
		}
	}},
	"refresh-one.json": {"RefreshFunction", func(t *testing.T, s *Stage, sent map[string]any, inv *lambdarun.Invocation, _ int) {
		var a struct {
			ConnectionID   string    `json:"connection_id"`
			Outcome        string    `json:"outcome"`
			TokenExpiresAt time.Time `json:"token_expires_at"`
		}
		if err := json.Unmarshal(inv.Payload, &a); err != nil || inv.FunctionError != "" {
			t.Fatalf("answer %s (%s)", inv.Payload, inv.FunctionError)
		}
		rejected, err := time.Parse(time.RFC3339, str(sent["rejected_token_expires_at"]))
		if err != nil {
			t.Fatal(err)
		}
		if a.ConnectionID != seedConnectionID || a.Outcome != "refreshed" || a.TokenExpiresAt.Before(rejected) {
			t.Errorf("answer %+v; the rejected token expired %s", a, rejected)
		}
		if stored, err := s.TokenExpiry(context.Background(), seedConnectionID); err != nil || !stored.Equal(a.TokenExpiresAt) {
			t.Errorf("stored expiry %v (%v), answered %v", stored, err, a.TokenExpiresAt)
		}
	}},
	"refresh-schedule.json": {"RefreshFunction", func(t *testing.T, s *Stage, _ map[string]any, inv *lambdarun.Invocation, _ int) {
		// The scheduled invocation starts one worker per shard, each an
		// asynchronous invocation of RefreshFunction through the Lambda
		// API; each worker answers its own counts.
		var started struct {
			WorkersStarted int `json:"workers_started"`
		}
		if err := json.Unmarshal(inv.Payload, &started); err != nil || inv.FunctionError != "" {
			t.Fatalf("answer %s (%s)", inv.Payload, inv.FunctionError)
		}
		if started.WorkersStarted != 16 {
			t.Errorf("answer %s: want 16 workers started", inv.Payload)
		}
		s.Lambda.Wait()
		calls := s.Calls()
		at := slices.IndexFunc(calls, func(c Call) bool { return c.Invocation == inv })
		shards := map[string]bool{}
		var due, refreshed, failed, reauth int
		for _, c := range calls[at+1:] {
			var sum struct {
				Shard                  string
				Due, Refreshed, Failed int
				Reauth                 int `json:"reauth_required"`
			}
			if c.Function != "RefreshFunction" || json.Unmarshal(c.Invocation.Payload, &sum) != nil || sum.Shard == "" {
				continue
			}
			if c.Invocation.FunctionError != "" {
				t.Errorf("worker %s failed: %s", sum.Shard, c.Invocation.Payload)
			}
			shards[sum.Shard] = true
			due, refreshed, failed, reauth = due+sum.Due, refreshed+sum.Refreshed, failed+sum.Failed, reauth+sum.Reauth
		}
		if len(shards) != 16 || due < 1 || refreshed != due || failed != 0 || reauth != 0 {
			t.Errorf("%d shards' workers answered: %d due, %d refreshed, %d failed, %d reauth_required; every connection is due (20-minute tokens) and refreshed",
				len(shards), due, refreshed, failed, reauth)
		}
	}},
}

// Every sample event in events/, through the real bootstrap of the
// function the template delivers it to, under the emulator, twice; then
// sync's on-demand refresh through the local Lambda API. The functions'
// logs must hold no secret, and each function starts exactly once.
func TestSampleEventsUnderTheEmulator(t *testing.T) {
	s, logs := startStage(t, Options{})

	names := sampleEvents(t)
	var covered []string
	for _, name := range names {
		if _, ok := expectations[name]; !ok {
			t.Errorf("events/%s has no expectation here: say what it must do", name)
		}
	}
	for name, e := range expectations {
		if !contains(names, name) {
			t.Errorf("expectation for events/%s, which does not exist", name)
		}
		covered = append(covered, e.function)
	}
	for _, fn := range s.Functions() {
		if !contains(covered, fn) {
			t.Errorf("%s has no sample event in events/: add one, and its expectation here", fn)
		}
	}

	// First, while sync holds no token: a token read before a later
	// refresh is older than the stored one, and the simulator refuses
	// every token it issued (refreshed_by_another, then refused again).
	t.Run("on-demand refresh through the Lambda API", func(t *testing.T) { onDemandRefresh(t, s) })
	for _, name := range names {
		if _, ok := expectations[name]; ok {
			runSample(t, s, name)
		}
	}

	// The two reconnects (callback.json's and callback-session.json's
	// second) had the callback ask RefreshFunction, through the Lambda API
	// and without waiting, to revoke the refresh token they replaced.
	s.Lambda.Wait()
	if got := s.Sim.Stats().Revocations; got != 2 {
		t.Errorf("%d refresh tokens revoked at Zoho, want the two that reconnects replaced", got)
	}

	// One execution environment per function: one cold start each, the
	// first invocation, with a real init.
	byFunction := map[string][]lambdarun.Report{}
	for _, c := range s.Calls() {
		byFunction[c.Function] = append(byFunction[c.Function], c.Invocation.Report)
	}
	var table []string
	for _, fn := range s.Functions() {
		reps := byFunction[fn]
		if len(reps) == 0 {
			t.Errorf("%s was never invoked", fn)
			continue
		}
		colds := 0
		for _, r := range reps {
			if r.Cold {
				colds++
			}
		}
		if !reps[0].Cold || colds != 1 || reps[0].Init <= 0 {
			t.Errorf("%s: %d cold starts, first cold %v, init %v; want exactly one, the first", fn, colds, reps[0].Cold, reps[0].Init)
		}
		table = append(table, figures(fn, s.Bootstraps[fn], reps))
	}
	t.Logf("under the emulator (linux bootstraps for this machine):\n%s", strings.Join(table, "\n"))

	for _, leak := range testflow.Leaks(logs.String(), s.Secrets()) {
		t.Errorf("the functions' logs contain %s", leak)
	}
}

// runSample sends events/name, made real, to the function its
// expectation names, twice, and checks each answer.
func runSample(t *testing.T, s *Stage, name string) {
	t.Helper()
	e := expectations[name]
	ctx := context.Background()
	t.Run(name, func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(s.opts.ModuleDir, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		if delivered, err := s.FunctionFor(raw); err != nil || (delivered != "" && delivered != e.function) {
			t.Fatalf("the template delivers it to %q (%v), the expectation says %s", delivered, err, e.function)
		}
		checkNamedConnection(t, raw)
		for n := 0; n < 2; n++ {
			payload, err := s.Prepare(ctx, name, raw)
			if err != nil {
				t.Fatal(err)
			}
			sent, _ := decodeObject(payload)
			inv, err := s.Invoke(ctx, e.function, "events/"+name, payload)
			if err != nil {
				t.Fatal(err)
			}
			e.check(t, s, sent, inv, n)
		}
	})
}

// onDemandRefresh: a submission with an access token Zoho refuses has
// sync invoke RefreshFunction through the Lambda API, and then succeeds.
// Run it before sync has read a token (see the callers).
func onDemandRefresh(t *testing.T, s *Stage) {
	ctx := context.Background()
	refreshName := s.FunctionName("RefreshFunction")
	env, err := s.Env("SyncFunction")
	if err != nil {
		t.Fatal(err)
	}
	if env["REFRESH_FUNCTION_NAME"] != refreshName {
		t.Fatalf("sync invokes %q, the stage serves RefreshFunction as %q", env["REFRESH_FUNCTION_NAME"], refreshName)
	}
	c, err := s.Connected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := s.Lambda.Invocations(refreshName)
	s.Sim.ExpireAccessTokens() // Zoho now refuses the token sync holds
	email := "on.demand." + randomHex(3) + "@example.com"
	body := []byte(`{"Last_Name":"Refresh","Email":"` + email + `","Company":"Lambda API"}`)
	req := HTTPRequest(http.MethodPost, "/connections/"+c.ID+"/submissions", "", map[string]string{
		"content-type": "application/json", "authorization": "Bearer " + c.SubmissionKey}, body)
	req.RouteKey, req.RequestContext.RouteKey = routeSubmissions, routeSubmissions
	req.PathParameters = map[string]string{"connection_id": c.ID}
	resp, err := s.invokeRoute(ctx, routeSubmissions, "submission with a token Zoho refuses", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || len(leads(s, email)) != 1 {
		t.Errorf("answered %d %s; want 201 after the on-demand refresh", resp.StatusCode, resp.Body)
	}
	if got := s.Lambda.Invocations(refreshName) - before; got != 1 {
		t.Errorf("RefreshFunction invoked %d times through the Lambda API, want 1", got)
	}
}

// buildDir is where the package's stages build their bootstraps: once
// for every test (go's cache makes the second build a relink at most).
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localinvoke-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startStage(t *testing.T, opts Options) (*Stage, *testflow.LogBuffer) {
	t.Helper()
	logs := &testflow.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts.BuildDir, opts.Output = buildDir, logs
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(cctx); err != nil {
			t.Errorf("closing the stage: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	return s, logs
}

func sampleEvents(t *testing.T) []string {
	t.Helper()
	mod, err := lambdarun.ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(mod, "events", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no events/*.json (%v)", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	return names
}

// checkNamedConnection holds the samples true: a connection id an event
// names is one the stage really makes.
func checkNamedConnection(t *testing.T, raw []byte) {
	t.Helper()
	for _, id := range connectionIDs(string(raw)) {
		if id != seedConnectionID && id != callbackConnectionID && id != tenantConnectionID {
			t.Errorf("the event names %s, which is no org the stage connects (%s, %s, %s)", id, seedConnectionID, callbackConnectionID, tenantConnectionID)
		}
	}
}

func connectionIDs(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "zc_")
		if i < 0 || len(s) < i+27 {
			return out
		}
		if id := s[i : i+27]; connection.ValidID(id) { // not a cookie's __Host-zc_...
			out = append(out, id)
			s = s[i+27:]
			continue
		}
		s = s[i+3:]
	}
}

// consentStarted checks /connect's answer: Zoho's consent page, and the
// cookie that binds its state to the browser.
func consentStarted(t *testing.T, s *Stage, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	u, err := url.Parse(resp.Headers["Location"])
	if err != nil || u.Scheme != "https" || u.Host != "accounts.zoho.com" || u.Path != "/oauth/v2/auth" {
		t.Fatalf("Location %q", resp.Headers["Location"])
	}
	q := u.Query()
	if q.Get("client_id") != s.ClientID || q.Get("response_type") != "code" || q.Get("access_type") != "offline" ||
		q.Get("redirect_uri") != redirectURI || len(q.Get("state")) < 32 {
		t.Errorf("consent URL query %v", q)
	}
	if len(resp.Cookies) != 1 {
		t.Fatalf("cookies %q, want the state's", resp.Cookies)
	}
	attrs := strings.Split(resp.Cookies[0], "; ")
	if !strings.HasPrefix(attrs[0], "__Host-") || !slices.Contains(attrs, "Secure") || !slices.Contains(attrs, "HttpOnly") ||
		!slices.Contains(attrs, "SameSite=Lax") || !slices.Contains(attrs, "Path=/") || slices.ContainsFunc(attrs, func(a string) bool { return strings.HasPrefix(a, "Domain=") }) {
		t.Errorf("cookie %q: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", resp.Cookies[0])
	}
}

func httpAnswer(t *testing.T, inv *lambdarun.Invocation, status int) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(inv.Payload, &resp); err != nil || inv.FunctionError != "" {
		t.Fatalf("answer %s (%s, %v)", inv.Payload, inv.FunctionError, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
	}
	return resp
}

// sentToForm checks that an event went to the stage's form.
func sentToForm(t *testing.T, s *Stage, sent map[string]any) {
	t.Helper()
	f, err := s.Form(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := sent["pathParameters"].(map[string]any); p["form_id"] != f.ID || sent["rawPath"] != "/f/"+f.ID {
		t.Errorf("sent to %v %v, not to the stage's form %s", sent["rawPath"], sent["pathParameters"], f.ID)
	}
}

var recordIDs sync.Map // stage and email → the record id its first answer named

func created(t *testing.T, s *Stage, inv *lambdarun.Invocation, email, lastName string) {
	t.Helper()
	resp := httpAnswer(t, inv, 201)
	var a struct {
		Status   string `json:"status"`
		RecordID string `json:"record_id"`
		Module   string `json:"module"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatal(err)
	}
	if a.Status != "created" || a.Module != "Leads" || a.RecordID == "" {
		t.Errorf("answer %s", resp.Body)
	}
	if first, loaded := recordIDs.LoadOrStore(fmt.Sprintf("%p %s", s, email), a.RecordID); loaded && first != a.RecordID {
		t.Errorf("the repeat names record %s, the first answer %s", a.RecordID, first)
	}
	got := leads(s, email)
	if len(got) != 1 || fmt.Sprint(got[0]["Last_Name"]) != lastName || fmt.Sprint(got[0]["id"]) != a.RecordID {
		t.Errorf("the org holds %v for %s, want one lead %s, record %s", got, email, lastName, a.RecordID)
	}
}

func leads(s *Stage, email string) []map[string]any {
	var out []map[string]any
	for _, r := range s.Sim.Records(SeedOrgID, "Leads") {
		if r["Email"] == email {
			out = append(out, r)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// figures is one function's line of the table: bootstrap size, cold
// start, warm durations.
func figures(fn, bootstrap string, reps []lambdarun.Report) string {
	size := int64(0)
	if st, err := os.Stat(bootstrap); err == nil {
		size = st.Size()
	}
	var warm []time.Duration
	var rss int64
	for _, r := range reps {
		if !r.Cold {
			warm = append(warm, r.Duration)
		}
		if r.MaxRSSBytes > rss {
			rss = r.MaxRSSBytes
		}
	}
	sort.Slice(warm, func(i, j int) bool { return warm[i] < warm[j] })
	median := time.Duration(0)
	if len(warm) > 0 {
		median = warm[len(warm)/2]
	}
	return fmt.Sprintf("  %-18s bootstrap %5.1f MB  init %6.2f ms  first invoke %7.2f ms  warm median %7.2f ms (%d)  max RSS %4.1f MB",
		fn, float64(size)/(1<<20), ms(reps[0].Init), ms(reps[0].Invoke), ms(median), len(warm), float64(rss)/(1<<20))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
