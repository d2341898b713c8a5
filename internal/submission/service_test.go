package submission

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

type reqOpt func(*events.APIGatewayV2HTTPRequest)

func withHeader(k, v string) reqOpt {
	return func(r *events.APIGatewayV2HTTPRequest) { r.Headers[k] = v }
}

func withQuery(q string) reqOpt {
	return func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = q }
}

func (w *world) request(contentType, body string, opts ...reqOpt) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{
		RawPath:        "/connections/" + w.conn.ID + "/submissions",
		Headers:        map[string]string{"content-type": contentType, "authorization": "Bearer " + w.key},
		PathParameters: map[string]string{"connection_id": w.conn.ID},
		Body:           body,
	}
	r.RequestContext.HTTP.Method = "POST"
	for _, o := range opts {
		o(&r)
	}
	return r
}

// sign is the X-Signature of a POST of body to w's connection, now, with
// no query and no Idempotency-Key.
func (w *world) sign(key, body string) string {
	return Sign(key, time.Now(), Signed{Method: "POST", Path: "/connections/" + w.conn.ID + "/submissions", Body: []byte(body)})
}

func (w *world) post(t *testing.T, r events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp := w.h.Handle(context.Background(), r)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, resp.Body)
	}
	return resp.StatusCode, body
}

const leadJSON = `{"email":"ada@example.com","name":"Ada Lovelace","message":"hi"}`

func TestSubmitCreatesAndRepeatsFirstAnswer(t *testing.T) {
	w := newWorld(t)
	status, body := w.post(t, w.request("application/json", leadJSON))
	if status != 201 || body["status"] != "created" || body["record_id"] != "9001" || body["module"] != "Leads" {
		t.Fatalf("got %d %v", status, body)
	}
	call := w.crm.calls[0]
	if call.Op != "insert" || call.DC != "eu" || call.Env != zoho.Sandbox || call.Token != w.tokenV1 ||
		call.Record["Last_Name"] != "Lovelace" || call.Record["Description"] != "hi" ||
		strings.Join(call.Opts.DuplicateCheckFields, ",") != "Email" || strings.Join(call.Opts.Trigger, ",") != "workflow" {
		t.Fatalf("call %+v", call)
	}
	// The same content again, even as a form: the first answer, no call.
	form := "message=hi&name=Ada+Lovelace&email=ada%40example.com"
	status2, body2 := w.post(t, w.request("application/x-www-form-urlencoded", base64.StdEncoding.EncodeToString([]byte(form)),
		func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }))
	if status2 != 201 || body2["record_id"] != "9001" || w.crm.count() != 1 {
		t.Fatalf("repeat got %d %v after %d calls", status2, body2, w.crm.count())
	}
	if e := w.idem.only(t); e.State != Done || e.Record != nil {
		t.Fatalf("entry %+v", e)
	}
	// Warm path: one vault read for both, two idempotency writes for the first.
	if w.vault.AccessTokenReads() != 1 || w.idem.writes != 2 {
		t.Fatalf("vault reads %d, idempotency writes %d", w.vault.AccessTokenReads(), w.idem.writes)
	}
}

// A duplicate (Zoho's DUPLICATE_DATA on the insert's Email check) is
// matched, by default with a note; a record without Email is a plain
// insert. (Before on_duplicate, an upsert answered 200 updated here.)
func TestSubmitDuplicateAndInsert(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return []zoho.RecordResult{{Code: "DUPLICATE_DATA", Status: "error", ID: "42", Field: "Email"}}, nil
	}
	if status, body := w.post(t, w.request("application/json", leadJSON)); status != 200 || body["status"] != "matched" ||
		body["action"] != "note_added" || body["record_id"] != "42" {
		t.Fatalf("got %d %v", status, body)
	}
	w.crm.answer = nil
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"NoMail"}`)); status != 201 || w.crm.calls[2].Op != "insert" ||
		w.crm.calls[2].Opts.DuplicateCheckFields != nil {
		t.Fatalf("got %d, call %+v", status, w.crm.calls[2])
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	w := newWorld(t)
	hk := withHeader("idempotency-key", "order-1")
	if status, _ := w.post(t, w.request("application/json", leadJSON, hk)); status != 201 {
		t.Fatal(status)
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON, hk)); status != 201 || w.crm.count() != 1 {
		t.Fatal("repeat with the same key was delivered again")
	}
	status, body := w.post(t, w.request("application/json", `{"last_name":"Other"}`, hk))
	if status != 409 || body["error"] != "idempotency_key_reused" {
		t.Fatalf("reused key got %d %v", status, body)
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON, withHeader("idempotency-key", "bad key"))); status != 400 {
		t.Fatalf("bad key got %d", status)
	}
}

func TestInProgressAndExpiredClaim(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	// A crashed run's claim.
	content, _ := canonical(Fields{"last_name": "L"})
	key := IdempotencyKey(w.conn.ID, "Leads", "", content)
	w.idem.m[key] = Entry{Key: key, State: Claimed, ClaimToken: "dead", ClaimExpiresAt: now.Add(30 * time.Second),
		ExpiresAt: now.Add(time.Hour), Fingerprint: sum("content", "Leads", string(content))}
	status, body := w.post(t, w.request("application/json", `{"last_name":"L"}`))
	if status != 409 || body["error"] != "submission_in_progress" || w.crm.count() != 0 {
		t.Fatalf("got %d %v", status, body)
	}
	now = now.Add(31 * time.Second)
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"L"}`)); status != 201 || w.crm.count() != 1 {
		t.Fatalf("expired claim not taken over: %d", status)
	}
}

