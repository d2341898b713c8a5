//go:build integration

package submission_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// harness: the connect flow of testflow (the local stack made from
// template.yaml, the simulator, the callback function) and the refresh
// and sync functions, built the way their main.go builds them, from the
// template's own environment. Sync's on-demand refresh calls the refresh
// function's handler in process (localrun.InProcessRefresher, as `make
// dev` does: app.ReadRefreshAnswer reads its answer, as the Lambda adapter
// does).
type harness struct {
	*testflow.Flow
	refresh  *refresh.Handler
	sync     *submission.Handler
	store    *awsstore.ConnectionStore
	vault    *awsstore.TokenVault
	queueURL string
}

func newHarness(t *testing.T, opts ...testenv.Option) *harness {
	t.Helper()
	return newHarnessWith(t, zohosim.Options{}, opts...)
}

// newHarnessWith is newHarness with a simulator made with simOpts.
func newHarnessWith(t *testing.T, simOpts zohosim.Options, opts ...testenv.Option) *harness {
	t.Helper()
	cs := localstack.ClientSecret{ClientID: "1000.SYNCCLIENT", ClientSecret: "sync-client-secret-value", RedirectURI: "https://api.example.test/oauth/callback"}
	h := &harness{Flow: testflow.New(t, simOpts, append([]testenv.Option{testenv.WithClientSecret(cs), testenv.WithQueues()}, opts...)...)}
	env := h.Env
	env.Setenv(t, "RefreshFunction")
	rcfg, err := refreshfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if h.refresh, err = refreshfn.New(rcfg, env.Config, h.Log); err != nil {
		t.Fatal(err)
	}
	env.Setenv(t, "SyncFunction")
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	h.queueURL = env.Queues["SubmissionQueue"]
	if scfg.QueueURL != h.queueURL || scfg.MaxBodyBytes != 65536 || scfg.EndpointOverride != h.SimURL ||
		scfg.IdempotencyTable != env.Tables["IdempotencyTable"] || scfg.RefreshFunctionName == "" {
		t.Fatalf("the template's SyncFunction environment: %+v", scfg)
	}
	if h.sync, err = syncfn.New(scfg, env.Config, h.Log); err != nil {
		t.Fatal(err)
	}
	h.sync.Service.Refresher = localrun.InProcessRefresher{Handler: h.refresh}
	// No waiting on SQS delays in tests (DelaySeconds 0).
	h.sync.Service.Timings.RetryDelay = time.Millisecond
	h.sync.Service.Timings.HoldDelay = time.Millisecond

	h.store = awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	h.vault = &awsstore.TokenVault{SM: env.SecretsManager, Prefix: env.TokenSecretPrefix}
	// Besides testflow's check for tokens, codes, client secrets and
	// submission keys: no submitted value or signature is logged.
	t.Cleanup(func() {
		logs := h.Logs.String()
		for _, leak := range []string{"ada@example.com", "Lovelace", "sha256="} {
			if strings.Contains(logs, leak) {
				t.Errorf("the logs contain a submitted value or signature: %q", leak)
			}
		}
	})
	return h
}

type conn struct {
	ID, Key, OrgID string
	user           zohosim.User
}

// connect adds a Zoho user with one org and connects it through the real
// flow: /connect, the simulator's consent, /oauth/callback.
func (h *harness) connect(t *testing.T, location string, env zoho.Environment) conn {
	t.Helper()
	u := h.Sim.AddUser(zohosim.User{Location: location, FullName: "Owner Person", Orgs: []zohosim.Org{{Environment: env}}})
	c := h.reconnect(t, conn{user: u})
	if c.Key == "" {
		t.Fatal("a new connection came without a submission key")
	}
	return c
}

// reconnect runs the connect flow again for c's org.
func (h *harness) reconnect(t *testing.T, c conn) conn {
	t.Helper()
	org := c.user.Orgs[0]
	body := h.Connected(t, "environment="+org.Environment.String(), org.ID)
	c.ID, _ = body["connection_id"].(string)
	c.OrgID, _ = body["org_id"].(string)
	if k, _ := body["submission_key"].(string); k != "" {
		c.Key = k
	}
	return c
}

