package product

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

type keys struct{ valid map[string]bool }

func (k keys) Check(_ context.Context, presented string) (bool, error) {
	return k.valid[presented], nil
}

type revoker struct{ ids []string }

func (r *revoker) RevokeConnection(_ context.Context, id string) error {
	r.ids = append(r.ids, id)
	return nil
}

type minter struct{}

func (minter) Keys(context.Context) (*connection.SubmissionKeys, error) {
	return connection.NewSubmissionKeys([]byte(strings.Repeat("m", 40)))
}

func fixture() (*Handler, *connectiontest.Connections, *connectiontest.Sessions, *revoker) {
	conns, sessions, rev := connectiontest.NewConnections(), connectiontest.NewSessions(), &revoker{}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := &Service{Sessions: sessions, Connections: conns, Keys: minter{}, Revoker: rev,
		ReturnURLOrigins: []string{"https://app.example.com"}, Log: log}
	return &Handler{Service: svc, Keys: keys{valid: map[string]bool{"current": true, "previous": true}}, Log: log}, conns, sessions, rev
}

func call(t *testing.T, h *Handler, key, route, path, query, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, RawQueryString: query, Body: body, Headers: map[string]string{}}
	if key != "" {
		req.Headers["Authorization"] = "Bearer " + key
	}
	if i := strings.Index(route, "{connection_id}"); i >= 0 {
		req.PathParameters = map[string]string{"connection_id": strings.Split(strings.TrimPrefix(path, "/connections/"), "/")[0]}
	}
	req.RequestContext.DomainName = "abc.execute-api.eu-west-1.amazonaws.com"
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSessionOpens(t *testing.T) {
	h, _, sessions, _ := fixture()
	resp := call(t, h, "previous", "POST /connect/sessions", "/connect/sessions", "",
		`{"tenant_id":"t-1","environment":"Sandbox","dc":"cn","return_url":"https://app.example.com/x","metadata":{"a":"b"}}`)
	if resp.StatusCode != 201 || !strings.Contains(resp.Body, `"connect_url":"https://abc.execute-api.eu-west-1.amazonaws.com/connect?session=cs_`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	id := resp.Body[strings.Index(resp.Body, `"session_id":"`)+14:][:27]
	s, err := sessions.Get(context.Background(), id, time.Now())
	if err != nil || s.TenantID != "t-1" || s.Environment != "sandbox" || s.StartLocation != "cn" || s.Metadata["a"] != "b" ||
		s.ExpiresAt.Sub(s.CreatedAt) != connection.DefaultSessionTTL {
		t.Fatalf("%+v %v", s, err)
	}
	if strings.Contains(resp.Body, s.SecretHash) {
		t.Fatal("the answer holds the secret's hash")
	}
}

func TestAuthAndRoutes(t *testing.T) {
	h, conns, _, rev := fixture()
	id := connection.ID("eu", zoho.Production, "1")
	conns.Put(connection.Connection{ID: id, Location: "eu", Status: connection.Active, TenantID: "t", Version: 1})
	for _, key := range []string{"", "nope"} {
		if resp := call(t, h, key, "GET /connections/{connection_id}", "/connections/"+id, "", ""); resp.StatusCode != 401 {
			t.Errorf("key %q: %d", key, resp.StatusCode)
		}
	}
	if resp := call(t, h, "current", "GET /connections/{connection_id}", "/connections/"+id, "", ""); resp.StatusCode != 200 ||
		!strings.Contains(resp.Body, `"on_duplicate":"note"`) || strings.Contains(resp.Body, "submission_key") {
		t.Fatalf("GET: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := call(t, h, "current", "DELETE /connections/{connection_id}", "/connections/"+id, "", ""); resp.StatusCode != 200 || len(rev.ids) != 1 {
		t.Fatalf("DELETE: %d %s %v", resp.StatusCode, resp.Body, rev.ids)
	}
	if c := conns.Item(id); c.Status != connection.Disconnected || c.StatusReason != DisconnectReason {
		t.Fatalf("after DELETE: %+v", c)
	}
	if resp := call(t, h, "current", "GET /unknown", "/unknown", "", ""); resp.StatusCode != 404 {
		t.Fatalf("unknown route: %d", resp.StatusCode)
	}
	for _, q := range []string{"limit=0", "limit=x", "status=gone", "tenant_id=a%20b", "other=1", "limit=1&limit=2"} {
		if resp := call(t, h, "current", "GET /connections", "/connections", q, ""); resp.StatusCode != 400 {
			t.Errorf("?%s: %d %s", q, resp.StatusCode, resp.Body)
		}
	}
}

func TestChangeNeverCreates(t *testing.T) {
	h, conns, _, _ := fixture()
	_, err := h.Service.Change(context.Background(), connection.ID("eu", zoho.Production, "2"), Patch{OnDuplicate: ptr("update")})
	if !errors.Is(err, ErrNotFound) || conns.Len() != 0 {
		t.Fatalf("%v, %d stored", err, conns.Len())
	}
}

func ptr[T any](v T) *T { return &v }

func TestPatchConcurrencyLimit(t *testing.T) {
	h, conns, _, _ := fixture()
	id := connection.ID("eu", zoho.Production, "1")
	conns.Put(connection.Connection{ID: id, Location: "eu", Status: connection.Active, TenantID: "t", Edition: "free", Version: 1})
	resp := call(t, h, "current", "PATCH /connections/{connection_id}", "/connections/"+id, "", `{"concurrency_limit":2}`)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"concurrency_limit":2`) || !strings.Contains(resp.Body, `"edition":"free"`) {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, resp.Body)
	}
	if c := conns.Item(id); c.ConcurrencyLimit != 2 || c.Edition != "free" {
		t.Fatalf("stored %+v", c)
	}
	for _, bad := range []string{`{"concurrency_limit":-1}`, `{"concurrency_limit":26}`, `{"concurrency_limit":"5"}`} {
		if resp := call(t, h, "current", "PATCH /connections/{connection_id}", "/connections/"+id, "", bad); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, resp.Body)
		}
	}
	// 0: the edition's limit again.
	if resp := call(t, h, "current", "PATCH /connections/{connection_id}", "/connections/"+id, "", `{"concurrency_limit":0}`); resp.StatusCode != 200 || conns.Item(id).ConcurrencyLimit != 0 {
		t.Fatalf("PATCH 0: %d %s", resp.StatusCode, resp.Body)
	}
}