func TestRacingSubmissionsDeliverOnce(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		<-release
		return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "1"}}, nil
	}
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			resp := w.h.Handle(context.Background(), w.request("application/json", leadJSON))
			statuses <- resp.StatusCode
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if w.crm.count() != 1 || counts[201]+counts[409] != 8 || counts[201] < 1 {
		t.Fatalf("calls %d, statuses %v", w.crm.count(), counts)
	}
}

func TestValidationBeforeZoho(t *testing.T) {
	w := newWorld(t)
	status, body := w.post(t, w.request("application/json", `{"email":"a@x.io"}`))
	fields, _ := body["fields"].(map[string]any)
	if status != 422 || body["error"] != "invalid_submission" || fields["Last_Name"] != "required" || w.crm.count() != 0 || len(w.idem.m) != 0 {
		t.Fatalf("got %d %v", status, body)
	}
}

func TestZohoRejection(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return []zoho.RecordResult{{Code: "INVALID_DATA", Status: "error", Field: "Phone"}}, nil
	}
	status, body := w.post(t, w.request("application/json", `{"last_name":"L","phone":"x"}`))
	fields, _ := body["fields"].(map[string]any)
	if status != 422 || fields["Phone"] != "invalid" {
		t.Fatalf("got %d %v", status, body)
	}
	if !strings.Contains(w.logText(), `"zoho_code":"INVALID_DATA"`) {
		t.Errorf("the log does not say why Zoho refused: %s", w.logText())
	}
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"L","phone":"x"}`)); status != 422 || w.crm.count() != 1 {
		t.Fatal("a repeat of a refused submission called Zoho again")
	}
}

func TestZohoDownQueuesThenRedelivers(t *testing.T) {
	for _, failure := range []error{zoho.ErrUnavailable, &zoho.APIError{StatusCode: 503}} {
		w := newWorld(t)
		down := true
		w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
			if down {
				return nil, failure
			}
			return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "77"}}, nil
		}
		status, body := w.post(t, w.request("application/json", leadJSON))
		if status != 202 || body["status"] != "queued" || !strings.HasPrefix(body["submission_id"].(string), "sub_") {
			t.Fatalf("%v: got %d %v", failure, status, body)
		}
		msgs := w.queue.take()
		if len(msgs) != 1 || !jittered(msgs[0].delay, 30*time.Second) {
			t.Fatalf("messages %+v", msgs)
		}
		if e := w.idem.only(t); e.State != Queued || len(e.Record) == 0 || e.Answer.Status != 202 {
			t.Fatalf("entry %+v", e)
		}
		// Still down: the consumer reports a failure with backoff.
		resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh-1", 1))
		if len(resp.BatchItemFailures) != 1 || !jittered(w.queue.delayed["rh-1"], time.Minute) {
			t.Fatalf("failures %+v, delayed %v", resp.BatchItemFailures, w.queue.delayed)
		}
		down = false
		resp = w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh-2", 2))
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v", resp.BatchItemFailures)
		}
		e := w.idem.only(t)
		if e.State != Done || e.RecordID != "77" || e.DeliveredStatus != 201 || e.Record != nil || e.Attempts != 2 {
			t.Fatalf("entry %+v", e)
		}
		// A duplicate message, and the client's repeat: nothing more.
		if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh-3", 1)); len(resp.BatchItemFailures) != 0 {
			t.Fatal("duplicate message failed")
		}
		status2, body2 := w.post(t, w.request("application/json", leadJSON))
		if status2 != 202 || body2["submission_id"] != body["submission_id"] || w.crm.count() != 3 {
			t.Fatalf("repeat got %d %v, calls %d", status2, body2, w.crm.count())
		}
	}
}

func sqsEvent(m Message, receipt string, receiveCount int) events.SQSEvent {
	b, _ := json.Marshal(m)
	return events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-" + receipt, ReceiptHandle: receipt, Body: string(b), EventSource: "aws:sqs",
		Attributes: map[string]string{"ApproximateReceiveCount": itoa(receiveCount)},
	}}}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInvalidTokenRefreshesOnceAndRetries(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(tok string, _ zoho.Record) ([]zoho.RecordResult, error) {
		if tok == w.tokenV1 {
			return nil, &zoho.APIError{StatusCode: 401, Code: "INVALID_TOKEN"}
		}
		return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "5"}}, nil
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 201 {
		t.Fatal(status)
	}
	if w.ref.calls != 1 || w.crm.count() != 2 || w.crm.calls[1].Token != "tok-v2-secretvalue" {
		t.Fatalf("refreshes %d, calls %+v", w.ref.calls, w.crm.calls)
	}
	// The new token is cached: the next submission reads no vault.
	reads := w.vault.AccessTokenReads()
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"Two"}`)); status != 201 || w.vault.AccessTokenReads() != reads {
		t.Fatalf("status %d, vault reads %d → %d", status, reads, w.vault.AccessTokenReads())
	}
}

