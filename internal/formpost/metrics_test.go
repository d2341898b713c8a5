package formpost_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
)

// Every post writes one Submissions and SubmissionLatency line, split by
// Source "form": the keyed submissions' outcomes (a browser's post by
// the submission's answer, not its 303) and the form's refusals; never a
// submitted value, the form's id, nor its CAPTCHA secret.
func TestPostsWriteMetricLines(t *testing.T) {
	h, _, _, id := unit(t, forms.Spec{HoneypotField: "website", RateLimitPerMinute: 3,
		Captcha: &forms.CaptchaSpec{Provider: "hcaptcha", Secret: "captcha-secret-value"}})
	var buf bytes.Buffer
	h.Metrics = &metrics.Emitter{Log: slog.New(slog.NewJSONHandler(&buf, nil)), Stage: "test"}
	for _, body := range []string{
		`{"last_name":"Secretvalue","h-captcha-response":"ok"}`,
		`{"last_name":"Secretvalue","website":"spam"}`,
		`{"last_name":"Secretvalue","h-captcha-response":"no"}`,
		`{"last_name":"Secretvalue","h-captcha-response":"ok"}`, // the 4th this minute
	} {
		postJSON(h, id, body)
	}
	foreign := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"form_id": id}, Body: `{"last_name":"Secretvalue"}`,
		Headers: map[string]string{"origin": "https://evil.example", "content-type": "application/json"}}
	foreign.RequestContext.HTTP.Method = "POST"
	h.Handle(t.Context(), foreign)
	// A browser's post is answered a page (200) whatever the submission's
	// answer: its outcome is the submission's (created).
	h2, _, _, id2 := unit(t, forms.Spec{})
	h2.Metrics = h.Metrics
	browser := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"form_id": id2}, Body: "last_name=Secretvalue",
		Headers: map[string]string{"origin": "https://www.example.com", "content-type": "application/x-www-form-urlencoded"}}
	browser.RequestContext.HTTP.Method = "POST"
	if r := h2.Handle(t.Context(), browser); r.StatusCode != 200 {
		t.Fatalf("browser post: %d %s", r.StatusCode, r.Body)
	}
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		decl, _ := json.Marshal(l["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"])
		if l["Source"] != "form" || l["Submissions"] != 1.0 || l["SubmissionLatency"] == nil || l["Stage"] != "test" ||
			string(decl) != `[["Stage","Outcome"],["Stage","Outcome","Source"]]` {
			t.Fatalf("line %s", line)
		}
		got = append(got, fmt.Sprint(l["Outcome"]))
	}
	if want := "[created honeypot captcha_failed rate_limited origin_not_allowed created]"; fmt.Sprint(got) != want {
		t.Fatalf("outcomes %v, want %s", got, want)
	}
	for _, leak := range []string{"Secretvalue", "spam", "captcha-secret-value", id} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("a metric line holds %q", leak)
		}
	}
}
