// Command demo tells the bundle's whole story on this machine, with no AWS
// account, no Zoho account and no Docker: it connects a Zoho CRM org
// through the simulated consent page, refreshes its token, posts a form
// submission and finds the lead in that org; first an EU sandbox org, then
// a US production org. Every step runs the functions' real handlers against
// DynamoDB Local, moto and the Zoho simulator, and the story it prints is
// checked against what the simulator recorded. `make demo` starts the
// local stack, runs this, and stops everything.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func main() {
	logPath := flag.String("log", ".cache/demo.log", "where the functions' JSON logs go")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// story is one org's walk through the bundle.
type story struct {
	title       string
	connect     string // GET /connect's query
	user, orgID string
	lead        url.Values
}

var stories = []story{
	{
		title: "An EU sandbox org", connect: "environment=sandbox", user: "eva@acme-europe.example", orgID: "20071000202",
		lead: url.Values{"first_name": {"Maria"}, "last_name": {"Keller"}, "email": {"maria.keller@example.eu"},
			"company": {"Keller Logistik GmbH"}, "message": {"Please call me about a quote."}},
	},
	{
		title: "A US production org", connect: "environment=production", user: "sam@acme-us.example", orgID: "20071000211",
		lead: url.Values{"name": {"Jordan Lee"}, "email": {"jordan@example.com"}, "phone": {"+1 555 0100"}, "company": {"Lee & Co"}},
	},
}