func TestRefreshFailureQueues(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return nil, &zoho.APIError{StatusCode: 401, Code: "INVALID_TOKEN"}
	}
	w.ref.err = errBoom
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
		t.Fatal(status)
	}
	if c, _ := w.conns.Get(context.Background(), w.conn.ID); c.Status != connection.Active {
		t.Fatal("a transient refresh failure marked the connection")
	}
	if msgs := w.queue.take(); len(msgs) != 1 || !jittered(msgs[0].delay, 30*time.Second) {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestReauthHoldsAndDeliversAfterReconnect(t *testing.T) {
	for _, cause := range []string{"domain", "refresh"} {
		w := newWorld(t)
		broken := true
		w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
			if broken && cause == "domain" {
				return nil, &zoho.APIError{StatusCode: 401, Code: "DOMAIN_TOKEN_MISMATCH"}
			}
			if broken {
				return nil, &zoho.APIError{StatusCode: 401, Code: "INVALID_TOKEN"}
			}
			return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "8"}}, nil
		}
		w.ref.err = ErrReauthRequired
		if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
			t.Fatalf("%s: %d", cause, status)
		}
		c, _ := w.conns.Get(context.Background(), w.conn.ID)
		if c.Status != connection.ReauthRequired {
			t.Fatalf("%s: status %s", cause, c.Status)
		}
		msgs := w.queue.take()
		if len(msgs) != 1 || !jittered(msgs[0].delay, 15*time.Minute) {
			t.Fatalf("%s: messages %+v", cause, msgs)
		}
		// While the connection waits, the consumer re-queues (no failure).
		calls := w.crm.count()
		if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh", 1)); len(resp.BatchItemFailures) != 0 {
			t.Fatal("a held submission was reported failed")
		}
		again := w.queue.take()
		if len(again) != 1 || !jittered(again[0].delay, 15*time.Minute) || w.crm.count() != calls {
			t.Fatalf("%s: not held: %+v", cause, again)
		}
		// A new submission while reauth is required is held without a Zoho call.
		if status, _ := w.post(t, w.request("application/json", `{"last_name":"Later"}`)); status != 202 || w.crm.count() != calls {
			t.Fatalf("%s: %d", cause, status)
		}
		w.queue.take()
		// Reconnect: the next look delivers.
		broken = false
		w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
			c.SetStatus(connection.Active, "", time.Now())
			return nil
		})
		w.vault.set(w.conn.ID, connection.AccessToken{Token: "tok-after-reconnect", ExpiresAt: time.Now().Add(time.Hour)})
		w.svc.tokens.drop(w.conn.ID)
		if resp := w.h.HandleSQS(context.Background(), sqsEvent(again[0].m, "rh2", 1)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: failures after reconnect", cause)
		}
		e, _ := w.idem.Get(context.Background(), again[0].m.Key)
		if e.State != Done || e.RecordID != "8" {
			t.Fatalf("%s: entry %+v", cause, e)
		}
	}
}