type post struct {
	conn        string
	auth        string // "bearer:<key>", "sig:<key>", ""
	contentType string
	body        string
	base64      bool
	query       string
	idemKey     string
}

func (h *harness) send(t *testing.T, p post) (int, map[string]any, string) {
	t.Helper()
	resp := h.respond(t, p)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, resp.Body)
	}
	return resp.StatusCode, body, resp.Body
}

// respond is the function's whole answer to p, headers included.
func (h *harness) respond(t *testing.T, p post) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{
		RawPath:        "/connections/" + p.conn + "/submissions",
		RawQueryString: p.query,
		Headers:        map[string]string{"content-type": p.contentType},
		PathParameters: map[string]string{"connection_id": p.conn},
		Body:           p.body,
	}
	req.RequestContext.HTTP.Method = "POST"
	switch kind, key, _ := strings.Cut(p.auth, ":"); kind {
	case "bearer":
		req.Headers["authorization"] = "Bearer " + key
	case "sig":
		req.Headers["x-signature"] = submission.Sign(key, time.Now(), submission.Signed{Method: "POST", Path: req.RawPath,
			RawQuery: p.query, IdempotencyKey: p.idemKey, Body: []byte(p.body)})
	}
	if p.base64 {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(p.body)), true
	}
	if p.idemKey != "" {
		req.Headers["idempotency-key"] = p.idemKey
	}
	raw, _ := json.Marshal(req)
	out, err := h.sync.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return out.(events.APIGatewayV2HTTPResponse)
}

// drain plays Lambda's SQS poller once: receive what is visible, invoke
// the function with it as an SQS event, delete what did not fail. It
// answers how many messages were handled and the receipt handles of the
// failed ones.
func (h *harness) drain(t *testing.T) (int, []string) {
	t.Helper()
	ctx := context.Background()
	out, err := h.Env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(h.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q",
		})
	}
	raw, _ := json.Marshal(ev)
	res, err := h.sync.Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, f := range res.(events.SQSEventResponse).BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var failedHandles []string
	for _, m := range out.Messages {
		if failed[aws.ToString(m.MessageId)] {
			failedHandles = append(failedHandles, aws.ToString(m.ReceiptHandle))
			continue
		}
		if _, err := h.Env.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(h.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	return len(out.Messages), failedHandles
}

// expose makes failed messages visible again at once, as if their backoff
// had passed.
func (h *harness) expose(t *testing.T, handles []string) {
	t.Helper()
	for _, rh := range handles {
		if _, err := h.Env.SQS.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(h.queueURL), ReceiptHandle: aws.String(rh), VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *harness) records(c conn, module string) []map[string]any {
	return h.Sim.Records(c.OrgID, module)
}

func (h *harness) crmWrites() int {
	n := 0
	for k, v := range h.Sim.Stats().CRMRequests {
		if strings.HasPrefix(k, "POST ") {
			n += v
		}
	}
	return n
}

func TestAuthenticationBothFormsAndFailures(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Sandbox)
	other := h.connect(t, "us", zoho.Production)

	status, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
		body: `{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace"}`})
	if status != 201 || body["status"] != "created" || body["module"] != "Leads" || body["record_id"] == "" {
		t.Fatalf("bearer: %d %v", status, body)
	}
	status, body, _ = h.send(t, post{conn: c.ID, auth: "sig:" + c.Key, contentType: "application/x-www-form-urlencoded; charset=UTF-8",
		body: "email=grace%40example.com&name=Grace+Hopper", base64: true})
	if status != 201 {
		t.Fatalf("signature over a base64 form: %d %v", status, body)
	}
	recs := h.records(c, "Leads")
	if len(recs) != 2 || recs[0]["Last_Name"] != "Lovelace" || recs[1]["First_Name"] != "Grace" || recs[1]["Last_Name"] != "Hopper" {
		t.Fatalf("records %v", recs)
	}
	// Delivered to the connection's own DC and environment host.
	for _, r := range h.Sim.Requests() {
		if strings.HasPrefix(r.Path, "/crm/v8/Leads") && r.Host != "sandbox.zohoapis.eu" {
			t.Fatalf("delivered to %s", r.Host)
		}
	}

	body401 := ""
	for name, p := range map[string]post{
		"no key":             {conn: c.ID},
		"wrong key":          {conn: c.ID, auth: "bearer:" + other.Key},
		"unknown conn":       {conn: connection.ID("us", zoho.Production, "1"), auth: "bearer:" + c.Key},
		"malformed id":       {conn: "zc_../../x", auth: "bearer:" + c.Key},
		"signature by other": {conn: c.ID, auth: "sig:" + other.Key},
		"sig unknown conn":   {conn: connection.ID("us", zoho.Production, "1"), auth: "sig:" + c.Key},
	} {
		p.contentType, p.body = "application/json", `{"last_name":"Nobody"}`
		status, _, raw := h.send(t, p)
		if status != 401 || (body401 != "" && raw != body401) {
			t.Errorf("%s: %d %s", name, status, raw)
		}
		body401 = raw
	}
	if len(h.records(c, "Leads")) != 2 || len(h.records(other, "Leads")) != 0 {
		t.Fatal("a refused submission was delivered")
	}
}

