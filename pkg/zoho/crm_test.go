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
	"time"

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
		{"authentication failure", canned{401, `{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}`}, []error{zoho.ErrInvalidToken}, []error{zoho.ErrUnavailable, zoho.ErrDomainTokenMismatch, zoho.ErrScopeMismatch}, false},
		{"invalid oauthtoken", canned{401, `{"code":"INVALID_OAUTHTOKEN","details":{},"message":"invalid oauth token","status":"error"}`}, []error{zoho.ErrInvalidToken}, []error{zoho.ErrUnavailable}, false},
		{"authentication failure 500", canned{500, `{"code":"authentication_failure","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrInvalidToken}, []error{zoho.ErrUnavailable}, false},
		{"domain mismatch 401", canned{401, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, []error{zoho.ErrInvalidToken}, false},
		{"domain mismatch 400", canned{400, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, nil, false},
		{"domain mismatch 500", canned{500, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, []error{zoho.ErrUnavailable}, false},
		{"domain mismatch 200", canned{200, `{"code":"DOMAIN_TOKEN_MISMATCH","details":{},"message":"x","status":"error"}`}, []error{zoho.ErrDomainTokenMismatch}, nil, false},
		{"scope", canned{401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`}, []error{zoho.ErrScopeMismatch}, nil, false},
		{"429", canned{429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}`}, []error{zoho.ErrTooManyRequests}, []error{zoho.ErrUnavailable}, true},
		{"429 bare", canned{429, ``}, []error{zoho.ErrTooManyRequests}, nil, true},
		{"too many with 200", canned{200, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}`}, []error{zoho.ErrTooManyRequests}, []error{zoho.ErrUnavailable, zoho.ErrInvalidToken}, true},
		{"too many with 503", canned{503, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}`}, []error{zoho.ErrTooManyRequests}, []error{zoho.ErrUnavailable}, true},
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
			_, fieldsErr := c.Fields(context.Background(), "Leads")
			_, noteErr := c.AddNote(context.Background(), "Leads", "4876876000000001001", "t", "c")
			for op, err := range map[string]error{"org": orgErr, "user": userErr, "insert": insErr, "fields": fieldsErr, "note": noteErr} {
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

func TestRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}`)
	}))
	defer srv.Close()
	hc, _ := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	c := zoho.NewClient(mustDC(t, "us"), zoho.Production, zoho.StaticTokenSource(&zoho.Token{AccessToken: testAccess}), hc)
	_, err := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
	var ae *zoho.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 7*time.Second || !errors.Is(err, zoho.ErrTooManyRequests) {
		t.Errorf("err = %#v", err)
	}
}