// heldPastHoldFor is a world whose connection awaits re-authorization, a
// submission held for it (its queue message m), and the clock moved past
// HoldFor (now).
func heldPastHoldFor(t *testing.T) (*world, Message, time.Time) {
	t.Helper()
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.ReauthRequired, "x", now)
		return nil
	})
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
		t.Fatal(status)
	}
	m := w.queue.take()[0].m
	now = now.Add(8 * 24 * time.Hour)
	return w, m, now
}

func TestHoldGivesUpAfterHoldFor(t *testing.T) {
	w, m, _ := heldPastHoldFor(t)
	resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "rh", 1))
	if len(resp.BatchItemFailures) != 1 || w.queue.delayed["rh"] != 0 || len(w.queue.take()) != 0 {
		t.Fatalf("failures %+v", resp)
	}
	if e, _ := w.idem.Get(context.Background(), m.Key); e.State != Rejected || e.LastError != "reauth_timeout" {
		t.Fatalf("entry %+v", e)
	}
}

func TestQueueSendFailureReleasesClaim(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, zoho.ErrUnavailable }
	w.queue.err = errBoom
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 500 {
		t.Fatal(status)
	}
	if len(w.idem.m) != 0 {
		t.Fatal("claim not released: a retry would be refused")
	}
}

func TestRejectedQueuedSubmissionGoesToDeadLetter(t *testing.T) {
	w := newWorld(t)
	down := true
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		if down {
			return nil, zoho.ErrUnavailable
		}
		return []zoho.RecordResult{{Code: "MANDATORY_NOT_FOUND", Field: "Company"}}, nil
	}
	w.post(t, w.request("application/json", leadJSON))
	m := w.queue.take()[0].m
	down = false
	for i := 1; i <= 3; i++ {
		resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "rh", i))
		if len(resp.BatchItemFailures) != 1 || w.queue.delayed["rh"] != 0 {
			t.Fatalf("receive %d: %+v", i, resp)
		}
	}
	if w.crm.count() != 2 {
		t.Fatalf("Zoho called %d times; a rejected submission must not be sent again", w.crm.count())
	}
}

// jittered: d is within the upper half of want, as jitter spreads it.
func jittered(d, want time.Duration) bool { return d >= want/2 && d <= want }

func TestRetryAfter(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		seen := map[time.Duration]bool{}
		for range 50 {
			got := RetryAfter(errRetry, i+1)
			if !jittered(got, w) {
				t.Errorf("receive %d: %v, want within [%v, %v]", i+1, got, w/2, w)
			}
			seen[got.Truncate(time.Second)] = true
		}
		// Spread, not synchronized: 50 messages of one outage do not
		// come back in the same few seconds.
		if len(seen) < 10 {
			t.Errorf("receive %d: 50 retries fell on %d distinct seconds", i+1, len(seen))
		}
	}
	if RetryAfter(permanent("x"), 3) != 0 {
		t.Error("permanent failures are not fast")
	}
}

func TestExpiredVaultTokenIsRefreshedFirst(t *testing.T) {
	w := newWorld(t)
	w.vault.set(w.conn.ID, connection.AccessToken{Token: "old", ExpiresAt: time.Now().Add(-time.Minute)})
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 201 {
		t.Fatal(status)
	}
	if w.ref.calls != 1 || w.crm.count() != 1 || w.crm.calls[0].Token != "tok-v2-secretvalue" {
		t.Fatalf("refreshes %d calls %+v", w.ref.calls, w.crm.calls)
	}
}

func TestInvokeDispatches(t *testing.T) {
	w := newWorld(t)
	req, _ := json.Marshal(w.request("application/json", leadJSON))
	out, err := w.h.Invoke(context.Background(), req)
	if resp, ok := out.(events.APIGatewayV2HTTPResponse); err != nil || !ok || resp.StatusCode != 201 {
		t.Fatalf("API request: %#v, %v", out, err)
	}
	ev, _ := json.Marshal(sqsEvent(Message{Key: "b_missing", ConnectionID: w.conn.ID}, "rh", 1))
	out, err = w.h.Invoke(context.Background(), ev)
	if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("SQS event: %#v, %v", out, err)
	}
}