func TestBodiesMappingAndValidation(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "us", zoho.Production)
	bearer := "bearer:" + c.Key
	// A connection's own mapping.
	if _, err := h.store.Update(context.Background(), c.ID, func(x *connection.Connection) error {
		x.FieldMapping = map[string]string{"budget": "Annual_Revenue"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	status, body, _ := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/x-www-form-urlencoded",
		body: "full_name=Ada+King+Lovelace&email=ada%40example.com&company=Engines&message=Call+me&phone=%2B44+1&budget=100&submit=Send", base64: true})
	if status != 201 {
		t.Fatalf("%d %v", status, body)
	}
	status, body, _ = h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", query: "module=contacts",
		body: `{"Last_Name":"Turing","Email":"alan@example.com","title":"Mathematician","city":"Wilmslow"}`})
	if status != 201 || body["module"] != "Contacts" {
		t.Fatalf("%d %v", status, body)
	}
	lead := h.records(c, "Leads")[0]
	want := map[string]any{"First_Name": "Ada King", "Last_Name": "Lovelace", "Email": "ada@example.com", "Company": "Engines",
		"Description": "Call me", "Phone": "+44 1", "Annual_Revenue": float64(100)} // a currency, sent as a number
	for k, v := range want {
		if lead[k] != v {
			t.Errorf("lead %s = %v, want %v", k, lead[k], v)
		}
	}
	if _, ok := lead["submit"]; ok {
		t.Error("an unknown form field was sent")
	}
	contact := h.records(c, "Contacts")[0]
	if contact["Title"] != "Mathematician" || contact["Mailing_City"] != "Wilmslow" {
		t.Errorf("contact %v", contact)
	}

	writes := h.crmWrites()
	status, body, _ = h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", body: `{"email":"x@example.com","first_name":"X"}`})
	if fields, _ := body["fields"].(map[string]any); status != 422 || body["error"] != "invalid_submission" || fields["Last_Name"] != "required" {
		t.Fatalf("%d %v", status, body)
	}
	if h.crmWrites() != writes {
		t.Fatal("Zoho was asked about a submission known to be refused")
	}
	// Zoho's own refusal (a number where text is wanted): 422 with its field.
	status, body, _ = h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", body: `{"last_name":"L","Phone":12}`})
	if fields, _ := body["fields"].(map[string]any); status != 422 || fields["Phone"] != "invalid" {
		t.Fatalf("%d %v", status, body)
	}
	for name, tc := range map[string]struct {
		p      post
		status int
	}{
		"array":      {post{contentType: "application/json", body: `[{"last_name":"L"}]`}, 400},
		"bad json":   {post{contentType: "application/json", body: `{"last_name":`}, 400},
		"bad form":   {post{contentType: "application/x-www-form-urlencoded", body: "a=%zz", base64: true}, 400},
		"text":       {post{contentType: "text/plain", body: "hello"}, 415},
		"too large":  {post{contentType: "application/json", body: `{"last_name":"` + strings.Repeat("x", 65536) + `"}`}, 413},
		"too large2": {post{contentType: "application/x-www-form-urlencoded", body: "last_name=" + strings.Repeat("x", 65536), base64: true}, 413},
		"module":     {post{contentType: "application/json", body: `{"last_name":"L"}`, query: "module=Users"}, 400},
	} {
		tc.p.conn, tc.p.auth = c.ID, bearer
		if status, body, _ := h.send(t, tc.p); status != tc.status {
			t.Errorf("%s: %d %v, want %d", name, status, body, tc.status)
		}
	}
}

