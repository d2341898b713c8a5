package zohosim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOrgAndUserPerEnvironment(t *testing.T) {
	tests := []struct {
		accounts, email, org, host, wantType, wantZUID string
	}{
		{"accounts.zoho.eu", eva, evaProd, "www.zohoapis.eu", "Production", "20071000101"},
		{"accounts.zoho.eu", eva, evaSandbox, "sandbox.zohoapis.eu", "Sandbox", "20071000101"},
		{"accounts.zoho.eu", eva, evaSandbox2, "sandbox.zohoapis.eu", "Sandbox", "20071000101"},
		{"accounts.zoho.eu", eva, evaDev, "developer.zohoapis.eu", "Developer", "20071000101"},
		{"accounts.zoho.com", sam, samSandbox, "sandbox.zohoapis.com", "Sandbox", "20071000102"},
		{"accounts.zoho.com.cn", li, liProd, "www.zohoapis.com.cn", "Production", "20071000103"},
		{"accounts.zohocloud.ca", noah, noahProd, "www.zohoapis.ca", "Production", "20071000105"},
	}
	f := newFixture(t, nil)
	for _, tc := range tests {
		t.Run(tc.org+"@"+tc.host, func(t *testing.T) {
			at, _ := f.connect(tc.accounts, tc.email, tc.org)
			code, body := f.crm("GET", tc.host, "/crm/v8/org", at, "")
			if code != 200 || dig(body, "org", 0, "id") != tc.org || dig(body, "org", 0, "type") != tc.wantType ||
				dig(body, "org", 0, "zgid") == nil || dig(body, "org", 0, "domain_name") == nil || dig(body, "org", 0, "company_name") == nil {
				t.Errorf("org: %d %v", code, body)
			}
			code, body = f.crm("GET", tc.host+":443", "/crm/v8/users?type=CurrentUser", at, "")
			if code != 200 || dig(body, "users", 0, "email") != tc.email || dig(body, "users", 0, "zuid") != tc.wantZUID ||
				dig(body, "users", 0, "full_name") == nil || dig(body, "users", 0, "id") == tc.wantZUID {
				t.Errorf("users: %d %v", code, body)
			}
		})
	}
}

func TestCRMAuthErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fixture) (host, path, token string)
		header   string // raw Authorization header instead of the token
		method   string
		body     string
		wantCode string
	}{
		{name: "no token", wantCode: "INVALID_TOKEN",
			setup: func(f *fixture) (string, string, string) { return "www.zohoapis.eu", "/crm/v8/org", "" }},
		{name: "unknown token", wantCode: "INVALID_TOKEN",
			setup: func(f *fixture) (string, string, string) { return "www.zohoapis.eu", "/crm/v8/org", "1000.a.b" }},
		{name: "Bearer scheme", wantCode: "INVALID_TOKEN", header: "Bearer",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				return "www.zohoapis.eu", "/crm/v8/org", at
			}},
		{name: "expired after an hour", wantCode: "INVALID_TOKEN",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				f.s.Advance(time.Hour + time.Second)
				return "www.zohoapis.eu", "/crm/v8/org", at
			}},
		{name: "ExpireAccessTokens", wantCode: "INVALID_TOKEN",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				f.s.ExpireAccessTokens()
				return "www.zohoapis.eu", "/crm/v8/org", at
			}},
		{name: "sandbox token on production host", wantCode: "DOMAIN_TOKEN_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaSandbox)
				return "www.zohoapis.eu", "/crm/v8/org", at
			}},
		{name: "production token on developer host", wantCode: "DOMAIN_TOKEN_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				return "developer.zohoapis.eu", "/crm/v8/users?type=CurrentUser", at
			}},
		{name: "EU token on US host", wantCode: "DOMAIN_TOKEN_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				return "www.zohoapis.com", "/crm/v8/org", at
			}},
		{name: "CA token on zohoapis.com", wantCode: "DOMAIN_TOKEN_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zohocloud.ca", noah, noahProd)
				return "www.zohoapis.com", "/crm/v8/org", at
			}},
		{name: "org without org scope", wantCode: "OAUTH_SCOPE_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/org", f.scoped("ZohoCRM.modules.ALL,ZohoCRM.users.READ")
			}},
		{name: "users without users scope", wantCode: "OAUTH_SCOPE_MISMATCH",
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/users?type=CurrentUser", f.scoped("ZohoCRM.modules.ALL,ZohoCRM.org.READ")
			}},
		{name: "insert without module scope", wantCode: "OAUTH_SCOPE_MISMATCH", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/Leads", f.scoped("ZohoCRM.org.READ,ZohoCRM.users.READ")
			}},
		{name: "Leads.CREATE does not reach Contacts", wantCode: "OAUTH_SCOPE_MISMATCH", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/Contacts", f.scoped("ZohoCRM.modules.leads.CREATE")
			}},
		{name: "Leads.CREATE alone cannot upsert", wantCode: "OAUTH_SCOPE_MISMATCH", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/Leads/upsert", f.scoped("ZohoCRM.modules.leads.CREATE")
			}},
		{name: "Leads.CREATE inserts Leads", wantCode: "SUCCESS", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/Leads", f.scoped("ZohoCRM.modules.leads.CREATE")
			}},
		{name: "CREATE and UPDATE upsert Leads", wantCode: "SUCCESS", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				return "www.zohoapis.eu", "/crm/v8/Leads/upsert", f.scoped("ZohoCRM.modules.Leads.CREATE,ZohoCRM.modules.Leads.UPDATE")
			}},
		{name: "unknown module", wantCode: "INVALID_MODULE", method: "POST", body: `{"data":[{"Last_Name":"X"}]}`,
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				return "www.zohoapis.eu", "/crm/v8/Widgets", at
			}},
		{name: "old API version", wantCode: "INVALID_URL_PATTERN",
			setup: func(f *fixture) (string, string, string) {
				at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
				return "www.zohoapis.eu", "/crm/v2/org", at
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			host, path, tok := tc.setup(f)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			var code int
			var body map[string]any
			if tc.header != "" {
				code, body = f.call(method, host, path, "", tc.body, map[string][]string{"Authorization": {tc.header + " " + tok}})
			} else {
				code, body = f.crm(method, host, path, tok, tc.body)
			}
			got := body["code"]
			if got == nil {
				got = dig(body, "data", 0, "code")
			}
			if got != tc.wantCode {
				t.Fatalf("%d %v, want %s", code, body, tc.wantCode)
			}
			wantStatus := map[string]int{"INVALID_TOKEN": 401, "DOMAIN_TOKEN_MISMATCH": 401, "OAUTH_SCOPE_MISMATCH": 401, "INVALID_MODULE": 400, "INVALID_URL_PATTERN": 404, "SUCCESS": 201}[tc.wantCode]
			if code != wantStatus {
				t.Errorf("status %d, want %d", code, wantStatus)
			}
			if tc.wantCode == "INVALID_TOKEN" && (body["message"] != "invalid oauth token" || body["status"] != "error") {
				t.Errorf("body %v", body)
			}
		})
	}
}

// scoped returns an access token for eva's production org with the scope.
func (f *fixture) scoped(scope string) string {
	f.t.Helper()
	c, err := f.s.IssueCodeScope(cid, eva, evaProd, scope)
	if err != nil {
		f.t.Fatal(err)
	}
	_, body := f.token("accounts.zoho.eu", exchangeForm(c))
	return body["access_token"].(string)
}