func TestRefusals(t *testing.T) {
	w := newWorld(t)
	big := `{"last_name":"` + strings.Repeat("x", 70000) + `"}`
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
	}{
		{"too large", w.request("application/json", big), 413},
		{"too large base64", w.request("application/json", base64.StdEncoding.EncodeToString([]byte(big)),
			func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }), 413},
		{"text/plain", w.request("text/plain", "hi"), 415},
		{"array", w.request("application/json", `[{"last_name":"L"}]`), 400},
		{"bad json", w.request("application/json", `{"last_name":`), 400},
		{"bad form", w.request("application/x-www-form-urlencoded", `a=%zz`), 400},
		{"bad module", w.request("application/json", leadJSON, withQuery("module=Users")), 400},
		{"GET", w.request("application/json", leadJSON, func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "GET" }), 405},
	} {
		if status, body := w.post(t, tc.req); status != tc.status {
			t.Errorf("%s: got %d %v, want %d", tc.name, status, body, tc.status)
		}
	}
	if w.crm.count() != 0 {
		t.Fatal("a refused request reached Zoho")
	}
}

func TestAuthentication(t *testing.T) {
	w := newWorld(t)
	body := `{"last_name":"Signed"}`
	other, _, _, _ := w.keys.New(w.conn.ID)
	unknownID := connection.ID("us", zoho.Production, "1")
	noAuth := func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "authorization") }
	setID := func(id string) reqOpt {
		return func(r *events.APIGatewayV2HTTPRequest) { r.PathParameters["connection_id"] = id }
	}
	ok := []events.APIGatewayV2HTTPRequest{
		w.request("application/json", body),
		w.request("application/json", `{"last_name":"Sig"}`, noAuth, withHeader("x-signature", w.sign(w.key, `{"last_name":"Sig"}`))),
		w.request("application/x-www-form-urlencoded", base64.StdEncoding.EncodeToString([]byte("last_name=Form")), noAuth,
			withHeader("x-signature", w.sign(w.key, "last_name=Form")),
			func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }),
	}
	for i, r := range ok {
		if status, body := w.post(t, r); status != 201 {
			t.Errorf("good request %d: %d %v", i, status, body)
		}
	}
	bad := map[string]events.APIGatewayV2HTTPRequest{
		"no key":                   w.request("application/json", body, noAuth),
		"wrong key":                w.request("application/json", body, withHeader("authorization", "Bearer "+other.Reveal())),
		"key of another":           w.request("application/json", body, setID(unknownID)),
		"malformed id":             w.request("application/json", body, setID("../zc_x")),
		"basic auth":               w.request("application/json", body, withHeader("authorization", "Basic "+w.key)),
		"signature of other body":  w.request("application/json", body, noAuth, withHeader("x-signature", w.sign(w.key, `{}`))),
		"signature by wrong key":   w.request("application/json", body, noAuth, withHeader("x-signature", w.sign(other.Reveal(), body))),
		"signature malformed":      w.request("application/json", body, noAuth, withHeader("x-signature", "sha256=zz")),
		"signature unknown conn":   w.request("application/json", body, noAuth, setID(unknownID), withHeader("x-signature", w.sign(w.key, body))),
		"signature of base64 text": w.request("application/json", base64.StdEncoding.EncodeToString([]byte(body)), noAuth, withHeader("x-signature", w.sign(w.key, body))),
	}
	var first string
	for name, r := range bad {
		resp := w.h.Handle(context.Background(), r)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		if first == "" {
			first = resp.Body
		} else if resp.Body != first {
			t.Errorf("%s: the 401 body differs: %s vs %s", name, resp.Body, first)
		}
	}
	// Disconnected: 401 too, with the right key.
	w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.Disconnected, "operator", time.Now())
		return nil
	})
	if resp := w.h.Handle(context.Background(), w.request("application/json", `{"last_name":"Gone"}`)); resp.StatusCode != 401 || resp.Body != first {
		t.Errorf("disconnected: %d %s", resp.StatusCode, resp.Body)
	}
	if w.crm.count() != 3 {
		t.Fatalf("%d Zoho calls, want 3", w.crm.count())
	}
	if strings.Contains(w.logText(), w.key) || strings.Contains(w.logText(), w.tokenV1) || strings.Contains(w.logText(), "Signed") {
		t.Fatal("a key, token or submitted value is in the logs")
	}
}

