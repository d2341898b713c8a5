package zoho_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// These tests pin the CRM body shapes of zoho-facts.md with tiny handlers;
// sim_test.go runs the same calls against the simulator.

type fakeCRM struct {
	calls atomic.Int64
	last  atomic.Pointer[http.Request]
	body  atomic.Pointer[[]byte]
}

func newFakeCRM(t *testing.T, dc zoho.DataCenter, env zoho.Environment, answer canned) (*fakeCRM, *zoho.Client) {
	t.Helper()
	f := &fakeCRM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.body.Store(&b)
		f.last.Store(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answer.status)
		io.WriteString(w, answer.body)
	}))
	t.Cleanup(srv.Close)
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return f, zoho.NewClient(dc, env, zoho.StaticTokenSource(&zoho.Token{AccessToken: testAccess, APIDomain: "https://evil.example"}), hc)
}

func TestOrgShapes(t *testing.T) {
	tests := []struct {
		typ  string
		want zoho.Environment
	}{{"Production", zoho.Production}, {"sandbox", zoho.Sandbox}, {"DEVELOPER", zoho.Developer}, {"Bigin", 0}}
	for _, tt := range tests {
		body := `{"org":[{"id":"4150868000000225013","zgid":"4150868000000225001","domain_name":"org123","company_name":"Acme","type":"` + tt.typ + `","primary_email":"a@b.c"}]}`
		f, c := newFakeCRM(t, mustDC(t, "eu"), zoho.Sandbox, canned{200, body})
		org, err := c.Org(context.Background())
		r := f.last.Load()
		if r.Host != "sandbox.zohoapis.eu" || r.URL.Path != "/crm/v8/org" || r.Method != http.MethodGet {
			t.Errorf("request %s %s%s", r.Method, r.Host, r.URL)
		}
		if got := r.Header.Get("Authorization"); got != "Zoho-oauthtoken "+testAccess {
			t.Errorf("Authorization = %q", got)
		}
		if org == nil || org.ID != "4150868000000225013" || org.ZGID != "4150868000000225001" || org.Name != "Acme" || org.DomainName != "org123" || org.Type != tt.typ || org.Environment != tt.want {
			t.Errorf("%s: org = %+v", tt.typ, org)
		}
		if (tt.want == 0) != errors.Is(err, zoho.ErrUnknownEnvironment) || (tt.want != 0 && err != nil) {
			t.Errorf("%s: err = %v", tt.typ, err)
		}
	}
}

func TestOrgNumericIDs(t *testing.T) {
	_, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{200, `{"org":[{"id":4150868000000225013,"zgid":123,"type":"Production"}]}`})
	org, err := c.Org(context.Background())
	if err != nil || org.ID != "4150868000000225013" || org.ZGID != "123" {
		t.Errorf("org = %+v, %v", org, err)
	}
}

func TestCurrentUserShape(t *testing.T) {
	f, c := newFakeCRM(t, mustDC(t, "ca"), zoho.Developer, canned{200, `{"users":[{"id":"111","zuid":"222","email":"e@x.example","full_name":"Eva S","role":{}}],"info":{}}`})
	u, err := c.CurrentUser(context.Background())
	if err != nil || *u != (zoho.User{ID: "111", ZUID: "222", Email: "e@x.example", FullName: "Eva S"}) {
		t.Errorf("user = %+v, %v", u, err)
	}
	r := f.last.Load()
	if r.Host != "developer.zohoapis.ca" || r.URL.Path != "/crm/v8/users" || r.URL.RawQuery != "type=CurrentUser" {
		t.Errorf("request %s%s", r.Host, r.URL)
	}
}