func TestInsertAndUpsert(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	first := ""
	steps := []struct {
		name       string
		path, body string
		wantStatus int
		want       []map[string]any // expected subset of each data[i]
		check      func(t *testing.T, data []any)
	}{
		{name: "insert", path: "/crm/v8/Leads", body: `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}],"trigger":["workflow"]}`,
			wantStatus: 201, want: []map[string]any{{"code": "SUCCESS", "status": "success", "message": "record added"}},
			check: func(t *testing.T, data []any) {
				id, _ := dig(data, 0, "details", "id").(string)
				if len(id) != 19 || strings.Trim(id, "0123456789") != "" || dig(data, 0, "action") != nil {
					t.Errorf("record %v", data[0])
				}
				first = id
			}},
		{name: "missing Last_Name", path: "/crm/v8/Leads", body: `{"data":[{"Email":"bob@example.com"}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "MANDATORY_NOT_FOUND", "status": "error", "message": "required field not found"}},
			check: func(t *testing.T, data []any) {
				if dig(data, 0, "details", "api_name") != "Last_Name" || dig(data, 0, "details", "json_path") != "$.data[0].Last_Name" {
					t.Errorf("details %v", data[0])
				}
			}},
		{name: "empty Last_Name on Contacts", path: "/crm/v8/contacts", body: `{"data":[{"Last_Name":""}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "MANDATORY_NOT_FOUND"}}},
		{name: "duplicate Email on insert", path: "/crm/v8/Leads", body: `{"data":[{"Last_Name":"Ada","Email":"ADA@example.com"}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "DUPLICATE_DATA", "status": "error", "message": "duplicate data"}},
			check: func(t *testing.T, data []any) {
				// The newer shape names the existing record in duplicate_record
				// (TestDuplicateDetailsShapes covers the older details.id).
				if dig(data, 0, "details", "api_name") != "Email" || dig(data, 0, "details", "duplicate_record", "id") != first ||
					dig(data, 0, "details", "duplicate_record", "module", "api_name") != "Leads" {
					t.Errorf("details %v", data[0])
				}
			}},
		{name: "same Email in another module is fine", path: "/crm/v8/Contacts", body: `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`,
			wantStatus: 201, want: []map[string]any{{"code": "SUCCESS"}}},
		{name: "upsert updates", path: "/crm/v8/Leads/upsert", body: `{"data":[{"Last_Name":"Lovelace","Email":"ada@example.com"}]}`,
			wantStatus: 200, want: []map[string]any{{"code": "SUCCESS", "status": "success", "message": "record updated", "action": "update", "duplicate_field": "Email"}},
			check: func(t *testing.T, data []any) {
				if dig(data, 0, "details", "id") != first || dig(data, 0, "details", "Modified_Time") == nil {
					t.Errorf("details %v", data[0])
				}
			}},
		{name: "upsert inserts", path: "/crm/v8/Leads/upsert", body: `{"data":[{"Last_Name":"Hopper","Email":"grace@example.com"}],"duplicate_check_fields":["Email"]}`,
			wantStatus: 201, want: []map[string]any{{"code": "SUCCESS", "message": "record added", "action": "insert", "duplicate_field": nil}}},
		{name: "upsert on another field", path: "/crm/v8/Leads/upsert", body: `{"data":[{"Last_Name":"Hopper","Company":"Navy","Email":"g2@example.com"}],"duplicate_check_fields":["Last_Name"]}`,
			wantStatus: 200, want: []map[string]any{{"code": "SUCCESS", "action": "update", "duplicate_field": "Last_Name"}}},
		{name: "upsert insert still needs Last_Name", path: "/crm/v8/Leads/upsert", body: `{"data":[{"Email":"new@example.com"}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "MANDATORY_NOT_FOUND"}}},
		{name: "mixed", path: "/crm/v8/Leads", body: `{"data":[{"Last_Name":"Ok","Email":"ok@example.com"},{"First_Name":"NoLast"},{"Last_Name":"Bad","Email":42}]}`,
			wantStatus: 207, want: []map[string]any{{"code": "SUCCESS"}, {"code": "MANDATORY_NOT_FOUND"}, {"code": "INVALID_DATA", "status": "error"}},
			check: func(t *testing.T, data []any) {
				if dig(data, 1, "details", "json_path") != "$.data[1].Last_Name" || dig(data, 2, "details", "api_name") != "Email" {
					t.Errorf("details %v", data)
				}
			}},
		{name: "malformed email", path: "/crm/v8/Leads", body: `{"data":[{"Last_Name":"X","Email":"not-an-email"}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "INVALID_DATA"}}},
		{name: "Accounts need Account_Name", path: "/crm/v8/Accounts", body: `{"data":[{"Phone":"1"}]}`,
			wantStatus: 400, want: []map[string]any{{"code": "MANDATORY_NOT_FOUND"}}},
		{name: "Accounts upsert on Account_Name", path: "/crm/v8/Accounts/upsert", body: `{"data":[{"Account_Name":"Acme"}]}`,
			wantStatus: 201, want: []map[string]any{{"code": "SUCCESS", "action": "insert"}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := f.crm("POST", "www.zohoapis.eu", st.path, at, st.body)
			data, _ := body["data"].([]any)
			if code != st.wantStatus || len(data) != len(st.want) {
				t.Fatalf("%d %v", code, body)
			}
			for i, want := range st.want {
				for k, v := range want {
					if got := dig(data, i, k); got != v {
						t.Errorf("data[%d].%s = %v, want %v (%v)", i, k, got, v, data[i])
					}
				}
			}
			if st.check != nil {
				st.check(t, data)
			}
		})
	}
	leads := f.s.Records(evaProd, "Leads")
	if len(leads) != 3 || leads[0]["id"] != first || leads[0]["Last_Name"] != "Lovelace" || leads[1]["Company"] != "Navy" {
		t.Errorf("leads %v", leads)
	}
	if n := len(f.s.Records(evaSandbox, "Leads")); n != 0 {
		t.Errorf("sandbox got %d leads", n)
	}
	code, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/Leads", at, "")
	if code != 200 || len(body["data"].([]any)) != 3 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/Deals", at, ""); code != 204 || body != nil {
		t.Errorf("empty list: %d %v", code, body)
	}
}

func TestWriteBodyErrors(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	recs := make([]map[string]any, 101)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprint("L", i)}
	}
	over, _ := json.Marshal(map[string]any{"data": recs})
	hundred, _ := json.Marshal(map[string]any{"data": recs[:100]})
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"101 records", string(over), 400, "LIMIT_EXCEEDED"},
		{"not JSON", "{", 400, "INVALID_DATA"},
		{"no data", `{"data":[]}`, 400, "MANDATORY_NOT_FOUND"},
		{"100 records", string(hundred), 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads/upsert", at, tc.body)
			if code != tc.status || (tc.code != "" && body["code"] != tc.code) {
				t.Errorf("%d %v", code, body)
			}
		})
	}
	if n := len(f.s.Records(evaProd, "leads")); n != 100 {
		t.Errorf("%d records", n)
	}
}

func TestConcurrentUpsertsOneRecord(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	const n = 20
	var wg sync.WaitGroup
	actions := make(chan any, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"data":[{"Last_Name":"Racer %d","Email":"race@example.com"}]}`, i)
			_, resp := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads/upsert", at, body)
			actions <- dig(resp, "data", 0, "action")
		})
	}
	wg.Wait()
	close(actions)
	count := map[any]int{}
	for a := range actions {
		count[a]++
	}
	if got := len(f.s.Records(evaProd, "Leads")); got != 1 || count["insert"] != 1 || count["update"] != n-1 {
		t.Errorf("records %d, actions %v", got, count)
	}
}