// The sample events in events/ reach the right path of Invoke.
func TestSampleEvents(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		file string
		sqs  bool
	}{{"submission-json.json", false}, {"submission-form.json", false}, {"sqs-retry.json", true}} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		out, err := w.h.Invoke(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		switch resp := out.(type) {
		case events.SQSEventResponse:
			if !tc.sqs || len(resp.BatchItemFailures) != 0 {
				t.Errorf("%s: %+v", tc.file, resp)
			}
		case events.APIGatewayV2HTTPResponse:
			// The sample's connection is unknown here: the 401 of every
			// failed authentication.
			if tc.sqs || resp.StatusCode != 401 {
				t.Errorf("%s: %d %s", tc.file, resp.StatusCode, resp.Body)
			}
		default:
			t.Errorf("%s: answered %T", tc.file, out)
		}
	}
}

// A Zoho slower than the invocation has left: the delivery gives up in
// time to queue the submission (202) before the function would time out.
func TestSlowZohoQueuesBeforeTheDeadline(t *testing.T) {
	w := newWorld(t)
	w.svc.Timings.ZohoTimeout = time.Minute
	var callCtx context.Context
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		<-callCtx.Done()
		return nil, zoho.ErrUnavailable
	}
	w.svc.NewCRM = func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) CRM {
		return ctxCRM{w.crm.factory(dc, env, tok), &callCtx}
	}
	ctx, cancel := context.WithTimeout(context.Background(), enqueueReserve+300*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp := w.h.Handle(ctx, w.request("application/json", leadJSON))
	if resp.StatusCode != 202 || time.Since(start) > time.Second || len(w.queue.take()) != 1 {
		t.Fatalf("%d after %v", resp.StatusCode, time.Since(start))
	}
}

type ctxCRM struct {
	CRM
	ctx *context.Context
}

func (c ctxCRM) Insert(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error) {
	*c.ctx = ctx
	return c.CRM.Insert(ctx, module, recs, opts)
}

// A submission stored for the queue whose message was never sent (the
// send failed and so did the release; or the run died in between) is not
// answered 202 from its entry alone: a repeat within a claim's length gets
// 409, a later one sends the message again first.
func TestLostQueueMessageIsSentAgain(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	down := true
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		if down {
			return nil, zoho.ErrUnavailable
		}
		return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "31"}}, nil
	}
	w.queue.err = errBoom
	w.idem.failOn = map[string]error{"release": errBoom}
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 500 {
		t.Fatalf("send and release failed: %d", status)
	}
	if e := w.idem.only(t); e.State != Queued || e.MessageSent || e.Answer.Status != 202 {
		t.Fatalf("entry %+v", e)
	}
	if !strings.Contains(w.logText(), "a repeat is answered 409 for a minute, then its message is sent again") {
		t.Errorf("the log does not say what a repeat gets:\n%s", w.logText())
	}
	w.queue.err = nil
	// The client tries again at once: the first run might still be sending.
	now = now.Add(5 * time.Second)
	if status, body := w.post(t, w.request("application/json", leadJSON)); status != 409 || body["error"] != "submission_in_progress" {
		t.Fatalf("repeat within a minute: %d %v", status, body)
	}
	if msgs := w.queue.take(); len(msgs) != 0 {
		t.Fatalf("sent within a minute: %+v", msgs)
	}
	// Later, with SQS failing again: no 202 without a message.
	now = now.Add(time.Minute)
	w.queue.err = errBoom
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 500 {
		t.Fatalf("repeat while SQS fails: %d", status)
	}
	w.queue.err = nil
	status, body := w.post(t, w.request("application/json", leadJSON))
	msgs := w.queue.take()
	if status != 202 || body["status"] != "queued" || len(msgs) != 1 || msgs[0].m.SubmissionID != body["submission_id"] {
		t.Fatalf("repeat after a minute: %d %v, messages %+v", status, body, msgs)
	}
	if e := w.idem.only(t); !e.MessageSent || e.State != Queued {
		t.Fatalf("entry %+v", e)
	}
	// Once on record, repeats send nothing more.
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 || len(w.queue.take()) != 0 {
		t.Fatalf("a repeat sent another message (%d)", status)
	}
	down = false
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh", 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v", resp)
	}
	if e := w.idem.only(t); e.State != Done || e.RecordID != "31" {
		t.Fatalf("entry %+v", e)
	}
}

