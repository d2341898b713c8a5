// Command demo tells the bundle's story on this machine, with no AWS
// account, no Zoho account and no Docker, the way a product uses it: the
// product opens a connect session for one of its tenants, the customer's
// browser follows its connect_url through the simulated Zoho consent page
// (carrying the state's cookie, as a browser does) back to the product's
// return_url, the product hears of the new connection from the event bus,
// fetches the connection's submission key, and a website form posts a
// lead with it; then the refresh schedule renews the token, and the
// product disconnects the org.
//
// Every request goes over HTTP to the template's routes (the dev server,
// in process, on a loopback port), answered by the functions' real
// handlers against DynamoDB Local, moto and the Zoho simulator; the event
// comes from the connections table's stream through EventsFunction onto
// the EventBridge bus. The story it prints is checked against what the
// simulator recorded. `make demo` starts the local stack, runs this, and
// stops everything.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
)

func main() {
	logPath := flag.String("log", ".cache/demo.log", "where the functions' JSON logs go")
	tokenStore := flag.String("token-store", "SecretsManager", "the template's TokenStore: SecretsManager or DynamoDB (KMS-sealed tokens in the tokens table)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *logPath, *tokenStore); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// The story's cast: the product's tenant, and its customer's org in the
// simulator's demo data (Eva Schmidt's EU sandbox).
const (
	tenant  = "acme-gmbh"
	user    = "eva@acme-europe.example"
	orgID   = "20071000202"
	orgName = "Acme Europe QA Sandbox"
)

var lead = url.Values{"first_name": {"Maria"}, "last_name": {"Keller"}, "email": {"maria.keller@example.eu"},
	"company": {"Keller Logistik GmbH"}, "message": {"Please call me about a quote."}}

func run(ctx context.Context, out io.Writer, logPath, tokenStore string) error {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logs.Close()
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }

	start := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	api := "http://" + ln.Addr().String()
	b, err := localrun.Start(ctx, localrun.Options{
		Prefix: "demo", BaseURL: api, Logs: logs,
		Params: map[string]string{
			"ReturnUrlOrigins": api,
			// A fresh token has an hour left; a window over an hour makes
			// it due at once, so the demo need not wait 30 minutes.
			"RefreshWindowSeconds": "3900",
			"TokenStore":           tokenStore,
		},
	})
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	srv, err := devserver.New(b, logging.New(logs, "info").With("component", "devserver"))
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, srv) }()
	p("Local bundle ready in %s: template.yaml's tables, stream, secrets, queues and event bus in DynamoDB Local", since(start))
	p("and moto, the Zoho simulator, and the five functions' real handlers behind the template's routes on")
	p("%s. Function logs: %s", api, logPath)

	d := &demo{b: b, api: api, p: p, product: b.ProductAPIKey}
	for _, step := range []func(context.Context) error{d.session, d.connect, d.connected, d.submissionKey, d.submit, d.refresh, d.disconnect} {
		p("")
		if err := step(ctx); err != nil {
			return err
		}
	}
	p("")
	p("Done in %s. Each step was checked against the simulator's records; nothing is left running.", since(start))
	return nil
}

type demo struct {
	b            *localrun.Bundle
	api, product string
	p            func(string, ...any)

	sessionID, connectURL string
	connectionID, key     string
	connectedAt           time.Time
}