// TestDuplicateDetailsShapes: DUPLICATE_DATA names the existing record in
// details.duplicate_record (newer versions) or details.id (older ones).
func TestDuplicateDetailsShapes(t *testing.T) {
	for _, shape := range []string{"", DuplicateRecordDetails, DuplicateIDDetails} {
		t.Run("shape="+shape, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.DuplicateDetails = shape })
			at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
			_, first := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Contacts", at, `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`)
			id := dig(first, "data", 0, "details", "id")
			code, body := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Contacts", at, `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`)
			d, _ := dig(body, "data", 0, "details").(map[string]any)
			if code != 400 || dig(body, "data", 0, "code") != "DUPLICATE_DATA" || d["api_name"] != "Email" || d["json_path"] != "$.data[0].Email" {
				t.Fatalf("%d %v", code, body)
			}
			if shape == DuplicateIDDetails {
				if d["id"] != id || d["duplicate_record"] != nil {
					t.Errorf("older shape: %v", d)
				}
				return
			}
			if d["id"] != nil || dig(d, "duplicate_record", "id") != id || dig(d, "duplicate_record", "module", "api_name") != "Contacts" ||
				dig(d, "duplicate_record", "Owner", "id") == nil || dig(d, "duplicate_record", "Owner", "zuid") != "20071000101" {
				t.Errorf("newer shape: %v", d)
			}
		})
	}
}