func TestSameSubmissionTwiceAndRacing(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "in", zoho.Production)
	p := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"ada@example.com","last_name":"Lovelace"}`}
	s1, _, b1 := h.send(t, p)
	s2, _, b2 := h.send(t, p)
	if s1 != 201 || s2 != 201 || b1 != b2 {
		t.Fatalf("first %d %s, repeat %d %s", s1, b1, s2, b2)
	}
	// With an Idempotency-Key: a new entry, then the same answer.
	p.idemKey, p.body = "order-1", `{"email":"bob@example.com","last_name":"B"}`
	s3, _, b3 := h.send(t, p)
	s4, _, b4 := h.send(t, p)
	if s3 != 201 || s4 != 201 || b3 != b4 {
		t.Fatalf("keyed %d %s, %d %s", s3, b3, s4, b4)
	}
	p.body = `{"email":"other@example.com","last_name":"O"}`
	if s, body, _ := h.send(t, p); s != 409 || body["error"] != "idempotency_key_reused" {
		t.Fatalf("reused key: %d %v", s, body)
	}
	// Eight identical submissions at once.
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Latency: 300 * time.Millisecond, Times: 8})
	race := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"race@example.com","last_name":"Racer"}`}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 8 {
		wg.Go(func() {
			s, _, _ := h.send(t, race)
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		})
	}
	wg.Wait()
	n := 0
	for _, r := range h.records(c, "Leads") {
		if r["Email"] == "race@example.com" {
			n++
		}
	}
	if n != 1 || statuses[201] < 1 || statuses[201]+statuses[409] != 8 {
		t.Fatalf("%d records, statuses %v", n, statuses)
	}
	if got := len(h.records(c, "Leads")); got != 3 {
		t.Fatalf("%d records, want 3", got)
	}
}

func TestZohoDownThenBack(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "au", zoho.Production)
	p := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"ada@example.com","last_name":"Lovelace"}`}
	// Zoho down for the submission and the first retry; then back.
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Status: 503, Times: 2})
	status, body, raw := h.send(t, p)
	sub, _ := body["submission_id"].(string)
	if status != 202 || body["status"] != "queued" || !strings.HasPrefix(sub, "sub_") {
		t.Fatalf("%d %v", status, body)
	}
	if len(h.records(c, "Leads")) != 0 {
		t.Fatal("recorded while down")
	}
	n, failed := h.drain(t)
	if n != 1 || len(failed) != 1 {
		t.Fatalf("first retry: %d handled, %d failed", n, len(failed))
	}
	// The failed message is hidden for its backoff (1 min): nothing now.
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("a failed message came back before its backoff")
	}
	h.expose(t, failed)
	if n, failed := h.drain(t); n != 1 || len(failed) != 0 {
		t.Fatalf("second retry: %d handled, %d failed", n, len(failed))
	}
	if recs := h.records(c, "Leads"); len(recs) != 1 || recs[0]["Last_Name"] != "Lovelace" {
		t.Fatalf("records %v", recs)
	}
	// The client sends it again: the first answer; nothing new anywhere.
	if s, _, raw2 := h.send(t, p); s != 202 || raw2 != raw {
		t.Fatalf("repeat: %d %s", s, raw2)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("a repeat was queued again")
	}
	if len(h.records(c, "Leads")) != 1 {
		t.Fatal("delivered twice")
	}
	// A timeout is handled the same way.
	h.sync.Service.Timings.ZohoTimeout = 200 * time.Millisecond
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Latency: time.Second, Times: 1})
	if s, _, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"last_name":"Slow"}`}); s != 202 {
		t.Fatalf("timeout: %d", s)
	}
	time.Sleep(time.Second)
	if n, failed := h.drain(t); n != 1 || len(failed) != 0 {
		t.Fatalf("after timeout: %d handled, %d failed", n, len(failed))
	}
	if len(h.records(c, "Leads")) != 2 {
		t.Fatalf("records %v", h.records(c, "Leads"))
	}
}