func TestDuplicateDataShapes(t *testing.T) {
	tests := []struct {
		name, details            string
		id, field, module, owner string
	}{
		{"older: details.id", `{"api_name":"Email","json_path":"$.data[0].Email","id":"5725767000000500001"}`, "5725767000000500001", "Email", "", ""},
		{"newer: duplicate_record", `{"api_name":"Email","json_path":"$.data[0].Email","more_records":false,"duplicate_record":{"Owner":{"name":"Eva","id":"5725767000000411001","zuid":"20071000101"},"module":{"api_name":"Leads","id":"5725767000000002175"},"id":"5725767000000500002"}}`,
			"5725767000000500002", "Email", "Leads", "5725767000000411001"},
		{"both", `{"api_name":"Email","id":"5725767000000500003","duplicate_record":{"id":"5725767000000500003","module":{"api_name":"Contacts"}}}`, "5725767000000500003", "Email", "Contacts", ""},
		{"numeric ids", `{"api_name":"Email","duplicate_record":{"id":5725767000000500004,"Owner":{"id":77}}}`, "5725767000000500004", "Email", "", "77"},
		{"no id", `{"api_name":"Email"}`, "", "Email", "", ""},
		{"odd duplicate_record", `{"api_name":"Email","duplicate_record":"5725767000000500005"}`, "", "Email", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFakeCRM(t, mustDC(t, "eu"), zoho.Production, canned{400,
				`{"data":[{"code":"DUPLICATE_DATA","details":` + tt.details + `,"message":"duplicate data","status":"error"}]}`})
			res, err := c.Insert(context.Background(), "Leads", []zoho.Record{{"Last_Name": "x", "Email": "x@x.example"}}, &zoho.WriteOptions{DuplicateCheckFields: []string{"Email"}})
			if err != nil || len(res) != 1 {
				t.Fatalf("%v, %v", res, err)
			}
			r := res[0]
			if !r.Duplicate() || r.OK() || r.ID != tt.id || r.Field != tt.field || r.DuplicateModule != tt.module || r.DuplicateOwnerID != tt.owner {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestFieldsShape(t *testing.T) {
	body := `{"fields":[
 {"api_name":"Last_Name","field_label":"Last Name","data_type":"text","json_type":"string","length":80,"read_only":false,"field_read_only":false,"system_mandatory":true,"custom_field":false,"unique":{},"id":"1"},
 {"api_name":"Owner","field_label":"Lead Owner","data_type":"ownerlookup","json_type":"jsonobject","read_only":false,"system_mandatory":false,"custom_field":false,"id":"2"},
 {"api_name":"Account_Name","data_type":"lookup","json_type":"jsonobject","lookup":{"module":{"api_name":"Accounts","id":"9"},"display_label":"Account Name"},"id":"3"},
 {"api_name":"Email_Opt_Out","data_type":"boolean","json_type":"boolean","id":"4"},
 {"api_name":"Created_Time","data_type":"datetime","json_type":"string","read_only":true,"id":"5"},
 {"api_name":"Lead_Source","data_type":"picklist","json_type":"string","pick_list_values":[{"display_value":"Web","actual_value":"Web Site"},{"display_value":"Ad"}],"id":"6"},
 {"api_name":"Budget","data_type":"currency","json_type":"double","custom_field":true,"unique":{"case_sensitive":false},"length":"16","id":"7"},
 {"api_name":"Tag","data_type":"text","json_type":"jsonarray","field_read_only":true,"id":"8"}
]}`
	f, c := newFakeCRM(t, mustDC(t, "au"), zoho.Sandbox, canned{200, body})
	fields, err := c.Fields(context.Background(), "Leads")
	if err != nil {
		t.Fatal(err)
	}
	r := f.last.Load()
	if r.Method != http.MethodGet || r.Host != "sandbox.zohoapis.com.au" || r.URL.Path != "/crm/v8/settings/fields" || r.URL.RawQuery != "module=Leads" {
		t.Errorf("request %s %s%s", r.Method, r.Host, r.URL)
	}
	want := []zoho.Field{
		{APIName: "Last_Name", Label: "Last Name", DataType: "text", JSONType: "string", SystemMandatory: true, Length: 80},
		{APIName: "Owner", Label: "Lead Owner", DataType: "ownerlookup", JSONType: "jsonobject"},
		{APIName: "Account_Name", DataType: "lookup", JSONType: "jsonobject", LookupModule: "Accounts"},
		{APIName: "Email_Opt_Out", DataType: "boolean", JSONType: "boolean"},
		{APIName: "Created_Time", DataType: "datetime", JSONType: "string", ReadOnly: true},
		{APIName: "Lead_Source", DataType: "picklist", JSONType: "string", PickListValues: []string{"Web Site", "Ad"}},
		{APIName: "Budget", DataType: "currency", JSONType: "double", Custom: true, Unique: true, Length: 16},
		{APIName: "Tag", DataType: "text", JSONType: "jsonarray", ReadOnly: true},
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields =\n%+v\nwant\n%+v", fields, want)
	}
	scalar := map[string]bool{"Last_Name": true, "Email_Opt_Out": true, "Created_Time": true, "Lead_Source": true, "Budget": true}
	for _, fl := range fields {
		if fl.Scalar() != scalar[fl.APIName] {
			t.Errorf("%s: Scalar() = %v", fl.APIName, fl.Scalar())
		}
	}
}

func TestAddNoteShape(t *testing.T) {
	body := `{"data":[{"code":"SUCCESS","details":{"Modified_Time":"2025-01-02T03:04:05+00:00","id":"5725767000000600001","Created_Time":"2025-01-02T03:04:05+00:00"},"message":"record added","status":"success"}]}`
	f, c := newFakeCRM(t, mustDC(t, "jp"), zoho.Production, canned{201, body})
	res, err := c.AddNote(context.Background(), "Leads", "5725767000000500001", "Form submission", "Email: a@x.example\nPhone: 1")
	if err != nil || !res.OK() || res.ID != "5725767000000600001" {
		t.Fatalf("%+v, %v", res, err)
	}
	r := f.last.Load()
	if r.Method != http.MethodPost || r.Host != "www.zohoapis.jp" || r.URL.Path != "/crm/v8/Leads/5725767000000500001/Notes" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s%s", r.Method, r.Host, r.URL)
	}
	if got := string(*f.body.Load()); got != `{"data":[{"Note_Content":"Email: a@x.example\nPhone: 1","Note_Title":"Form submission"}]}` {
		t.Errorf("body = %s", got)
	}
	if _, err := c.AddNotes(context.Background(), "Contacts", "1", []zoho.Note{{Content: "only content"}}); err != nil {
		t.Fatal(err)
	}
	if got := string(*f.body.Load()); got != `{"data":[{"Note_Content":"only content"}]}` {
		t.Errorf("body without title = %s", got)
	}

	_, c = newFakeCRM(t, mustDC(t, "jp"), zoho.Production, canned{400, `{"data":[{"code":"INVALID_DATA","details":{"api_name":"Parent_Id"},"message":"the related id given seems to be invalid","status":"error"}]}`})
	res, err = c.AddNote(context.Background(), "Leads", "1", "", "x")
	if err != nil || res.OK() || res.Code != "INVALID_DATA" || res.Field != "Parent_Id" {
		t.Errorf("refused note: %+v, %v", res, err)
	}
}

func TestNotesAndFieldsRefusedBeforeAnyCall(t *testing.T) {
	f, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{201, `{}`})
	ctx := context.Background()
	for _, id := range []string{"", "1/../2", "1?x=1", "1#", "1 2", "%31", strings.Repeat("1", 65)} {
		if _, err := c.AddNote(ctx, "Leads", id, "t", "c"); !errors.Is(err, zoho.ErrInvalidRecordID) {
			t.Errorf("record id %q: %v", id, err)
		}
	}
	if _, err := c.AddNote(ctx, "Leads/1", "1", "t", "c"); !errors.Is(err, zoho.ErrInvalidModule) {
		t.Errorf("module: %v", err)
	}
	if _, err := c.AddNotes(ctx, "Leads", "1", nil); !errors.Is(err, zoho.ErrNoRecords) {
		t.Errorf("no notes: %v", err)
	}
	if _, err := c.AddNotes(ctx, "Leads", "1", make([]zoho.Note, 101)); !errors.Is(err, zoho.ErrTooManyRecords) {
		t.Errorf("101 notes: %v", err)
	}
	for _, m := range []string{"", "Leads&module=Contacts", "Leads#", "../org"} {
		if _, err := c.Fields(ctx, m); !errors.Is(err, zoho.ErrInvalidModule) {
			t.Errorf("fields of %q: %v", m, err)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestUnconfirmedDataCenterClient(t *testing.T) {
	uk := mustDC(t, "uk")
	f, c := newFakeCRM(t, uk, zoho.Production, canned{200, `{"org":[{"id":"1","type":"Production"}]}`})
	var asked atomic.Int64
	ts := tokenFunc(func(context.Context) (*zoho.Token, error) {
		asked.Add(1)
		return &zoho.Token{AccessToken: testAccess}, nil
	})
	ctx := context.Background()
	refusedBy := map[string]*zoho.Client{
		"override client": c,
		"shared client":   zoho.NewClient(uk, zoho.Production, ts, nil),
		"foreign client":  zoho.NewClient(uk, zoho.Production, ts, &http.Client{}),
	}
	for name, c := range refusedBy {
		_, orgErr := c.Org(ctx)
		_, insErr := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "x"}}, nil)
		for _, err := range []error{orgErr, insErr} {
			if !errors.Is(err, zoho.ErrUnconfirmedDataCenter) || errors.Is(err, zoho.ErrUnavailable) || zoho.Retryable(err) {
				t.Errorf("%s: err = %v", name, err)
			}
		}
	}
	if f.calls.Load() != 0 || asked.Load() != 0 {
		t.Errorf("%d requests sent, %d tokens asked for", f.calls.Load(), asked.Load())
	}

	// Enabled, the same calls reach www.zohoapis.uk.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "www.zohoapis.uk" {
			t.Errorf("Host %s", r.Host)
		}
		io.WriteString(w, `{"org":[{"id":"1","type":"Production"}]}`)
	}))
	defer srv.Close()
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL, AllowUnconfirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if org, err := zoho.NewClient(uk, zoho.Production, ts, hc).Org(ctx); err != nil || org.ID != "1" {
		t.Errorf("enabled: %+v, %v", org, err)
	}
}