// TestInsertDuplicateCheckFields: an insert with duplicate_check_fields
// refuses a record matching an existing one on any of them, naming it.
func TestInsertDuplicateCheckFields(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	_, first := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Ada","Phone":"+44 1","Email":"ada@example.com"}]}`)
	id := dig(first, "data", 0, "details", "id")
	for _, tc := range []struct {
		name, body string
		status     int
		field      any
	}{
		{"on Phone", `{"data":[{"Last_Name":"Other","Phone":"+44 1"}],"duplicate_check_fields":["Phone"]}`, 400, "Phone"},
		{"on the second field", `{"data":[{"Last_Name":"Other","Phone":"+44 2","Company":"X"}],"duplicate_check_fields":["Company","Phone"]}`, 201, nil},
		{"Phone without the check", `{"data":[{"Last_Name":"Other","Phone":"+44 1"}]}`, 201, nil},
		{"Email is unique anyway", `{"data":[{"Last_Name":"Other","Email":"ada@example.com"}],"duplicate_check_fields":["Phone"]}`, 400, "Email"},
		{"mixed", `{"data":[{"Last_Name":"New"},{"Last_Name":"Ada"}],"duplicate_check_fields":["Last_Name"]}`, 207, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, tc.body)
			if code != tc.status {
				t.Fatalf("%d %v", code, body)
			}
			if tc.field != nil && (dig(body, "data", 0, "code") != "DUPLICATE_DATA" || dig(body, "data", 0, "details", "api_name") != tc.field ||
				dig(body, "data", 0, "details", "duplicate_record", "id") != id) {
				t.Errorf("%v", body)
			}
			if tc.name == "mixed" && (dig(body, "data", 0, "code") != "SUCCESS" || dig(body, "data", 1, "details", "duplicate_record", "id") != id) {
				t.Errorf("%v", body)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	_, lead := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`)
	id := dig(lead, "data", 0, "details", "id").(string)
	f.s.Advance(time.Minute)

	code, body := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads/"+id+"/Notes", at,
		`{"data":[{"Note_Title":"Form submission","Note_Content":"Email: ada@example.com\nMessage: hello"}]}`)
	noteID, _ := dig(body, "data", 0, "details", "id").(string)
	if code != 201 || dig(body, "data", 0, "code") != "SUCCESS" || dig(body, "data", 0, "message") != "record added" || len(noteID) != 19 {
		t.Fatalf("%d %v", code, body)
	}
	notes := f.s.Notes(evaProd)
	want := Note{ID: noteID, ParentModule: "Leads", ParentID: id, Title: "Form submission", Content: "Email: ada@example.com\nMessage: hello", CreatedTime: t0.Add(time.Minute)}
	if len(notes) != 1 || notes[0] != want {
		t.Errorf("notes %+v, want %+v", notes, want)
	}
	if leads := f.s.Records(evaProd, "Leads"); len(leads) != 1 || leads[0]["Last_Name"] != "Ada" {
		t.Errorf("the lead changed: %v", leads)
	}

	for _, tc := range []struct {
		name, path, body, token string
		status                  int
		codes                   []string
		field                   string
	}{
		{"no title", "/crm/v8/leads/" + id + "/Notes", `{"data":[{"Note_Content":"just text"}]}`, at, 201, []string{"SUCCESS"}, ""},
		{"unknown record", "/crm/v8/Leads/4876876000000999999/Notes", `{"data":[{"Note_Content":"x"},{"Note_Content":"y"}]}`, at, 400, []string{"INVALID_DATA", "INVALID_DATA"}, "Parent_Id"},
		{"record of another module", "/crm/v8/Contacts/" + id + "/Notes", `{"data":[{"Note_Content":"x"}]}`, at, 400, []string{"INVALID_DATA"}, "Parent_Id"},
		{"no content", "/crm/v8/Leads/" + id + "/Notes", `{"data":[{"Note_Title":"t"}]}`, at, 400, []string{"MANDATORY_NOT_FOUND"}, "Note_Content"},
		{"content not text", "/crm/v8/Leads/" + id + "/Notes", `{"data":[{"Note_Content":42}]}`, at, 400, []string{"INVALID_DATA"}, "Note_Content"},
		{"mixed", "/crm/v8/Leads/" + id + "/Notes", `{"data":[{"Note_Content":"ok"},{"Note_Content":""}]}`, at, 207, []string{"SUCCESS", "MANDATORY_NOT_FOUND"}, ""},
		{"notes scope", "/crm/v8/Leads/" + id + "/Notes", `{"data":[{"Note_Content":"ok"}]}`, f.scoped("ZohoCRM.modules.notes.CREATE"), 201, []string{"SUCCESS"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.crm("POST", "www.zohoapis.eu", tc.path, tc.token, tc.body)
			if code != tc.status {
				t.Fatalf("%d %v", code, body)
			}
			for i, c := range tc.codes {
				if dig(body, "data", i, "code") != c {
					t.Errorf("data[%d] = %v, want %s", i, dig(body, "data", i), c)
				}
			}
			if tc.field != "" && dig(body, "data", 0, "details", "api_name") != tc.field {
				t.Errorf("details %v", dig(body, "data", 0, "details"))
			}
		})
	}
	for _, tc := range []struct {
		name, path, body, token string
		status                  int
		code                    string
	}{
		{"no scope", "/crm/v8/Leads/" + id + "/Notes", `{"data":[{"Note_Content":"x"}]}`, f.scoped("ZohoCRM.org.READ"), 401, "OAUTH_SCOPE_MISMATCH"},
		{"no notes", "/crm/v8/Leads/" + id + "/Notes", `{"data":[]}`, at, 400, "MANDATORY_NOT_FOUND"},
		{"not JSON", "/crm/v8/Leads/" + id + "/Notes", `{`, at, 400, "INVALID_DATA"},
		{"unknown module", "/crm/v8/Widgets/" + id + "/Notes", `{"data":[{"Note_Content":"x"}]}`, at, 400, "INVALID_MODULE"},
		{"other related list", "/crm/v8/Leads/" + id + "/Attachments", `{"data":[{"Note_Content":"x"}]}`, at, 404, "INVALID_URL_PATTERN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := f.crm("POST", "www.zohoapis.eu", tc.path, tc.token, tc.body); code != tc.status || body["code"] != tc.code {
				t.Errorf("%d %v", code, body)
			}
		})
	}
	if n := len(f.s.Notes(evaProd)); n != 4 {
		t.Errorf("%d notes stored, want 4", n)
	}
	if f.s.Notes("nope") != nil || len(f.s.Notes(evaSandbox)) != 0 {
		t.Error("notes of another org")
	}
}

// TestInvalidTokenCodes: the 401 for a bad access token carries the code
// the options ask for, Zoho's sources naming three.
func TestInvalidTokenCodes(t *testing.T) {
	for _, code := range []string{"", "INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"} {
		t.Run("code="+code, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.InvalidTokenCode = code })
			want := code
			if want == "" {
				want = "INVALID_TOKEN"
			}
			at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
			f.s.ExpireAccessTokens()
			for _, tok := range []string{at, "1000.unknown.unknown", ""} {
				if status, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/org", tok, ""); status != 401 || body["code"] != want || body["status"] != "error" {
					t.Errorf("token %.8q: %d %v", tok, status, body)
				}
			}
			f.s.Inject(Fault{Host: "www.zohoapis.eu", Status: 401, Times: 1})
			if status, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/org", at, ""); status != 401 || body["code"] != want {
				t.Errorf("fault: %d %v", status, body)
			}
		})
	}
}

// TestInsertDuplicatesWithinOneCall: two records of one insert with the
// same duplicate-check value: by default the second meets the first
// (DUPLICATE_DATA naming it); with BatchBlindDuplicates both are created,
// and a later call's record meets them all the same.
func TestInsertDuplicatesWithinOneCall(t *testing.T) {
	body := `{"data":[{"Last_Name":"Ada","Phone":"+44 7"},{"Last_Name":"Ada again","Phone":" +44 7 "}],"duplicate_check_fields":["Phone"]}`
	for _, blind := range []bool{false, true} {
		t.Run(map[bool]string{false: "checked", true: "blind"}[blind], func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.BatchBlindDuplicates = blind })
			at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
			code, res := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, body)
			first := dig(res, "data", 0, "details", "id")
			switch {
			case blind && (code != 201 || dig(res, "data", 1, "code") != "SUCCESS"):
				t.Fatalf("blind: %d %v", code, res)
			case !blind && (code != 207 || dig(res, "data", 1, "code") != "DUPLICATE_DATA" || dig(res, "data", 1, "details", "duplicate_record", "id") != first):
				t.Fatalf("checked: %d %v", code, res)
			}
			code, res = f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Later","Phone":"+44 7"}],"duplicate_check_fields":["Phone"]}`)
			if code != 400 || dig(res, "data", 0, "details", "duplicate_record", "id") != first {
				t.Errorf("a later call: %d %v", code, res)
			}
		})
	}
}