func TestCRMErrorShapes(t *testing.T) {
	tests := []struct {
		name      string
		answer    canned
		want      []error
		not       []error
		retryable bool
	}{
		{"invalid token", canned{401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`}, []error{zoho.ErrInvalidToken}, []error{zoho.ErrUnavailable, zoho.ErrDomainTokenMismatch}, false},
		{"domain mismatch 401", canned{401, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, []error{zoho.ErrInvalidToken}, false},
		{"domain mismatch 400", canned{400, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, nil, false},
		{"domain mismatch 500", canned{500, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, []error{zoho.ErrUnavailable}, false},
		{"domain mismatch 200", canned{200, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, nil, false},
		{"scope", canned{401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`}, []error{zoho.ErrScopeMismatch}, nil, false},
		{"429", canned{429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}`}, []error{zoho.ErrTooManyRequests}, []error{zoho.ErrUnavailable}, true},
		{"429 bare", canned{429, ``}, []error{zoho.ErrTooManyRequests}, nil, true},
		{"500", canned{500, `{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`}, []error{zoho.ErrUnavailable}, nil, true},
		{"502 html", canned{502, `<html></html>`}, []error{zoho.ErrUnavailable}, nil, true},
		{"404", canned{404, `{"code":"INVALID_URL_PATTERN","details":{},"message":"x","status":"error"}`}, nil, []error{zoho.ErrUnavailable, zoho.ErrInvalidToken}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, tt.answer)
			_, orgErr := c.Org(context.Background())
			_, userErr := c.CurrentUser(context.Background())
			_, insErr := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
			for op, err := range map[string]error{"org": orgErr, "user": userErr, "insert": insErr} {
				var ae *zoho.APIError
				if !errors.As(err, &ae) || ae.StatusCode != tt.answer.status {
					t.Errorf("%s: err = %#v, want an *APIError with status %d", op, err, tt.answer.status)
				}
				for _, target := range tt.want {
					if !errors.Is(err, target) {
						t.Errorf("%s: %v is not %v", op, err, target)
					}
				}
				for _, target := range tt.not {
					if errors.Is(err, target) {
						t.Errorf("%s: %v is %v", op, err, target)
					}
				}
				if zoho.Retryable(err) != tt.retryable {
					t.Errorf("%s: Retryable(%v) = %v", op, err, !tt.retryable)
				}
				assertClean(t, err, testAccess)
			}
		})
	}
}

func TestWriteShapes(t *testing.T) {
	body := `{"data":[
 {"code":"SUCCESS","details":{"Modified_Time":"2025-01-02T03:04:05+00:00","id":"5725767000000524157"},"message":"record added","status":"success"},
 {"code":"DUPLICATE_DATA","details":{"api_name":"Email","json_path":"$.data[1].Email","id":"5725767000000500001"},"message":"duplicate data","status":"error"},
 {"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name","json_path":"$.data[2].Last_Name"},"message":"required field not found","status":"error"},
 {"code":"SUCCESS","action":"update","duplicate_field":"Email","details":{"id":"5725767000000500002"},"message":"record updated","status":"success"},
 {"code":"SUCCESS","action":"insert","duplicate_field":null,"details":{"id":"5725767000000500003"},"message":"record added","status":"success"}
]}`
	recs := []zoho.Record{{"Last_Name": "a"}, {"Last_Name": "b", "Email": "b@x.example"}, {"Email": "c@x.example"}, {"Last_Name": "d"}, {"Last_Name": "e"}}
	for _, status := range []int{200, 201, 202, 207, 400} {
		f, c := newFakeCRM(t, mustDC(t, "in"), zoho.Production, canned{status, body})
		res, err := c.Upsert(context.Background(), "Leads", recs, &zoho.WriteOptions{Trigger: []string{}, DuplicateCheckFields: []string{"Email"}})
		if err != nil {
			t.Fatalf("HTTP %d: %v", status, err)
		}
		r := f.last.Load()
		if r.Host != "www.zohoapis.in" || r.URL.Path != "/crm/v8/Leads/upsert" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s%s", r.Method, r.Host, r.URL)
		}
		var sent map[string]json.RawMessage
		if err := json.Unmarshal(*f.body.Load(), &sent); err != nil {
			t.Fatal(err)
		}
		if string(sent["trigger"]) != `[]` || string(sent["duplicate_check_fields"]) != `["Email"]` || !strings.HasPrefix(string(sent["data"]), `[{"Last_Name":"a"}`) {
			t.Errorf("body = %s", *f.body.Load())
		}
		want := []zoho.RecordResult{
			{Code: "SUCCESS", Status: "success", Message: "record added", ID: "5725767000000524157"},
			{Code: "DUPLICATE_DATA", Status: "error", Message: "duplicate data", ID: "5725767000000500001", Field: "Email"},
			{Code: "MANDATORY_NOT_FOUND", Status: "error", Message: "required field not found", Field: "Last_Name"},
			{Code: "SUCCESS", Status: "success", Message: "record updated", Action: "update", DuplicateField: "Email", ID: "5725767000000500002"},
			{Code: "SUCCESS", Status: "success", Message: "record added", Action: "insert", ID: "5725767000000500003"},
		}
		if len(res) != len(want) {
			t.Fatalf("%d results", len(res))
		}
		for i := range want {
			got := res[i]
			got.Details = nil
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("HTTP %d: result %d = %+v, want %+v", status, i, got, want[i])
			}
			if res[i].OK() != (want[i].Code == "SUCCESS") {
				t.Errorf("result %d OK() = %v", i, res[i].OK())
			}
		}
		if res[1].Details["json_path"] != "$.data[1].Email" {
			t.Errorf("details = %v", res[1].Details)
		}
	}
}

func TestWriteOptionsOmitted(t *testing.T) {
	f, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{201, `{"data":[{"code":"SUCCESS","status":"success","details":{"id":"1"}}]}`})
	if _, err := c.Insert(context.Background(), "Contacts", []zoho.Record{{"Last_Name": "x"}}, &zoho.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := string(*f.body.Load()); got != `{"data":[{"Last_Name":"x"}]}` {
		t.Errorf("body = %s", got)
	}
	if p := f.last.Load().URL.Path; p != "/crm/v8/Contacts" {
		t.Errorf("path = %s", p)
	}
}

func TestWriteRefusedBeforeAnyCall(t *testing.T) {
	f, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{201, `{}`})
	many := make([]zoho.Record, 101)
	for i := range many {
		many[i] = zoho.Record{"Last_Name": "x"}
	}
	ctx := context.Background()
	if _, err := c.Insert(ctx, "Leads", many, nil); !errors.Is(err, zoho.ErrTooManyRecords) {
		t.Errorf("101 records: %v", err)
	}
	if _, err := c.Upsert(ctx, "Leads", many, nil); !errors.Is(err, zoho.ErrTooManyRecords) {
		t.Errorf("101 records upsert: %v", err)
	}
	if _, err := c.Insert(ctx, "Leads", nil, nil); !errors.Is(err, zoho.ErrNoRecords) {
		t.Errorf("no records: %v", err)
	}
	for _, m := range []string{"", "Leads/../org", "Leads?x=1", "../users", "Leads/upsert", "Le ads", "Leads#", "%2e%2e", "Léads", strings.Repeat("a", 101)} {
		if _, err := c.Insert(ctx, m, []zoho.Record{{"Last_Name": "x"}}, nil); !errors.Is(err, zoho.ErrInvalidModule) {
			t.Errorf("module %q: %v", m, err)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestResultCountMismatch(t *testing.T) {
	_, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{201, `{"data":[{"code":"SUCCESS","status":"success","details":{"id":"1"}}]}`})
	res, err := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "a"}, {"Last_Name": "b"}}, nil)
	if err == nil || len(res) != 1 {
		t.Errorf("res = %v, err = %v", res, err)
	}
}

func TestClientRefusesBadSetup(t *testing.T) {
	f, c := newFakeCRM(t, mustDC(t, "us"), 0, canned{200, `{}`})
	if _, err := c.Org(context.Background()); !errors.Is(err, zoho.ErrUnknownEnvironment) {
		t.Errorf("environment 0: %v", err)
	}
	evil := mustDC(t, "us")
	evil.APIDomain = "zohoapis.eu"
	c = zoho.NewClient(evil, zoho.Production, zoho.StaticTokenSource(&zoho.Token{AccessToken: "a"}), nil)
	if _, err := c.Org(context.Background()); err == nil {
		t.Error("hand-made DC accepted")
	}
	c = zoho.NewClient(mustDC(t, "us"), zoho.Production, zoho.StaticTokenSource(nil), nil)
	if _, err := c.Org(context.Background()); err == nil {
		t.Error("nil token accepted")
	}
	tsErr := errors.New("vault down")
	c = zoho.NewClient(mustDC(t, "us"), zoho.Production, tokenFunc(func(context.Context) (*zoho.Token, error) { return nil, tsErr }), nil)
	if _, err := c.Org(context.Background()); !errors.Is(err, tsErr) {
		t.Errorf("token source error: %v", err)
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d requests sent", f.calls.Load())
	}
}

type tokenFunc func(context.Context) (*zoho.Token, error)

func (f tokenFunc) Token(ctx context.Context) (*zoho.Token, error) { return f(ctx) }

func TestStaticTokenSourceCopies(t *testing.T) {
	orig := &zoho.Token{AccessToken: "a"}
	ts := zoho.StaticTokenSource(orig)
	got, _ := ts.Token(context.Background())
	got.AccessToken = "changed"
	again, _ := ts.Token(context.Background())
	if again.AccessToken != "a" {
		t.Error("StaticTokenSource hands out its own token")
	}
}
