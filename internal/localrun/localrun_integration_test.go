//go:build integration

package localrun_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func request(method, path, query string, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: query, Headers: map[string]string{}, Body: body}
	for k, v := range headers {
		r.Headers[k] = v
	}
	r.RequestContext.HTTP.Method, r.RequestContext.HTTP.Path, r.RequestContext.HTTP.SourceIP = method, path, "127.0.0.1"
	r.RequestContext.DomainName = "api.example.com"
	r.RequestContext.TimeEpoch = time.Now().UnixMilli()
	return r
}

// The product's whole story through the bundle's handlers: a session, the
// consent with the browser's cookie, the connection.connected event that
// the connections table's stream makes EventsFunction publish on the bus,
// a submission key, a submission, then a disconnect, whose revocation
// runs in process, and its event.
func TestProductFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logs := &testflow.LogBuffer{}
	b, err := localrun.Start(ctx, localrun.Options{Logs: logs, Params: map[string]string{"ReturnUrlOrigins": "https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		for _, leak := range testflow.Leaks(logs.String(), append(secrets, b.ProductAPIKey, localrun.ClientSecret)) {
			t.Errorf("the logs contain %s", leak)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	if len(b.ProductAPIKey) != 48 || b.EventBus == "" {
		t.Fatalf("product API key of %d characters, bus %q", len(b.ProductAPIKey), b.EventBus)
	}
	product := map[string]string{"authorization": "Bearer " + b.ProductAPIKey, "content-type": "application/json"}

	// 1. The product opens a session.
	resp, err := b.ProductAPI.Handle(ctx, request("POST", "/connect/sessions", "", product,
		`{"tenant_id":"acme","environment":"sandbox","return_url":"https://app.example.com/zoho?x=1","metadata":{"plan":"pro"}}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /connect/sessions: %d %s (%v)", resp.StatusCode, resp.Body, err)
	}
	var sess struct {
		ID  string `json:"session_id"`
		URL string `json:"connect_url"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &sess); err != nil {
		t.Fatal(err)
	}
	cu, err := url.Parse(sess.URL)
	if err != nil || cu.Host != "api.example.com" || cu.Path != "/connect" {
		t.Fatalf("connect_url %q", sess.URL)
	}

	// 2. The browser: /connect, the consent page, the callback with the
	// cookie /connect set.
	resp, _ = b.Callback.Handle(ctx, request("GET", "/connect", cu.RawQuery, nil, ""))
	if resp.StatusCode != 302 || len(resp.Cookies) != 1 || !strings.HasPrefix(resp.Cookies[0], "__Host-") {
		t.Fatalf("GET /connect: %d, cookies %q: %s", resp.StatusCode, resp.Cookies, resp.Body)
	}
	cookie, _, _ := strings.Cut(resp.Cookies[0], ";")
	consent, _ := url.Parse(resp.Headers["Location"])
	q := consent.Query()
	q.Set("sim_org", "20071000202")
	q.Set("sim_action", "accept")
	consent.RawQuery = q.Encode()
	zc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: b.SimURL})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zc.Get(consent.String())
	if err != nil {
		t.Fatal(err)
	}
	zr.Body.Close()
	back, _ := url.Parse(zr.Header.Get("Location"))
	cb := request("GET", "/oauth/callback", back.RawQuery, nil, "")
	cb.Cookies = []string{cookie}
	resp, _ = b.Callback.Handle(ctx, cb)
	if resp.StatusCode != 303 {
		t.Fatalf("GET /oauth/callback: %d %s", resp.StatusCode, resp.Body)
	}
	ret, _ := url.Parse(resp.Headers["Location"])
	id := ret.Query().Get("connection_id")
	if ret.Host != "app.example.com" || ret.Query().Get("status") != "connected" || ret.Query().Get("session_id") != sess.ID || !connection.ValidID(id) {
		t.Fatalf("back to %s", ret)
	}

	// 3. The event, from the stream through EventsFunction to the bus.
	ev := waitEvent(t, ctx, b, productevents.Connected, id)
	d := ev.Detail
	if d.TenantID != "acme" || d.SessionID != sess.ID || d.Location != "eu" || d.Environment != "sandbox" || d.OrgID != "20071000202" ||
		d.Metadata["plan"] != "pro" || d.Status != "active" || !strings.HasPrefix(d.EventID, "ev_") || ev.Source != productevents.Source {
		t.Errorf("event %+v", ev)
	}

	// 4. A submission key, and a submission with it.
	path := "/connections/" + id + "/submission-key"
	kr := request("POST", path, "", product, "")
	kr.RouteKey, kr.PathParameters = "POST /connections/{connection_id}/submission-key", map[string]string{"connection_id": id}
	resp, _ = b.ProductAPI.Handle(ctx, kr)
	var key struct {
		Key string `json:"submission_key"`
	}
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &key) != nil || key.Key == "" {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, resp.Body)
	}
	secrets = append(secrets, key.Key, strings.TrimPrefix(cookie, strings.SplitN(cookie, "=", 2)[0]+"="))
	sub := request("POST", "/connections/"+id+"/submissions", "", map[string]string{
		"authorization": "Bearer " + key.Key, "content-type": "application/x-www-form-urlencoded"}, "")
	sub.RouteKey, sub.PathParameters = "POST /connections/{connection_id}/submissions", map[string]string{"connection_id": id}
	sub.Body, sub.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("last_name=Keller&email=maria@example.eu&company=Keller+AG")), true
	if resp := b.Sync.Handle(ctx, sub); resp.StatusCode != 201 {
		t.Fatalf("submission: %d %s", resp.StatusCode, resp.Body)
	}
	// The product's own key works for submissions too (interface.md).
	sub.Headers["authorization"] = "Bearer " + b.ProductAPIKey
	sub.Body = base64.StdEncoding.EncodeToString([]byte("last_name=Lee&email=jordan@example.com&company=Lee+Co"))
	if resp := b.Sync.Handle(ctx, sub); resp.StatusCode != 201 {
		t.Errorf("submission with the product API key: %d %s", resp.StatusCode, resp.Body)
	}

	// 5. The product disconnects: RefreshFunction revokes the token (in
	// process), and the change is an event too.
	dr := request("DELETE", "/connections/"+id, "", product, "")
	dr.RouteKey, dr.PathParameters = "DELETE /connections/{connection_id}", map[string]string{"connection_id": id}
	resp, _ = b.ProductAPI.Handle(ctx, dr)
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, resp.Body)
	}
	if ev := waitEvent(t, ctx, b, productevents.Disconnected, id); ev.Detail.Status != "disconnected" {
		t.Errorf("event %+v", ev)
	}
	var revoked bool
	for _, r := range b.Sim.Requests() {
		revoked = revoked || (r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/oauth/v2/token/revoke"))
	}
	if !revoked {
		t.Error("the simulator saw no revocation")
	}
}

func waitEvent(t *testing.T, ctx context.Context, b *localrun.Bundle, detailType, id string) localrun.BusEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	ev, err := b.WaitEvent(ctx, detailType, id)
	if err != nil {
		t.Fatalf("no %s event for %s: %v", detailType, id, err)
	}
	t.Logf("%s for %s after %s", detailType, id, time.Since(start).Round(time.Millisecond))
	return ev
}
