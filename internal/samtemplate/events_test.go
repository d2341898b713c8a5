package samtemplate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The sample events in events/ (for sam local invoke and tests) decode
// strictly into the shapes the functions receive, and the HTTP ones name
// routes the template has.
func TestSampleEvents(t *testing.T) {
	tpl := loadReal(t)
	routes := map[string]bool{}
	for _, r := range tpl.Routes {
		routes[r.Method+" "+r.Path] = true
	}
	httpEvents := []string{"connect.json", "connect-session.json", "callback.json", "callback-denied.json", "callback-session.json",
		"submission-json.json", "submission-form.json", "product-create-session.json",
		"form-post.json", "form-fetch.json", "form-preflight.json", "form-post-other-origin.json"}
	for _, name := range httpEvents {
		var ev events.APIGatewayV2HTTPRequest
		decodeStrict(t, name, &ev)
		if ev.Version != "2.0" || !routes[ev.RouteKey] || ev.RequestContext.RouteKey != ev.RouteKey {
			t.Errorf("%s: version %q, routeKey %q not a template route", name, ev.Version, ev.RouteKey)
		}
		if ev.RequestContext.HTTP.Method == "" || ev.RawPath != ev.RequestContext.HTTP.Path {
			t.Errorf("%s: requestContext.http = %+v, rawPath %q", name, ev.RequestContext.HTTP, ev.RawPath)
		}
		if ev.IsBase64Encoded {
			if _, err := base64.StdEncoding.DecodeString(ev.Body); err != nil {
				t.Errorf("%s: isBase64Encoded but body is not base64: %v", name, err)
			}
		}
	}
	var sched events.EventBridgeEvent
	decodeStrict(t, "refresh-schedule.json", &sched)
	if sched.DetailType != "Scheduled Event" {
		t.Errorf("refresh-schedule.json: detail-type %q", sched.DetailType)
	}
	var one struct {
		ConnectionID           string `json:"connection_id"`
		RejectedTokenExpiresAt string `json:"rejected_token_expires_at"`
	}
	decodeStrict(t, "refresh-one.json", &one)
	var sqsEvent events.SQSEvent
	decodeStrict(t, "sqs-retry.json", &sqsEvent)
	if len(sqsEvent.Records) == 0 || sqsEvent.Records[0].EventSource != "aws:sqs" {
		t.Errorf("sqs-retry.json: %+v", sqsEvent)
	}
	var stream events.DynamoDBEvent
	decodeStrict(t, "stream-connected.json", &stream)
	if len(stream.Records) != 1 || stream.Records[0].EventSource != "aws:dynamodb" || stream.Records[0].Change.SequenceNumber == "" {
		t.Errorf("stream-connected.json: %+v", stream)
	}

	// Every sample is one of the above.
	checked := append(httpEvents, "refresh-schedule.json", "refresh-one.json", "sqs-retry.json", "stream-connected.json")
	all, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	for _, p := range all {
		if !slices.Contains(checked, filepath.Base(p)) {
			t.Errorf("events/%s is not checked here", filepath.Base(p))
		}
	}
}

func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}
