package devserver

import (
	"encoding/base64"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/localrun"
)

// A request becomes the event API Gateway would send: cookies in cookies
// (not in headers), the domain it came in on, JSON as it is, a form
// base64-encoded, path parameters.
func TestEvent(t *testing.T) {
	rt := route{method: "POST", path: "/connections/{connection_id}/submissions", function: "SyncFunction"}
	for _, c := range []struct {
		contentType string
		base64      bool
	}{
		{"application/json", false},
		{"application/json; charset=utf-8", false},
		{"application/vnd.api+json", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", true},
		{"multipart/form-data; boundary=x", true},
		{"", true},
	} {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/connections/zc_1/submissions?module=Leads", strings.NewReader(`a=1`))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		r.Header.Add("Cookie", "__Host-zc_a=1; other=2")
		r.Header.Add("Cookie", "third=3")
		ev, err := event(r, rt, map[string]string{"connection_id": "zc_1"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.IsBase64Encoded != c.base64 {
			t.Errorf("%q: isBase64Encoded %v", c.contentType, ev.IsBase64Encoded)
		}
		body := ev.Body
		if ev.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(ev.Body)
			body = string(b)
		}
		if body != "a=1" {
			t.Errorf("%q: body %q", c.contentType, body)
		}
		if want := []string{"__Host-zc_a=1", "other=2", "third=3"}; !reflect.DeepEqual(ev.Cookies, want) {
			t.Errorf("cookies %q, want %q", ev.Cookies, want)
		}
		if _, ok := ev.Headers["cookie"]; ok {
			t.Error("the cookie header is in headers too")
		}
		if ev.RequestContext.DomainName != "127.0.0.1:8080" || ev.Headers["host"] != "127.0.0.1:8080" || ev.RouteKey != "POST /connections/{connection_id}/submissions" ||
			ev.PathParameters["connection_id"] != "zc_1" || ev.QueryStringParameters["module"] != "Leads" || ev.RequestContext.HTTP.Method != "POST" {
			t.Errorf("event %+v", ev)
		}
	}
}

// A function's cookies become Set-Cookie headers; a redirect to Zoho's
// consent page goes to the simulator.
func TestWrite(t *testing.T) {
	s := &Server{Bundle: &localrun.Bundle{SimURL: "http://127.0.0.1:9"}}
	w := httptest.NewRecorder()
	s.write(w, events.APIGatewayV2HTTPResponse{
		StatusCode: 302,
		Headers:    map[string]string{"Location": "https://accounts.zoho.com/oauth/v2/auth?state=s"},
		Cookies:    []string{"__Host-zc_a=n; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=600", "b=2"},
	})
	if w.Code != 302 || w.Header().Get("Location") != "http://127.0.0.1:9/_host/accounts.zoho.com/oauth/v2/auth?state=s" {
		t.Errorf("%d, Location %q", w.Code, w.Header().Get("Location"))
	}
	if got := w.Header().Values("Set-Cookie"); len(got) != 2 || !strings.HasPrefix(got[0], "__Host-zc_a=n; Secure") {
		t.Errorf("Set-Cookie %q", got)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		ok            bool
	}{
		{"/connections", "/connections", true},
		{"/connections/{connection_id}", "/connections/zc_1", true},
		{"/connections/{connection_id}", "/connections/", false},
		{"/connections/{connection_id}/submission-key", "/connections/zc_1/submission-key", true},
		{"/connections/{connection_id}/submission-key", "/connections/zc_1/submissions", false},
	} {
		if _, ok := match(c.pattern, c.path); ok != c.ok {
			t.Errorf("match(%s, %s) = %v", c.pattern, c.path, ok)
		}
	}
}
