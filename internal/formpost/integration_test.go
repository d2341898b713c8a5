//go:build integration

package formpost_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/captcha/captchasim"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

const site = "https://www.example.test"

// harness: the local stack from template.yaml, the Zoho simulator, the
// CAPTCHA simulator (the template's CaptchaEndpointOverride), the connect
// flow, the product API and SyncFunction, each built as its main.go builds
// it from the template's environment.
type harness struct {
	*testflow.Flow
	sync    *submission.Handler
	captcha *captchasim.Server
	conn    string // a connected org's connection id
	org     string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cs := captchasim.New()
	ts := httptest.NewServer(cs)
	t.Cleanup(ts.Close)
	secret := localstack.ClientSecret{ClientID: "1000.FORMSCLIENT", ClientSecret: "forms-client-secret-value", RedirectURI: "https://api.example.test/oauth/callback"}
	h := &harness{captcha: cs, Flow: testflow.New(t, zohosim.Options{}, testenv.WithClientSecret(secret), testenv.WithQueues(),
		testenv.WithParameter("CaptchaEndpointOverride", ts.URL))}
	h.Env.Setenv(t, "SyncFunction")
	cfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FormsTable != h.Env.Tables["FormsTable"] || cfg.CaptchaEndpointOverride != ts.URL {
		t.Fatalf("the template's SyncFunction environment: forms %q, captcha %q", cfg.FormsTable, cfg.CaptchaEndpointOverride)
	}
	if h.sync, err = syncfn.New(cfg, h.Env.Config, h.Log); err != nil {
		t.Fatal(err)
	}
	if h.sync.Forms == nil {
		t.Fatal("SyncFunction serves no forms")
	}
	h.sync.Service.Refresher = localrun.InProcessRefresher{Handler: h.Refresh}
	h.sync.Service.Timings.RetryDelay = time.Millisecond
	h.sync.Service.Timings.HoldDelay = time.Millisecond
	u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Environment: zoho.Production}}})
	h.org = u.Orgs[0].ID
	body := h.Connected(t, "environment=production", h.org)
	h.conn = body["connection_id"].(string)
	t.Cleanup(func() {
		logs := h.Logs.String()
		for _, leak := range []string{"maria@example.eu", "Keller", "Bot McBotface", "pass.", "fail."} {
			if strings.Contains(logs, leak) {
				t.Errorf("the logs hold a submitted value: %q", leak)
			}
		}
	})
	return h
}

// form creates a form of the harness's connection through the product API.
func (h *harness) form(t *testing.T, spec map[string]any) string {
	t.Helper()
	if spec["allowed_origins"] == nil {
		spec["allowed_origins"] = []string{site}
	}
	if c, ok := spec["captcha"].(map[string]any); ok {
		h.AddSecret(c["secret"].(string))
	}
	status, out := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+h.conn+"/forms", "", spec)
	if status != 201 {
		t.Fatalf("create form: %d %v", status, out)
	}
	id := out["form_id"].(string)
	if out["action_url"] != "https://api.example.test/f/"+id || !strings.Contains(out["html"].(string), `action="https://api.example.test/f/`+id+`"`) {
		t.Fatalf("create form: %v", out)
	}
	return id
}

// req is one request to /f/{form_id}.
type req struct {
	method, origin, referer, accept, contentType, body, ip string
}

func (h *harness) do(t *testing.T, form string, r req) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /f/{form_id}", RawPath: "/f/" + form, PathParameters: map[string]string{"form_id": form},
		Headers: map[string]string{},
	}
	if r.method == "" {
		r.method = "POST"
	}
	if r.method == "OPTIONS" {
		ev.RouteKey = "OPTIONS /f/{form_id}"
	}
	ev.RequestContext.HTTP.Method = r.method
	ev.RequestContext.HTTP.SourceIP = r.ip
	if r.ip == "" {
		ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
	}
	for k, v := range map[string]string{"origin": r.origin, "referer": r.referer, "accept": r.accept, "content-type": r.contentType} {
		if v != "" {
			ev.Headers[k] = v
		}
	}
	if r.body != "" {
		if r.contentType == "application/json" {
			ev.Body = r.body
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(r.body)), true
		}
	}
	raw, _ := json.Marshal(ev)
	out, err := h.sync.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return out.(events.APIGatewayV2HTTPResponse)
}

func browserPost(body string) req {
	return req{origin: site, accept: "text/html,application/xhtml+xml", contentType: "application/x-www-form-urlencoded", body: body}
}

func fetchPost(body string) req {
	return req{origin: site, accept: "application/json", contentType: "application/json", body: body}
}