// The usual queueing records its message: a repeat a minute later (the
// consumer not there yet) sends nothing.
func TestQueuedEntryRecordsItsMessage(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, zoho.ErrUnavailable }
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 || len(w.queue.take()) != 1 {
		t.Fatal(status)
	}
	if e := w.idem.only(t); !e.MessageSent {
		t.Fatalf("entry %+v", e)
	}
	now = now.Add(2 * time.Minute)
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 || len(w.queue.take()) != 0 {
		t.Fatalf("repeat: %d", status)
	}
}

// A top-level 4xx from Zoho other than a token, scope, environment or rate
// problem is a refusal: 422 at once, and from the queue straight to the
// dead-letter queue, never retried.
func TestZohoRequestRefusals(t *testing.T) {
	for _, tc := range []struct {
		err          *zoho.APIError
		field, probl string
	}{
		{&zoho.APIError{StatusCode: 400, Code: "INVALID_DATA", Details: map[string]any{"api_name": "Phone"}}, "Phone", "invalid"},
		{&zoho.APIError{StatusCode: 400, Code: "INVALID_MODULE"}, "record", "invalid"},
		{&zoho.APIError{StatusCode: 400, Code: "REQUIRED_PARAM_MISSING", Details: map[string]any{"param_name": "data"}}, "data", "required"},
		{&zoho.APIError{StatusCode: 403, Code: "NO_PERMISSION"}, "record", "not_permitted"},
		{&zoho.APIError{StatusCode: 404, Code: "INVALID_URL_PATTERN"}, "record", "invalid"},
	} {
		t.Run(tc.err.Code, func(t *testing.T) {
			w := newWorld(t)
			w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, tc.err }
			status, body := w.post(t, w.request("application/json", leadJSON))
			fields, _ := body["fields"].(map[string]any)
			if status != 422 || body["error"] != "invalid_submission" || fields[tc.field] != tc.probl {
				t.Fatalf("got %d %v", status, body)
			}
			if msgs := w.queue.take(); len(msgs) != 0 {
				t.Fatalf("queued: %+v", msgs)
			}
			if e := w.idem.only(t); e.State != Done || e.Answer.Status != 422 || e.Record != nil {
				t.Fatalf("entry %+v", e)
			}
			if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 422 || w.crm.count() != 1 {
				t.Fatalf("repeat: %d after %d calls", status, w.crm.count())
			}

			// From the queue: Zoho down when submitted, then refuses.
			w2 := newWorld(t)
			down := true
			w2.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
				if down {
					return nil, zoho.ErrUnavailable
				}
				return nil, tc.err
			}
			if status, _ := w2.post(t, w2.request("application/json", leadJSON)); status != 202 {
				t.Fatal(status)
			}
			m := w2.queue.take()[0].m
			down = false
			for i := 1; i <= 2; i++ {
				resp := w2.h.HandleSQS(context.Background(), sqsEvent(m, "rh", i))
				if len(resp.BatchItemFailures) != 1 || w2.queue.delayed["rh"] != 0 {
					t.Fatalf("receive %d: %+v, delayed %v", i, resp, w2.queue.delayed)
				}
			}
			e := w2.idem.only(t)
			if e.State != Rejected || e.LastError != "zoho_rejected:"+tc.err.Code || e.DeliveredStatus != 422 {
				t.Fatalf("entry %+v", e)
			}
			if w2.crm.count() != 2 || len(w2.queue.take()) != 0 {
				t.Fatalf("Zoho called %d times; a refused submission must not be sent again", w2.crm.count())
			}
		})
	}
	// What may pass is still retried.
	for _, err := range []error{&zoho.APIError{StatusCode: 408}, &zoho.APIError{StatusCode: 429}, &zoho.APIError{StatusCode: 400, Code: "TOO_MANY_REQUESTS"},
		&zoho.APIError{StatusCode: 401, Code: "AUTHENTICATION_FAILURE"},
		&zoho.APIError{StatusCode: 500, Code: "INTERNAL_ERROR"}, zoho.ErrUnavailable} {
		w := newWorld(t)
		w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, err }
		if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
			t.Errorf("%v: %d", err, status)
		}
	}
}