// 1. The product's backend opens a session for its tenant.
func (d *demo) session(ctx context.Context) error {
	body := map[string]any{"tenant_id": tenant, "environment": "sandbox", "return_url": d.api + devserver.ReturnPath, "metadata": map[string]string{"plan": "pro"}}
	var s struct {
		ID         string    `json:"session_id"`
		ConnectURL string    `json:"connect_url"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	if err := d.call(ctx, "POST", "/connect/sessions", d.product, body, 201, &s); err != nil {
		return err
	}
	d.sessionID, d.connectURL = s.ID, s.ConnectURL
	// The session's id, not its secret (after the dot).
	shown := s.ConnectURL
	if i := strings.Index(shown, "session="); i >= 0 {
		if j := strings.IndexByte(shown[i:], '.'); j >= 0 {
			shown = shown[:i+j]
		}
	}
	d.p("1. The product opens a connect session for its tenant %q", tenant)
	d.p("   POST /connect/sessions (with its API key) → 201 session %s, open until %s", s.ID, clock(s.ExpiresAt))
	d.p("   connect_url %s.… (the secret after the dot is not printed)", shown)
	return nil
}

// 2. The customer's browser: connect_url, the consent page, back.
func (d *demo) connect(ctx context.Context) error {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	d.p("2. The customer's browser follows connect_url")
	resp, err := browser.Get(d.connectURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	consent, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || len(resp.Cookies()) != 1 {
		return fmt.Errorf("GET /connect answered %d, Location %q, %d cookies", resp.StatusCode, resp.Header.Get("Location"), len(resp.Cookies()))
	}
	c := resp.Cookies()[0]
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		return fmt.Errorf("GET /connect set the cookie %s", c)
	}
	d.p("   GET /connect?session=…  → 302 to Zoho's consent page (%s), cookie %s…: Secure; HttpOnly; SameSite=Lax; Path=/",
		strings.TrimPrefix(strings.Split(consent.Path, "/oauth")[0], "/_host/"), c.Name[:12])

	page, err := browser.Get(consent.String())
	if err != nil {
		return err
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !bytes.Contains(html, []byte(`value="`+orgID+`"`)) {
		return fmt.Errorf("the consent page (%d) does not offer org %s", page.StatusCode, orgID)
	}
	resp, err = browser.PostForm(consent.String(), url.Values{"org": {orgID}, "action": {"accept"}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || back.Path != "/oauth/callback" {
		return fmt.Errorf("the consent page answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	d.p("   Consent page: %s picks %q (%s), Accept → 302 to /oauth/callback, location=%s", user, orgName, orgID, back.Query().Get("location"))

	resp, err = browser.Get(back.String()) // the jar sends the state's cookie
	if err != nil {
		return err
	}
	resp.Body.Close()
	ret, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || err != nil || ret.Path != devserver.ReturnPath || ret.Query().Get("status") != "connected" || ret.Query().Get("session_id") != d.sessionID {
		return fmt.Errorf("GET /oauth/callback answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	d.connectionID, d.connectedAt = ret.Query().Get("connection_id"), time.Now()
	d.p("   GET /oauth/callback, the cookie sent back → 303 to the return_url: status=connected, connection_id=%s", d.connectionID)
	return nil
}

// 3. The event: the stored connection on the stream, EventsFunction, the bus.
func (d *demo) connected(ctx context.Context) error {
	ev, err := d.event(ctx, productevents.Connected)
	if err != nil {
		return err
	}
	x := ev.Detail
	if x.TenantID != tenant || x.OrgID != orgID || x.UserEmail != user || x.SessionID != d.sessionID || x.Metadata["plan"] != "pro" {
		return fmt.Errorf("the event says %+v", x)
	}
	d.p("3. The product hears of it on the event bus, %s after the callback (stream → EventsFunction → EventBridge)", since(d.connectedAt))
	d.p("   %s: %s %s org %q by %s, tenant %q, metadata plan=%s", ev.DetailType, x.Location, x.Environment, x.OrgName, x.UserEmail, x.TenantID, x.Metadata["plan"])
	return nil
}

// 4. The product fetches the connection's submission key.
func (d *demo) submissionKey(ctx context.Context) error {
	var k struct {
		Key   string `json:"submission_key"`
		KeyID string `json:"key_id"`
	}
	if err := d.call(ctx, "POST", "/connections/"+d.connectionID+"/submission-key", d.product, nil, 201, &k); err != nil {
		return err
	}
	d.key = k.Key
	d.p("4. The product fetches the connection's submission key")
	d.p("   POST /connections/%s/submission-key → 201, key id %s (the key is not printed)", d.connectionID, k.KeyID)
	return nil
}

// 5. A website posts its contact form with the key.
func (d *demo) submit(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", d.api+"/connections/"+d.connectionID+"/submissions", strings.NewReader(lead.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+d.key)
	var created struct {
		Status, Module string
		RecordID       string `json:"record_id"`
	}
	if err := do(req, 201, &created); err != nil {
		return err
	}
	d.p("5. A website posts its contact form with that key")
	d.p("   POST /connections/%s/submissions → 201 %s, record %s in %s", d.connectionID, created.Status, created.RecordID, created.Module)
	var found map[string]any
	for _, r := range d.b.Sim.Records(orgID, "Leads") {
		if r["id"] == created.RecordID {
			found = r
		}
	}
	if found == nil || found["Email"] != lead.Get("email") {
		return fmt.Errorf("the simulator's org %s holds no lead %s for %s", orgID, created.RecordID, lead.Get("email"))
	}
	host := ""
	for _, r := range d.b.Sim.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/crm/v8/Leads") && r.Status < 300 {
			host = r.Host
		}
	}
	if host != "sandbox.zohoapis.eu" {
		return fmt.Errorf("the lead was written on %q, not the EU sandbox's host", host)
	}
	d.p("   ✔ the simulator's org holds %s %s <%s>, company %q, written on %s", found["First_Name"], found["Last_Name"], found["Email"], found["Company"], host)
	return nil
}

// 6. The refresh schedule fires. (A second passes first, so the new
// expiry, counted in seconds from Zoho's answer, is visibly later.)
func (d *demo) refresh(ctx context.Context) error {
	time.Sleep(time.Second)
	store := d.b.Connections()
	before, err := store.Get(ctx, d.connectionID)
	if err != nil {
		return err
	}
	raw, err := d.b.Refresh.Handle(ctx, json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler"}`))
	if err != nil {
		return fmt.Errorf("refresh run: %w", err)
	}
	after, err := store.Get(ctx, d.connectionID)
	if err != nil {
		return err
	}
	if !after.TokenExpiresAt.After(before.TokenExpiresAt) {
		return fmt.Errorf("the refresh did not move the token's expiry (%v)", raw)
	}
	summary, _ := json.Marshal(raw)
	var s struct{ Due, Refreshed int }
	_ = json.Unmarshal(summary, &s)
	d.p("6. The refresh schedule fires")
	d.p("   %d due, %d refreshed: token expiry %s → %s (no event: a refresh changes no status)",
		s.Due, s.Refreshed, clock(before.TokenExpiresAt), clock(after.TokenExpiresAt))
	return nil
}

