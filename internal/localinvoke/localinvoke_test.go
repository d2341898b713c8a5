package localinvoke

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connectionitem"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Each sample event goes where the template delivers it; sync's direct
// invocation of RefreshFunction goes nowhere by itself.
func TestFunctionForTheSampleEvents(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"connect.json":                "CallbackFunction",
		"connect-session.json":        "CallbackFunction",
		"callback.json":               "CallbackFunction",
		"callback-denied.json":        "CallbackFunction",
		"callback-session.json":       "CallbackFunction",
		"product-create-session.json": "ProductApiFunction",
		"submission-json.json":        "SyncFunction",
		"submission-form.json":        "SyncFunction",
		"sqs-retry.json":              "SyncFunction",
		"stream-connected.json":       "EventsFunction",
		"refresh-schedule.json":       "RefreshFunction",
		"refresh-one.json":            "",
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := FunctionFor(tpl.Functions, tpl.Routes, b)
		if err != nil || got != want {
			t.Errorf("%s: FunctionFor = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := FunctionFor(tpl.Functions, tpl.Routes, []byte(`{"version":"2.0","routeKey":"GET /nowhere","requestContext":{}}`)); err == nil {
		t.Error("a route the template lacks gave no error")
	}
}

type publisher struct{ got []productevents.Event }

func (p *publisher) Publish(_ context.Context, evs []productevents.Event) ([]error, error) {
	p.got = append(p.got, evs...)
	return make([]error, len(evs)), nil
}

// The stream sample is a record EventsFunction turns into a
// connection.connected event for the tenant's connection.
func TestStreamSampleIsAConnect(t *testing.T) {
	b, err := os.ReadFile("../../events/stream-connected.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	bus := &publisher{}
	h := &productevents.Handler{Decoder: connectionitem.StreamImages{}, Bus: bus, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 || len(bus.got) != 1 {
		t.Fatalf("answer %+v, %v; published %+v", resp, err, bus.got)
	}
	e := bus.got[0]
	want := connection.TenantConnectionID(SessionTenant, "eu", zoho.Sandbox, SeedOrgID)
	if e.DetailType != productevents.Connected || e.Detail.ConnectionID != want || e.Detail.TenantID != SessionTenant || e.Detail.Metadata["plan"] != "pro" {
		t.Errorf("event %+v, want connection.connected for %s", e, want)
	}
}

// The sample events are signed as a client signs them (the vectors are
// the README's, computed by hand there).
func TestSign(t *testing.T) {
	body := []byte(`{"a":1}`)
	at := time.Unix(1700000000, 0)
	for _, c := range []struct{ query, idem, want string }{
		{"module=Leads", "idem-1", "t=1700000000,v1=cbfcb19b0f7a28234645e9ecaa09de2abdcfa62f686988ba80c7278efb951fb6"},
		{"", "", "t=1700000000,v1=75088e94c18382e3810262152622ec56e99873fa3a2ab3ede534b4ac337b915c"},
	} {
		if got := Sign("zsk_key", "POST", "/connections/zc_1/submissions", c.query, c.idem, body, at); got != c.want {
			t.Errorf("Sign(query %q, idem %q) = %s, want %s", c.query, c.idem, got, c.want)
		}
	}
}

func TestSetQuery(t *testing.T) {
	ev := map[string]any{}
	setQuery(ev, "state=s1&code=1000.abc&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu")
	params := ev["queryStringParameters"].(map[string]any)
	if ev["rawQueryString"] != "state=s1&code=1000.abc&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu" ||
		params["accounts-server"] != "https://accounts.zoho.eu" || params["code"] != "1000.abc" || len(params) != 4 {
		t.Errorf("event = %v", ev)
	}
}