func TestTokenExpiringMidStream(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Production)
	rt, err := h.vault.RefreshToken(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	send := func(i int) int {
		s, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
			body: `{"last_name":"Person` + strconv.Itoa(i) + `"}`})
		if s != 201 {
			t.Fatalf("submission %d: %d %v", i, s, body)
		}
		return s
	}
	for i := range 3 {
		send(i)
	}
	// The token nears its end (as the table says) and Zoho expires it.
	if _, err := h.store.Update(context.Background(), c.ID, func(x *connection.Connection) error {
		x.TokenExpiresAt = time.Now().Add(5 * time.Minute).UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.Sim.ExpireAccessTokens()
	for i := 3; i < 8; i++ {
		send(i)
	}
	if got := h.Sim.Stats().Refreshes[rt]; got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	if got := len(h.records(c, "Leads")); got != 8 {
		t.Fatalf("%d records, want 8", got)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("something was queued")
	}
}

func TestReauthHoldsUntilReconnect(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "us", zoho.Sandbox)
	rt, err := h.vault.RefreshToken(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.Sim.RevokeRefreshToken(rt) // also kills its access tokens
	if _, err := h.store.Update(context.Background(), c.ID, func(x *connection.Connection) error {
		x.TokenExpiresAt = time.Now().Add(5 * time.Minute).UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"held@example.com","last_name":"Held"}`}
	if s, body, _ := h.send(t, p); s != 202 || body["status"] != "queued" {
		t.Fatalf("%d %v", s, body)
	}
	got, _ := h.store.Get(context.Background(), c.ID)
	if got.Status != connection.ReauthRequired {
		t.Fatalf("status %s", got.Status)
	}
	// Another while it waits: held without asking Zoho.
	writes := h.crmWrites()
	if s, _, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"last_name":"Second"}`}); s != 202 {
		t.Fatal(s)
	}
	if h.crmWrites() != writes {
		t.Fatal("Zoho was called for a connection that needs re-authorization")
	}
	// The consumer holds them: re-queued, never failed toward the DLQ.
	for range 2 {
		n, failed := h.drain(t)
		if n != 2 || len(failed) != 0 {
			t.Fatalf("held: %d handled, %d failed", n, len(failed))
		}
	}
	if len(h.records(c, "Leads")) != 0 || h.crmWrites() != writes {
		t.Fatal("delivered before reconnect")
	}
	// The owner connects again: same connection, same key.
	again := h.reconnect(t, c)
	if again.ID != c.ID || again.Key != c.Key {
		t.Fatal("reconnect changed the connection or its key")
	}
	if n, failed := h.drain(t); n != 2 || len(failed) != 0 {
		t.Fatalf("after reconnect: %d handled, %d failed", n, len(failed))
	}
	if recs := h.records(c, "Leads"); len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("messages left")
	}
}