// Sync tells the refresh which token Zoho refused, by its expiry; a token
// that merely expired in the vault names none.
func TestRefreshNamesTheRejectedToken(t *testing.T) {
	w := newWorld(t)
	exp := time.Now().Add(50 * time.Minute).Round(time.Millisecond)
	w.vault.set(w.conn.ID, connection.AccessToken{Token: zoho.Secret(w.tokenV1), ExpiresAt: exp})
	w.crm.answer = func(tok string, _ zoho.Record) ([]zoho.RecordResult, error) {
		if tok == w.tokenV1 {
			return nil, &zoho.APIError{StatusCode: 401, Code: "INVALID_TOKEN"}
		}
		return []zoho.RecordResult{{Code: "SUCCESS", Action: "insert", ID: "5"}}, nil
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 201 {
		t.Fatal(status)
	}
	if len(w.ref.rejected) != 1 || !w.ref.rejected[0].Equal(exp) {
		t.Fatalf("refresh asked with %v, want %v", w.ref.rejected, exp)
	}
	w2 := newWorld(t)
	w2.vault.set(w2.conn.ID, connection.AccessToken{Token: "old", ExpiresAt: time.Now().Add(-time.Minute)})
	if status, _ := w2.post(t, w2.request("application/json", leadJSON)); status != 201 {
		t.Fatal(status)
	}
	if len(w2.ref.rejected) != 1 || !w2.ref.rejected[0].IsZero() {
		t.Fatalf("an expired token's refresh named %v", w2.ref.rejected)
	}
}

// A submission held past HoldFor is rejected with its record kept, and
// longer than the dead-letter queue keeps its message; re-queued (as
// `zohoconnect dead-letters replay` does), it is delivered once.
func TestRejectedAfterHoldIsDeliveredWhenRequeued(t *testing.T) {
	w, m, now := heldPastHoldFor(t)
	w.h.HandleSQS(context.Background(), sqsEvent(m, "rh", 1))
	e, _ := w.idem.Get(context.Background(), m.Key)
	if e.State != Rejected || e.LastError != "reauth_timeout" || len(e.Record) == 0 || e.ExpiresAt.Before(now.Add(29*24*time.Hour)) {
		t.Fatalf("rejected entry: state %s, %q, record %d bytes, expires %v", e.State, e.LastError, len(e.Record), e.ExpiresAt)
	}
	if e.Cause() != CauseConnection {
		t.Fatalf("cause %v", e.Cause())
	}
	// Still rejected on a second look: nothing sent to Zoho.
	w.h.HandleSQS(context.Background(), sqsEvent(m, "rh", 2))
	if w.crm.count() != 0 {
		t.Fatal("Zoho called for a rejected entry")
	}

	w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.Active, "", now)
		return nil
	})
	if err := e.Requeue(now, Timings{}); err != nil {
		t.Fatal(err)
	}
	if e.State != Queued || e.Attempts != 0 || !e.HoldUntil.Equal(now.Add(7*24*time.Hour)) || e.LastError != "reauth_timeout" {
		t.Fatalf("requeued: %+v", e)
	}
	if err := e.Requeue(now, Timings{}); !errors.Is(err, ErrNotRejected) {
		t.Fatalf("requeue of a queued entry: %v", err)
	}
	w.idem.m[m.Key] = *e
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "rh3", 3)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp)
	}
	if got, _ := w.idem.Get(context.Background(), m.Key); got.State != Done || w.crm.count() != 1 {
		t.Fatalf("after requeue: %s, %d Zoho calls", got.State, w.crm.count())
	}
}

func TestRejectedCause(t *testing.T) {
	rec := []byte(`{"fields":{"a":"b"}}`)
	for _, tc := range []struct {
		why    string
		record []byte
		want   Cause
	}{
		{"reauth_timeout", rec, CauseConnection},
		{"connection_disconnected", rec, CauseConnection},
		{"connection_gone", rec, CauseConnection},
		{"invalid_submission", rec, CauseRefused},
		{"zoho_rejected:INVALID_DATA", rec, CauseRefused},
		{"module_not_permitted", rec, CauseRefused},
		{"something_new", rec, CauseRefused},
		{"record_unreadable", rec, CauseNoRecord},
		{"reauth_timeout", nil, CauseNoRecord},
	} {
		e := &Entry{State: Rejected, LastError: tc.why, Record: tc.record}
		if got := e.Cause(); got != tc.want {
			t.Errorf("%s (record %d bytes): %v, want %v", tc.why, len(tc.record), got, tc.want)
		}
		if err := e.Requeue(time.Now(), Timings{}); (err == nil) != (tc.want != CauseNoRecord) {
			t.Errorf("%s: requeue %v", tc.why, err)
		}
	}
}