func run(ctx context.Context, out io.Writer, logPath string) error {
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
	b, err := localrun.Start(ctx, localrun.Options{
		Prefix: "demo", Logs: logs,
		// A fresh token has an hour left; a window over an hour makes it
		// due at once, so the demo need not wait 30 minutes.
		Params: map[string]string{"RefreshWindowSeconds": "3900"},
	})
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	p("Local bundle ready in %s: DynamoDB Local and moto (tables, secrets and queues from template.yaml),", time.Since(start).Round(time.Millisecond))
	p("the Zoho simulator at %s, and the three functions' real handlers.", b.SimURL)
	p("Function logs: %s", logPath)

	zc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: b.SimURL})
	if err != nil {
		return err
	}
	for i, s := range stories {
		p("")
		p("%d. %s", i+1, s.title)
		if err := s.tell(ctx, b, zc, p); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	p("")
	p("Done in %s. Everything above was checked against the simulator's records; nothing is left running.", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s story) tell(ctx context.Context, b *localrun.Bundle, zc *http.Client, p func(string, ...any)) error {
	// 1. The person clicks "Connect Zoho CRM".
	resp, err := b.Callback.Handle(ctx, apiRequest("GET", "/connect", s.connect, nil, nil))
	if err != nil || resp.StatusCode != 302 {
		return fmt.Errorf("GET /connect answered %d %s", resp.StatusCode, resp.Body)
	}
	consent, _ := url.Parse(resp.Headers["Location"])
	p("   GET /connect?%s → 302 to %s://%s%s (scope %s)", s.connect, consent.Scheme, consent.Host, consent.Path, consent.Query().Get("scope"))

	// 2. Zoho's consent page: the person picks the org and accepts.
	page, err := get(zc, consent.String())
	if err != nil {
		return err
	}
	if !strings.Contains(page, `value="`+s.orgID+`"`) {
		return fmt.Errorf("the consent page does not offer org %s", s.orgID)
	}
	back, err := accept(zc, consent, s.orgID)
	if err != nil {
		return err
	}
	bq, _ := url.ParseQuery(back)
	p("   Consent page: %s picks org %s and accepts → Zoho redirects with location=%s, accounts-server=%s",
		s.user, s.orgID, bq.Get("location"), bq.Get("accounts-server"))

	// 3. Zoho's redirect reaches the callback.
	resp, err = b.Callback.Handle(ctx, apiRequest("GET", "/oauth/callback", back, map[string]string{"accept": "application/json"}, nil))
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("GET /oauth/callback answered %d %s", resp.StatusCode, resp.Body)
	}
	var conn struct {
		ID          string    `json:"connection_id"`
		Location    string    `json:"location"`
		Environment string    `json:"environment"`
		OrgID       string    `json:"org_id"`
		OrgName     string    `json:"org_name"`
		APIDomain   string    `json:"api_domain"`
		Key         string    `json:"submission_key"`
		Expires     time.Time `json:"token_expires_at"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &conn); err != nil {
		return err
	}
	p("   GET /oauth/callback → 200: connection %s", conn.ID)
	p("      DC %s, environment %s (confirmed by Zoho's Organization API), org %q (%s), API host %s",
		conn.Location, conn.Environment, conn.OrgName, conn.OrgID, conn.APIDomain)
	p("      access token expires %s; submission key shown once (%d characters, not printed here)", clock(conn.Expires), len(conn.Key))

	// 4. The schedule fires. (A second passes first, so the new expiry,
	// counted in seconds from Zoho's answer, is visibly later.)
	time.Sleep(time.Second)
	store := b.Connections()
	before, err := store.Get(ctx, conn.ID)
	if err != nil {
		return err
	}
	raw, err := b.Refresh.Handle(ctx, json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler"}`))
	if err != nil {
		return fmt.Errorf("refresh run: %w", err)
	}
	summary, _ := json.Marshal(raw)
	after, err := store.Get(ctx, conn.ID)
	if err != nil {
		return err
	}
	if !after.TokenExpiresAt.After(before.TokenExpiresAt) {
		return fmt.Errorf("the refresh did not move the token's expiry (%s)", summary)
	}
	stages, err := b.AccessTokenVersions(ctx, conn.ID)
	if err != nil {
		return err
	}
	p("   Refresh run (the schedule's event): %s", summary)
	p("      token expiry %s → %s; access-token secret versions now: %s", clock(before.TokenExpiresAt), clock(after.TokenExpiresAt), stages)

	// 5. A website posts its contact form.
	body := []byte(s.lead.Encode())
	resp = b.Sync.Handle(ctx, apiRequest("POST", "/connections/"+conn.ID+"/submissions", "",
		map[string]string{"content-type": "application/x-www-form-urlencoded", "authorization": "Bearer " + conn.Key}, body))
	if resp.StatusCode != 201 {
		return fmt.Errorf("POST submissions answered %d %s", resp.StatusCode, resp.Body)
	}
	var created struct {
		Status, Module string
		RecordID       string `json:"record_id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		return err
	}
	p("   POST /connections/%s/submissions (form: %s) → 201 %s, record %s in %s",
		conn.ID, strings.Join(slices.Sorted(maps.Keys(s.lead)), ", "), created.Status, created.RecordID, created.Module)

	// 6. The lead is in the org, on the org's own host.
	return s.check(b, conn.ID, conn.OrgID, conn.APIDomain, created.RecordID, p)
}

// check proves the story against what the simulator recorded.
func (s story) check(b *localrun.Bundle, id, orgID, apiDomain, recordID string, p func(string, ...any)) error {
	var lead map[string]any
	for _, r := range b.Sim.Records(orgID, "Leads") {
		if r["id"] == recordID {
			lead = r
		}
	}
	if lead == nil {
		return fmt.Errorf("the simulator holds no lead %s in org %s", recordID, orgID)
	}
	host := strings.TrimPrefix(apiDomain, "https://")
	var writes []string
	for _, r := range b.Sim.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/crm/v8/Leads") && r.Status < 300 {
			writes = append(writes, r.Host)
		}
	}
	if len(writes) == 0 || writes[len(writes)-1] != host {
		return fmt.Errorf("the lead was not written on %s (writes: %v)", host, writes)
	}
	p("   ✔ The simulator's org %s holds lead %s: %s %s <%s>, company %q, written on %s",
		orgID, recordID, str(lead["First_Name"]), str(lead["Last_Name"]), str(lead["Email"]), str(lead["Company"]), host)
	return nil
}

func apiRequest(method, path, query string, headers map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: query, Headers: map[string]string{}}
	for k, v := range headers {
		r.Headers[k] = v
	}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.HTTP.Path = path
	r.RequestContext.HTTP.SourceIP = "127.0.0.1"
	if body != nil {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	if i := strings.Index(path, "/connections/"); i >= 0 {
		r.PathParameters = map[string]string{"connection_id": strings.Split(path[i+len("/connections/"):], "/")[0]}
	}
	return r
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s answered %d", resp.Request.URL.Path, resp.StatusCode)
	}
	return string(b), err
}

// accept posts the consent form as the page's Accept button does and
// returns the query of Zoho's redirect back to the callback.
func accept(c *http.Client, consent *url.URL, orgID string) (string, error) {
	form := url.Values{"org": {orgID}, "action": {"accept"}}
	resp, err := c.Post(consent.String(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil {
		return "", errors.New("the consent page did not redirect back")
	}
	return loc.RawQuery, nil
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05 MST") }

func str(v any) string {
	s, _ := v.(string)
	return s
}