func decode(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("%d, not JSON: %s", resp.StatusCode, resp.Body)
	}
	return out
}

func (h *harness) leads(t *testing.T) []map[string]any {
	t.Helper()
	return h.Sim.Records(h.org, "Leads")
}

// drain plays Lambda's SQS poller once for the submission queue.
func (h *harness) drain(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	q := h.Env.Queues["SubmissionQueue"]
	out, err := h.Env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return 0
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"})
	}
	raw, _ := json.Marshal(ev)
	res, err := h.sync.Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.(events.SQSEventResponse).BatchItemFailures; len(f) != 0 {
		t.Fatalf("queue: %d failed", len(f))
	}
	for _, m := range out.Messages {
		if _, err := h.Env.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	return len(out.Messages)
}

func TestOriginsAndAnswers(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{"redirect_url": site + "/thanks?from=form", "allowed_origins": []string{site, "http://127.0.0.1:8081"}})

	// A browser's post from an allowed origin: 303 to the redirect URL, the lead in Zoho.
	resp := h.do(t, form, browserPost("first_name=Maria&last_name=Keller&email=maria%40example.eu&company=Keller+AG&submit=Send"))
	if resp.StatusCode != 303 || resp.Headers["Location"] != site+"/thanks?from=form" {
		t.Fatalf("browser post: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	leads := h.leads(t)
	if len(leads) != 1 || leads[0]["Last_Name"] != "Keller" || leads[0]["Email"] != "maria@example.eu" || leads[0]["Company"] != "Keller AG" {
		t.Fatalf("leads %v", leads)
	}

	// fetch from the other allowed origin: the JSON answer with CORS headers.
	r := fetchPost(`{"last_name":"Keller","email":"maria2@example.eu"}`)
	r.origin = "http://127.0.0.1:8081"
	resp = h.do(t, form, r)
	if resp.StatusCode != 201 || decode(t, resp)["status"] != "created" ||
		resp.Headers["Access-Control-Allow-Origin"] != "http://127.0.0.1:8081" || resp.Headers["Vary"] != "Origin" {
		t.Fatalf("fetch: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}

	// No Origin, an allowed Referer: taken.
	r = fetchPost(`{"last_name":"Keller","email":"maria3@example.eu"}`)
	r.origin, r.referer = "", site+"/contact?x=1"
	if resp = h.do(t, form, r); resp.StatusCode != 201 || resp.Headers["Access-Control-Allow-Origin"] != site {
		t.Fatalf("referer: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}

	// Refused origins: another site, a look-alike, http for an https site, a
	// bad Referer, nothing at all, "null".
	for _, c := range []struct{ origin, referer string }{
		{"https://evil.example", ""}, {"https://www.example.test.evil.example", ""}, {"http://www.example.test", ""},
		{"", "https://evil.example/page"}, {"", ""}, {"null", ""}, {"https://evil.example", site + "/contact"},
	} {
		r := fetchPost(`{"last_name":"Keller","email":"x@example.eu"}`)
		r.origin, r.referer = c.origin, c.referer
		resp := h.do(t, form, r)
		if resp.StatusCode != 403 || decode(t, resp)["error"] != "origin_not_allowed" || resp.Headers["Access-Control-Allow-Origin"] != "" {
			t.Errorf("origin %q referer %q: %d %v %s", c.origin, c.referer, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	// A browser refused gets a page.
	br := browserPost("last_name=Keller")
	br.origin = "https://evil.example"
	if resp := h.do(t, form, br); resp.StatusCode != 403 || !strings.Contains(resp.Body, "origin_not_allowed") || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Errorf("browser refused: %d %v", resp.StatusCode, resp.Headers)
	}
	if n := len(h.leads(t)); n != 3 {
		t.Fatalf("%d leads, want 3", n)
	}
	// No redirect URL: a thank-you page.
	plain := h.form(t, map[string]any{})
	if resp := h.do(t, plain, browserPost("last_name=Keller&email=maria4%40example.eu")); resp.StatusCode != 200 || !strings.Contains(resp.Body, "Thank you") {
		t.Errorf("thank-you page: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestPreflight(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{})
	resp := h.do(t, form, req{method: "OPTIONS", origin: site})
	if resp.StatusCode != 204 || resp.Headers["Access-Control-Allow-Origin"] != site || resp.Headers["Vary"] != "Origin" ||
		!strings.Contains(resp.Headers["Access-Control-Allow-Methods"], "POST") || !strings.Contains(resp.Headers["Access-Control-Allow-Headers"], "Content-Type") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Headers)
	}
	resp = h.do(t, form, req{method: "OPTIONS", origin: "https://evil.example"})
	if resp.StatusCode != 403 || resp.Headers["Access-Control-Allow-Origin"] != "" {
		t.Fatalf("preflight from another origin: %d %v", resp.StatusCode, resp.Headers)
	}
	if resp := h.do(t, form, req{method: "GET", origin: site}); resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestHoneypot(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{"honeypot_field": "website", "redirect_url": site + "/thanks"})
	resp := h.do(t, form, browserPost("last_name=Bot+McBotface&email=bot%40example.eu&website=http%3A%2F%2Fspam.example"))
	if resp.StatusCode != 303 || resp.Headers["Location"] != site+"/thanks" {
		t.Fatalf("honeypot, browser: %d %v", resp.StatusCode, resp.Headers)
	}
	resp = h.do(t, form, fetchPost(`{"last_name":"Bot McBotface","website":"spam"}`))
	if resp.StatusCode != 202 || decode(t, resp)["status"] != "queued" {
		t.Fatalf("honeypot, fetch: %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(h.leads(t)); n != 0 {
		t.Fatalf("a honeypot post reached Zoho: %d leads", n)
	}
	if n := h.drain(t); n != 0 {
		t.Fatalf("a honeypot post was queued: %d", n)
	}
	// Left empty, as a person leaves it: delivered, the honeypot not sent.
	if resp := h.do(t, form, fetchPost(`{"last_name":"Keller","email":"maria@example.eu","website":""}`)); resp.StatusCode != 201 {
		t.Fatalf("honeypot empty: %d %s", resp.StatusCode, resp.Body)
	}
	if l := h.leads(t); len(l) != 1 || l[0]["Website"] != nil {
		t.Fatalf("leads %v", l)
	}
	// SyncFunction's form handler writes each post's metric line.
	var outcomes []string
	for line := range strings.SplitSeq(h.Logs.String(), "\n") {
		var l struct{ Msg, Outcome, Source, Stage string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "form post outcome" && l.Source == "form" && l.Stage != "" {
			outcomes = append(outcomes, l.Outcome)
		}
	}
	if fmt.Sprint(outcomes) != "[honeypot honeypot created]" {
		t.Fatalf("metric lines' outcomes %v", outcomes)
	}
}

func TestCaptchaEachProvider(t *testing.T) {
	h := newHarness(t)
	for i, p := range captcha.Providers {
		secret := fmt.Sprintf("captcha-secret-%s-0123456789", p)
		h.captcha.Secret(p, secret)
		form := h.form(t, map[string]any{"captcha": map[string]any{"provider": string(p), "secret": secret, "site_key": "site-" + string(p)}})
		before := len(h.captcha.Calls())
		// Missing, failed, another provider's field: 403 captcha_failed.
		for _, body := range []string{
			`{"last_name":"Keller"}`,
			fmt.Sprintf(`{"last_name":"Keller",%q:%q}`, p.TokenField(), captchasim.FailToken("x")),
			fmt.Sprintf(`{"last_name":"Keller",%q:%q}`, captcha.Providers[(i+1)%3].TokenField(), captchasim.PassToken(p, "x")),
		} {
			resp := h.do(t, form, fetchPost(body))
			if resp.StatusCode != 403 || decode(t, resp)["error"] != "captcha_failed" {
				t.Errorf("%s: %d %s", p, resp.StatusCode, resp.Body)
			}
		}
		r := fetchPost(fmt.Sprintf(`{"last_name":"Keller","email":"maria-%s@example.eu",%q:%q}`, p, p.TokenField(), captchasim.PassToken(p, "ok")))
		r.ip = "203.0.113.44"
		resp := h.do(t, form, r)
		if resp.StatusCode != 201 {
			t.Fatalf("%s: solved: %d %s", p, resp.StatusCode, resp.Body)
		}
		calls := h.captcha.Calls()[before:]
		if len(calls) != 2 { // the missing token is refused without asking
			t.Fatalf("%s: %d siteverify calls, want 2: %+v", p, len(calls), calls)
		}
		last := calls[1]
		if last.Provider != p || !last.Success || last.RemoteIP != "203.0.113.44" {
			t.Errorf("%s: siteverify %+v", p, last)
		}
		// The token never reaches Zoho.
		for _, l := range h.leads(t) {
			for k := range l {
				if strings.Contains(strings.ToLower(k), "captcha") {
					t.Errorf("%s: the token reached Zoho as %s", p, k)
				}
			}
		}
		// GET never shows the secret.
		status, out := h.ProductDo(t, h.ProductKey, "GET", "/connections/"+h.conn+"/forms/"+form, "", nil)
		raw, _ := json.Marshal(out)
		if status != 200 || strings.Contains(string(raw), secret) || out["captcha"].(map[string]any)["provider"] != string(p) {
			t.Errorf("%s: GET form: %d %s", p, status, raw)
		}
	}
	if n := len(h.leads(t)); n != 3 {
		t.Fatalf("%d leads, want 3", n)
	}
	status, out := h.ProductDo(t, h.ProductKey, "GET", "/connections/"+h.conn+"/forms", "", nil)
	raw, _ := json.Marshal(out)
	if status != 200 || len(out["forms"].([]any)) != 3 || strings.Contains(string(raw), "captcha-secret") {
		t.Errorf("list: %d %s", status, raw)
	}
}

func multipartBody(t *testing.T, file bool) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("last_name", "Keller")
	_ = w.WriteField("email", "maria-mp@example.eu")
	_ = w.WriteField("message", "Grüße aus Zürich")
	if file {
		fw, _ := w.CreateFormFile("cv", "cv.pdf")
		_, _ = fw.Write([]byte("%PDF-1.4 ..."))
	}
	_ = w.Close()
	return w.FormDataContentType(), b.String()
}

func TestMultipart(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{})
	ct, body := multipartBody(t, true)
	resp := h.do(t, form, req{origin: site, accept: "application/json", contentType: ct, body: body})
	if resp.StatusCode != 415 || !strings.Contains(decode(t, resp)["message"].(string), "file") {
		t.Fatalf("with a file: %d %s", resp.StatusCode, resp.Body)
	}
	ct, body = multipartBody(t, false)
	resp = h.do(t, form, req{origin: site, accept: "application/json", contentType: ct, body: body})
	if resp.StatusCode != 201 {
		t.Fatalf("text fields: %d %s", resp.StatusCode, resp.Body)
	}
	l := h.leads(t)
	if len(l) != 1 || l[0]["Last_Name"] != "Keller" || l[0]["Description"] != "Grüße aus Zürich" {
		t.Fatalf("leads %v", l)
	}
	// Another type: 415 too.
	if resp := h.do(t, form, req{origin: site, accept: "application/json", contentType: "text/plain", body: "last_name=K"}); resp.StatusCode != 415 {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
}

func TestRequiredAndMapping(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{"required_fields": []string{"email", "surname"}, "field_mapping": map[string]string{"surname": "Last_Name", "org": "Company"}})
	resp := h.do(t, form, fetchPost(`{"surname":"Keller","email":"  "}`))
	if resp.StatusCode != 422 || decode(t, resp)["fields"].(map[string]any)["email"] != "required" {
		t.Fatalf("required: %d %s", resp.StatusCode, resp.Body)
	}
	resp = h.do(t, form, fetchPost(`{"surname":"Keller","email":"maria@example.eu","org":"Keller AG"}`))
	if resp.StatusCode != 201 {
		t.Fatalf("mapped: %d %s", resp.StatusCode, resp.Body)
	}
	if l := h.leads(t); len(l) != 1 || l[0]["Last_Name"] != "Keller" || l[0]["Company"] != "Keller AG" {
		t.Fatalf("leads %v", l)
	}
}

func TestRateLimitPerFormAndAddress(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{"rate_limit_per_minute": 2})
	for i := range 2 {
		if resp := h.do(t, form, fetchPost(fmt.Sprintf(`{"last_name":"Keller","email":"m%d@example.eu"}`, i))); resp.StatusCode != 201 {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	resp := h.do(t, form, fetchPost(`{"last_name":"Keller","email":"m3@example.eu"}`))
	if resp.StatusCode != 429 || resp.Headers["Retry-After"] == "" || resp.Headers["Access-Control-Allow-Origin"] != site {
		t.Fatalf("third: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	// Another address has its own count; another form too.
	other := fetchPost(`{"last_name":"Keller","email":"m4@example.eu"}`)
	other.ip = "198.51.100.99"
	if resp := h.do(t, form, other); resp.StatusCode != 201 {
		t.Fatalf("another address: %d %s", resp.StatusCode, resp.Body)
	}
	second := h.form(t, map[string]any{"rate_limit_per_minute": 2})
	if resp := h.do(t, second, fetchPost(`{"last_name":"Keller","email":"m5@example.eu"}`)); resp.StatusCode != 201 {
		t.Fatalf("another form: %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(h.leads(t)); n != 4 {
		t.Fatalf("%d leads, want 4", n)
	}
}

func TestDeletedForm(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{})
	if resp := h.do(t, form, fetchPost(`{"last_name":"Keller","email":"a@example.eu"}`)); resp.StatusCode != 201 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	status, out := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+h.conn+"/forms/"+form, "", nil)
	if status != 200 || out["status"] != "deleted" {
		t.Fatalf("delete: %d %v", status, out)
	}
	for _, r := range []req{fetchPost(`{"last_name":"Keller","email":"b@example.eu"}`), {method: "OPTIONS", origin: site}} {
		if resp := h.do(t, form, r); resp.StatusCode != 404 {
			t.Errorf("%s after delete: %d %s", r.method, resp.StatusCode, resp.Body)
		}
	}
	if resp := h.do(t, "f_00000000000000000000000000000000", fetchPost(`{"last_name":"K"}`)); resp.StatusCode != 404 {
		t.Errorf("unknown form: %d", resp.StatusCode)
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+h.conn+"/forms/"+form, "", nil); status != 404 {
		t.Errorf("delete again: %d", status)
	}
	if n := len(h.leads(t)); n != 1 {
		t.Fatalf("%d leads", n)
	}
	// A disconnected connection's forms answer 404 too.
	live := h.form(t, map[string]any{})
	if status, _ := h.ProductDo(t, h.ProductKey, "DELETE", "/connections/"+h.conn, "", nil); status != 200 {
		t.Fatal(status)
	}
	if resp := h.do(t, live, fetchPost(`{"last_name":"Keller","email":"c@example.eu"}`)); resp.StatusCode != 404 {
		t.Errorf("disconnected: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestZohoDownQueuedThenDeliveredOnce(t *testing.T) {
	h := newHarness(t)
	form := h.form(t, map[string]any{})
	// Warm: the module's fields are known.
	if resp := h.do(t, form, fetchPost(`{"last_name":"Warm","email":"warm@example.eu"}`)); resp.StatusCode != 201 {
		t.Fatal(resp.StatusCode)
	}
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads*", Status: 503})
	body := `{"last_name":"Keller","email":"maria@example.eu"}`
	resp := h.do(t, form, fetchPost(body))
	if resp.StatusCode != 202 || decode(t, resp)["status"] != "queued" {
		t.Fatalf("Zoho down: %d %s", resp.StatusCode, resp.Body)
	}
	// The visitor presses again: the same submission, nothing new.
	again := h.do(t, form, fetchPost(body))
	if again.StatusCode != 202 || again.Body != resp.Body {
		t.Fatalf("again: %d %s", again.StatusCode, again.Body)
	}
	h.Sim.ClearFaults()
	if n := h.drain(t); n != 1 {
		t.Fatalf("queue held %d messages, want 1", n)
	}
	var kellers int
	for _, l := range h.leads(t) {
		if l["Last_Name"] == "Keller" {
			kellers++
		}
	}
	if kellers != 1 {
		t.Fatalf("delivered %d times", kellers)
	}
	if n := h.drain(t); n != 0 {
		t.Fatalf("still queued: %d", n)
	}
}

func TestProductAPIRefusesBadForms(t *testing.T) {
	h := newHarness(t)
	for _, spec := range []map[string]any{
		{"allowed_origins": []string{}},
		{"allowed_origins": []string{"http://www.example.com"}},
		{"allowed_origins": []string{"https://www.example.com/contact"}},
		{"allowed_origins": []string{"www.example.com"}},
		{"allowed_origins": []string{site}, "captcha": map[string]any{"provider": "other", "secret": "s"}},
		{"allowed_origins": []string{site}, "captcha": map[string]any{"provider": "turnstile"}},
		{"allowed_origins": []string{site}, "module": "Invoices"},
		{"allowed_origins": []string{site}, "redirect_url": "javascript:alert(1)"},
		{"allowed_origins": []string{site}, "unknown": 1},
	} {
		status, out := h.ProductDo(t, h.ProductKey, "POST", "/connections/"+h.conn+"/forms", "", spec)
		if status != 400 || out["error"] != "invalid_request" {
			t.Errorf("%v: %d %v", spec, status, out)
		}
	}
	if status, _ := h.ProductDo(t, h.ProductKey, "POST", "/connections/zc_000000000000000000000000/forms", "", map[string]any{"allowed_origins": []string{site}}); status != 404 {
		t.Errorf("unknown connection: %d", status)
	}
	if status, _ := h.ProductDo(t, "wrong", "GET", "/connections/"+h.conn+"/forms", "", nil); status != 401 {
		t.Errorf("no key: %d", status)
	}
}