func TestDomainTokenMismatchMarksReauth(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Sandbox)
	// The table says production: the token is used on the wrong host.
	if _, err := h.store.Update(context.Background(), c.ID, func(x *connection.Connection) error {
		x.Environment = "production"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"last_name":"L"}`}); s != 202 {
		t.Fatal(s)
	}
	got, _ := h.store.Get(context.Background(), c.ID)
	if got.Status != connection.ReauthRequired || got.StatusReason != "domain_token_mismatch" {
		t.Fatalf("status %s (%s)", got.Status, got.StatusReason)
	}
}

// refreshGrants counts the refresh_token grants Zoho was asked for.
func (h *harness) refreshGrants() int {
	n := 0
	for _, r := range h.Sim.Requests() {
		if r.Path == "/oauth/v2/token" && (r.Form.Get("grant_type") == "refresh_token" || r.Query.Get("grant_type") == "refresh_token") {
			n++
		}
	}
	return n
}

// Zoho kills a token right after the connect (a revoke-and-reconnect
// race, its limit of active tokens) while the table still says it has an
// hour: sync names the refused token, the refresh replaces it however
// young it is, and the submission goes through at once.
func TestYoungTokenKilledAtZoho(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Production)
	before, err := h.store.Get(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(before.TokenExpiresAt); left < 59*time.Minute {
		t.Fatalf("the connect's token has %v left: not the young token this test is about", left)
	}
	h.Sim.ExpireAccessTokens() // the recorded expiry does not move
	grants := h.refreshGrants()
	s, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
		body: `{"email":"ada@example.com","last_name":"Lovelace"}`})
	if s != 201 || body["status"] != "created" {
		t.Fatalf("%d %v", s, body)
	}
	if got := h.refreshGrants() - grants; got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	// The next one uses the new token: no refresh, nothing queued.
	if s, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"last_name":"Two"}`}); s != 201 {
		t.Fatalf("%d %v", s, body)
	}
	if got := h.refreshGrants() - grants; got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	if len(h.records(c, "Leads")) != 2 {
		t.Fatalf("records %v", h.records(c, "Leads"))
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("something was queued")
	}
	// (The new token may expire in the same second as the one it replaced.)
	after, _ := h.store.Get(context.Background(), c.ID)
	if after.Status != connection.Active || after.TokenExpiresAt.Before(before.TokenExpiresAt) {
		t.Fatalf("after: %s, expiry %v (was %v)", after.Status, after.TokenExpiresAt, before.TokenExpiresAt)
	}
}

// Zoho refusing the request itself (a top-level 4xx such as INVALID_DATA
// or NO_PERMISSION) is a refusal: 422 at once; from the queue, the entry
// is rejected and the message goes to the dead-letter queue unretried.
func TestZohoRefusesTheRequest(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "us", zoho.Production)
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Status: 400, Times: 1,
		Body: `{"code":"INVALID_DATA","details":{"api_name":"Email"},"message":"invalid data","status":"error"}`})
	p := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"ada@example.com","last_name":"Lovelace"}`}
	s, body, raw := h.send(t, p)
	if fields, _ := body["fields"].(map[string]any); s != 422 || body["error"] != "invalid_submission" || fields["Email"] != "invalid" {
		t.Fatalf("%d %v", s, body)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("a refused submission was queued")
	}
	// The same again: the first answer, Zoho not asked.
	writes := h.crmWrites()
	if s2, _, raw2 := h.send(t, p); s2 != 422 || raw2 != raw || h.crmWrites() != writes {
		t.Fatalf("repeat: %d %s", s2, raw2)
	}

	// Zoho down when submitted, then refusing: to the dead-letter queue.
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Status: 503, Times: 1})
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Status: 403, Times: 1,
		Body: `{"code":"NO_PERMISSION","details":{"permissions":["Crm_Implied_Create_Leads"]},"message":"permission denied","status":"error"}`})
	q := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"grace@example.com","last_name":"Hopper"}`}
	if s, body, _ := h.send(t, q); s != 202 {
		t.Fatalf("%d %v", s, body)
	}
	// (Faulted answers are not in the simulator's stats: count requests.)
	upserts := func() int {
		n := 0
		for _, r := range h.Sim.Requests() {
			if r.Method == "POST" && r.Path == "/crm/v8/Leads" {
				n++
			}
		}
		return n
	}
	sent := upserts()
	n, failed := h.drain(t)
	if n != 1 || len(failed) != 1 || upserts() != sent+1 {
		t.Fatalf("first retry: %d handled, %d failed, %d writes", n, len(failed), upserts()-sent)
	}
	// A permanent failure comes back at once (no backoff), and is not sent
	// to Zoho again: it waits for the dead-letter queue.
	n, failed = h.drain(t)
	if n != 1 || len(failed) != 1 || upserts() != sent+1 {
		t.Fatalf("second look: %d handled, %d failed, %d writes", n, len(failed), upserts()-sent)
	}
	if len(h.records(c, "Leads")) != 0 {
		t.Fatalf("records %v", h.records(c, "Leads"))
	}
}