// 7. The product disconnects the org.
func (d *demo) disconnect(ctx context.Context) error {
	revocations := d.b.Sim.Stats().Revocations
	if err := d.call(ctx, "DELETE", "/connections/"+d.connectionID, d.product, nil, 200, nil); err != nil {
		return err
	}
	at := time.Now()
	if got := d.b.Sim.Stats().Revocations - revocations; got != 1 {
		return fmt.Errorf("%d revocations at Zoho, want 1", got)
	}
	ev, err := d.event(ctx, productevents.Disconnected)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", d.api+"/connections/"+d.connectionID+"/submissions", strings.NewReader(lead.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+d.key)
	if err := do(req, 401, nil); err != nil {
		return err
	}
	d.p("7. The product disconnects the org")
	d.p("   DELETE /connections/%s → 200: RefreshFunction revoked the refresh token at Zoho", d.connectionID)
	d.p("   %s arrived %s later (reason %q); the form now gets 401", ev.DetailType, since(at), ev.Detail.Reason)
	return nil
}

// event waits for the connection's next event of that type.
func (d *demo) event(ctx context.Context, detailType string) (localrun.BusEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ev, err := d.b.WaitEvent(ctx, detailType, d.connectionID)
	if err != nil {
		return ev, fmt.Errorf("no %s event for %s on the bus: %w", detailType, d.connectionID, err)
	}
	return ev, nil
}

// call is one product API request with its key.
func (d *demo) call(ctx context.Context, method, path, key string, body any, status int, into any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.api+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(req, status, into)
}

func do(req *http.Request, status int, into any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s answered %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, status, b)
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(b, into); err != nil {
		return errors.Join(fmt.Errorf("%s %s: the answer is not the JSON expected", req.Method, req.URL.Path), err)
	}
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

func clock(t time.Time) string { return t.UTC().Format("15:04:05 MST") }
