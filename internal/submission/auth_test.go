package submission

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The documented examples: what a client computes, and what
// internal/localinvoke's Sign computes for the same request.
func TestSignVectors(t *testing.T) {
	at := time.Unix(1700000000, 0)
	for _, c := range []struct{ query, idem, want string }{
		{"module=Leads", "idem-1", "t=1700000000,v1=cbfcb19b0f7a28234645e9ecaa09de2abdcfa62f686988ba80c7278efb951fb6"},
		{"", "", "t=1700000000,v1=75088e94c18382e3810262152622ec56e99873fa3a2ab3ede534b4ac337b915c"},
	} {
		got := Sign("zsk_key", at, Signed{Method: "POST", Path: "/connections/zc_1/submissions", RawQuery: c.query, IdempotencyKey: c.idem, Body: []byte(`{"a":1}`)})
		if got != c.want {
			t.Errorf("query %q idem %q: %s, want %s", c.query, c.idem, got, c.want)
		}
	}
	in := SigningInput(1700000000, Signed{Method: "POST", Path: "/p", RawQuery: "a=1", IdempotencyKey: "k", Body: []byte("b")})
	if string(in) != "1700000000.POST./p?a=1.k.b" {
		t.Errorf("signing input %q", in)
	}
	if in := SigningInput(5, Signed{Method: "POST", Path: "/p"}); string(in) != "5.POST./p.." {
		t.Errorf("signing input without query, key or body: %q", in)
	}
}

func TestParseSignature(t *testing.T) {
	mac := strings.Repeat("0a", 32)
	good := map[string]int64{
		"t=1700000000,v1=" + mac:                  1700000000,
		"v1=" + mac + ",t=1700000000":             1700000000,
		" t=1700000000 , v1=" + mac + " ":         1700000000,
		"t=1700000000,v1=" + mac + ",v2=abc":      1700000000, // a later scheme beside v1
		"t=1700000000,v1=" + strings.ToUpper(mac): 1700000000,
	}
	for h, want := range good {
		sig, err := ParseSignature(h)
		if err != nil || sig.Timestamp != want || len(sig.MAC) != 32 {
			t.Errorf("%q: %+v, %v", h, sig, err)
		}
	}
	for _, h := range []string{
		"", "sha256=" + mac, "t=1700000000", "v1=" + mac, "t=,v1=" + mac, "t=-1,v1=" + mac, "t=+1,v1=" + mac,
		"t=01700000000,v1=" + mac, "t=1.5,v1=" + mac, "t=99999999999999999999,v1=" + mac,
		"t=1700000000,t=1700000001,v1=" + mac, "t=1700000000,v1=" + mac + ",v1=" + mac,
		"t=1700000000,v1=" + mac[:62], "t=1700000000,v1=" + mac + "00", "t=1700000000,v1=" + mac[:62] + "zz",
		"t=1700000000;v1=" + mac, "t=1700000000,,v1=" + mac, "T=1700000000,v1=" + mac, "t=1700000000,V1=" + mac,
		"t=1700000000,v1=" + mac + ",a,b", "t=1,v1=" + mac + strings.Repeat(",x=1", 7),
	} {
		if sig, err := ParseSignature(h); err == nil {
			t.Errorf("%q accepted: %+v", h, sig)
		}
	}
}

// Every change to a signed request, and a time too old or too far ahead,
// answers the same 401; the request as signed, within 300 s either way,
// is taken.
func TestSignatureReplays(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	const body = `{"last_name":"Signed","email":"s@example.com"}`
	path := "/connections/" + w.conn.ID + "/submissions"
	base := Signed{Method: "POST", Path: path, RawQuery: "module=Contacts", IdempotencyKey: "order-7", Body: []byte(body)}
	signedReq := func(sig string, change func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		r := w.request("application/json", body, withQuery("module=Contacts"), withHeader("idempotency-key", "order-7"), withHeader("x-signature", sig))
		delete(r.Headers, "authorization")
		if change != nil {
			change(&r)
		}
		return r
	}
	good := Sign(w.key, now, base)
	first := ""
	for name, r := range map[string]events.APIGatewayV2HTTPRequest{
		"other module":           signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "module=Leads" }),
		"no query":               signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "" }),
		"query added to":         signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "module=Contacts&x=1" }),
		"other path":             signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.RawPath = "/v2" + path }),
		"other Idempotency-Key":  signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.Headers["idempotency-key"] = "order-8" }),
		"no Idempotency-Key":     signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "idempotency-key") }),
		"other body":             signedReq(good, func(r *events.APIGatewayV2HTTPRequest) { r.Body = strings.Replace(body, "Signed", "Signee", 1) }),
		"other method":           signedReq(Sign(w.key, now, Signed{Method: "PUT", Path: path, RawQuery: base.RawQuery, IdempotencyKey: base.IdempotencyKey, Body: base.Body}), nil),
		"old t":                  signedReq(Sign(w.key, now.Add(-301*time.Second), base), nil),
		"future t":               signedReq(Sign(w.key, now.Add(301*time.Second), base), nil),
		"t changed":              signedReq(strings.Replace(good, "t=", "t=1", 1), nil),
		"other connection's key": signedReq(Sign(strings.Replace(w.key, "zsk_", "zsk_x", 1), now, base), nil),
		"old sha256= format":     signedReq("sha256="+strings.Split(good, "v1=")[1], nil),
	} {
		resp := w.h.Handle(context.Background(), r)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		if first == "" {
			first = resp.Body
		} else if resp.Body != first {
			t.Errorf("%s: the 401 differs: %s", name, resp.Body)
		}
	}
	if w.crm.count() != 0 {
		t.Fatalf("a refused request reached Zoho: %v", w.crm.ops())
	}
	for _, at := range []time.Time{now.Add(-300 * time.Second), now.Add(300 * time.Second)} {
		w2 := newWorld(t)
		w2.svc.Now = func() time.Time { return now }
		r := w2.request("application/json", body, withQuery("module=Contacts"), withHeader("idempotency-key", "order-7"),
			withHeader("x-signature", Sign(w2.key, at, Signed{Method: "POST", Path: "/connections/" + w2.conn.ID + "/submissions",
				RawQuery: "module=Contacts", IdempotencyKey: "order-7", Body: []byte(body)})))
		delete(r.Headers, "authorization")
		if status, b := w2.post(t, r); status != 201 || b["module"] != "Contacts" {
			t.Errorf("signed %v from now: %d %v", at.Sub(now), status, b)
		}
	}
	// A named stage is not part of the signed path.
	r := signedReq(good, func(r *events.APIGatewayV2HTTPRequest) {
		r.RawPath, r.RequestContext.Stage = "/prod"+path, "prod"
	})
	if status, b := w.post(t, r); status != 201 {
		t.Errorf("under stage prod: %d %v", status, b)
	}
	// The same signed request again within 300 s: the first answer, nothing new.
	if status, _ := w.post(t, r); status != 201 || w.crm.count() != 1 {
		t.Errorf("the signed request replayed: %d, %d writes", status, w.crm.count())
	}
}
