package formpost_test

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/formpost"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstest"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/storetest"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
)

// counter is an in-memory submission.RateCounter; it passes the
// counter's contract (TestCounterContract).
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Take(_ context.Context, id string, window time.Time, limit int, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := id + "|" + strconv.FormatInt(window.Unix(), 10)
	if c.n[k] >= limit {
		return submission.ErrRateLimited
	}
	c.n[k]++
	return nil
}

func TestCounterContract(t *testing.T) {
	storetest.RunRateCounterContract(t, func(*testing.T) submission.RateCounter { return &counter{n: map[string]int{}} })
}

type submitter struct{ got []submission.Request }

func (s *submitter) Submit(_ context.Context, r submission.Request) (submission.Answer, error) {
	s.got = append(s.got, r)
	return submission.Answer{Status: 201, Body: `{"status":"created","record_id":"1","module":"Leads"}`}, nil
}

type verifier struct{ calls int }

func (v *verifier) Verify(_ context.Context, _ captcha.Provider, _, token, _ string) error {
	v.calls++
	if token != "ok" {
		return captcha.ErrFailed
	}
	return nil
}

func unit(t *testing.T, spec forms.Spec) (*formpost.Handler, *submitter, *verifier, string) {
	t.Helper()
	store := formstest.New()
	spec.AllowedOrigins = []string{"https://www.example.com"}
	f, err := forms.NewForm("zc_000000000000000000000001", spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	s, v := &submitter{}, &verifier{}
	return &formpost.Handler{Forms: store, Submit: s, Captcha: v, Counter: &counter{n: map[string]int{}}, MaxBodyBytes: 1 << 16,
		Log: logging.New(io.Discard, "info")}, s, v, f.ID
}

func postJSON(h *formpost.Handler, id, body string) events.APIGatewayV2HTTPResponse {
	req := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"form_id": id}, Body: body,
		Headers: map[string]string{"origin": "https://www.example.com", "accept": "application/json", "content-type": "application/json"}}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.SourceIP = "203.0.113.1"
	return h.Handle(context.Background(), req)
}

// A flood costs no CAPTCHA check and reaches nothing: the rate limit
// comes first, the honeypot before the CAPTCHA.
func TestChecksCostLeastFirst(t *testing.T) {
	h, s, v, id := unit(t, forms.Spec{HoneypotField: "website", RateLimitPerMinute: 3,
		Captcha: &forms.CaptchaSpec{Provider: "hcaptcha", Secret: "s"}})
	if r := postJSON(h, id, `{"last_name":"A","website":"spam","h-captcha-response":"ok"}`); r.StatusCode != 202 {
		t.Fatalf("honeypot: %d", r.StatusCode)
	}
	if r := postJSON(h, id, `{"last_name":"A","h-captcha-response":"no"}`); r.StatusCode != 403 {
		t.Fatalf("captcha: %d", r.StatusCode)
	}
	if r := postJSON(h, id, `{"last_name":"A","h-captcha-response":"ok","g-recaptcha-response":"x"}`); r.StatusCode != 201 {
		t.Fatalf("ok: %d %s", r.StatusCode, r.Body)
	}
	for range 5 {
		if r := postJSON(h, id, `{"last_name":"A","h-captcha-response":"ok"}`); r.StatusCode != 429 || r.Headers["Retry-After"] == "" {
			t.Fatalf("over the limit: %d %v", r.StatusCode, r.Headers)
		}
	}
	if v.calls != 2 || len(s.got) != 1 {
		t.Fatalf("%d CAPTCHA checks, %d submissions; want 2 and 1", v.calls, len(s.got))
	}
	// What reaches the submission: the form's connection and module, no
	// token fields, Credentials.Form, as JSON.
	r := s.got[0]
	var fields map[string]any
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatal(err)
	}
	if r.ConnectionID != "zc_000000000000000000000001" || !r.Credentials.Form || r.Credentials.Bearer != "" || r.RawQuery != "module=Leads" ||
		r.ContentType != "application/json" || len(fields) != 1 || fields["last_name"] != "A" {
		t.Errorf("request %+v, fields %v", r, fields)
	}
}

func TestUnknownAndMalformedIDs(t *testing.T) {
	h, _, _, _ := unit(t, forms.Spec{})
	for _, id := range []string{"", "f_1", "../x", forms.NewID()} {
		if r := postJSON(h, id, `{"last_name":"A"}`); r.StatusCode != 404 {
			t.Errorf("%q: %d", id, r.StatusCode)
		}
	}
}

// Submitted credentials never make a submission of a form's post: only
// formpost sets Credentials.Form, never a header.
func TestParseCredentialsNeverSetsForm(t *testing.T) {
	for _, h := range []string{"", "Form", "Bearer form", "form true"} {
		if c := submission.ParseCredentials(h, "form=1"); c.Form {
			t.Errorf("%q: Form set", h)
		}
	}
}
