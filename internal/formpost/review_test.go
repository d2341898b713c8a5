package formpost_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/formpost"
	"github.com/zohoconnect/zohoconnect/internal/forms"
)

func postFrom(h *formpost.Handler, id, ip, body string) events.APIGatewayV2HTTPResponse {
	req := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"form_id": id}, Body: body,
		Headers: map[string]string{"origin": "https://www.example.com", "accept": "application/json", "content-type": "application/json"}}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.SourceIP = ip
	return h.Handle(context.Background(), req)
}

// One IPv6 client has a whole /64 to post from: the form's limit per
// address counts the /64, or it limits nothing.
func TestRateLimitCountsAnIPv6ClientsWholePrefix(t *testing.T) {
	h, s, _, id := unit(t, forms.Spec{RateLimitPerMinute: 3})
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3", "2001:db8:1:2:ffff:ffff:ffff:ffff"} {
		want := 201
		if i >= 3 {
			want = 429
		}
		if r := postFrom(h, id, ip, `{"last_name":"A"}`); r.StatusCode != want {
			t.Errorf("post %d from %s: %d, want %d", i+1, ip, r.StatusCode, want)
		}
	}
	// Another /64, and IPv4 addresses, are counted on their own.
	for _, ip := range []string{"2001:db8:1:3::1", "203.0.113.7", "203.0.113.8"} {
		if r := postFrom(h, id, ip, `{"last_name":"A"}`); r.StatusCode != 201 {
			t.Errorf("a post from %s: %d, want 201", ip, r.StatusCode)
		}
	}
	if len(s.got) != 6 {
		t.Errorf("%d submissions, want 6", len(s.got))
	}
}

// A form's mapping renames every posted name at once, whatever the map's
// order: the same post is the same submission (the same body, so the
// same derived idempotency key), and a name that is both a source and a
// target keeps neither value lost.
func TestMappingIsDeterministic(t *testing.T) {
	h, s, _, id := unit(t, forms.Spec{RateLimitPerMinute: 1000,
		FieldMapping: map[string]string{"a": "Last_Name", "Last_Name": "Company", "org": "Account_Name"}})
	for range 40 {
		if r := postJSON(h, id, `{"a":"1","Last_Name":"2","x":"3"}`); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	want := `{"Company":"2","Last_Name":"1","x":"3"}`
	for _, r := range s.got {
		if string(r.Body) != want {
			t.Fatalf("the same post became %s (and %s elsewhere)", r.Body, want)
		}
	}
}
