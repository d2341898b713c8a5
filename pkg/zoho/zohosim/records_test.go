package zohosim

import "testing"

// GET of one record and PUT of existing ones: their scopes, parameters
// and answers.
func TestGetAndUpdateRecord(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	const host = "www.zohoapis.eu"
	code, body := f.crm("POST", host, "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`)
	id, _ := dig(body, "data", 0, "details", "id").(string)
	if code != 201 || id == "" {
		t.Fatalf("%d %v", code, body)
	}
	f.crm("POST", host, "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Bob","Email":"bob@example.com"}]}`)

	if code, body := f.crm("GET", host, "/crm/v8/Leads/"+id+"?fields=Email,Phone", at, ""); code != 200 ||
		dig(body, "data", 0, "Email") != "ada@example.com" || dig(body, "data", 0, "id") != id || dig(body, "data", 0, "Last_Name") != nil {
		t.Errorf("get: %d %v", code, body)
	}
	if code, body := f.crm("GET", host, "/crm/v8/Leads/"+id, at, ""); code != 400 || body["code"] != "REQUIRED_PARAM_MISSING" {
		t.Errorf("get without fields: %d %v", code, body)
	}
	if code, body := f.crm("GET", host, "/crm/v8/Leads/"+id+"?fields=Nope", at, ""); code != 400 || body["code"] != "INVALID_DATA" {
		t.Errorf("get of an unknown field: %d %v", code, body)
	}
	if code, _ := f.crm("GET", host, "/crm/v8/Leads/123?fields=Email", at, ""); code != 204 {
		t.Errorf("get of an unknown id: %d", code)
	}

	code, body = f.crm("PUT", host, "/crm/v8/Leads", at, `{"data":[{"id":"`+id+`","Phone":"+1 2"}],"trigger":["workflow"]}`)
	if code != 200 || dig(body, "data", 0, "code") != "SUCCESS" || dig(body, "data", 0, "details", "id") != id {
		t.Fatalf("update: %d %v", code, body)
	}
	if r := f.s.Records(evaProd, "Leads")[0]; r["Phone"] != "+1 2" || r["Last_Name"] != "Ada" {
		t.Errorf("record %v", r)
	}
	code, body = f.crm("PUT", host, "/crm/v8/Leads", at, `{"data":[{"Phone":"x"},{"id":"1","Phone":"x"},{"id":"`+id+`","Email":"BOB@example.com"},{"id":"`+id+`","No_of_Employees":"many"}]}`)
	want := []string{"MANDATORY_NOT_FOUND", "INVALID_DATA", "DUPLICATE_DATA", "INVALID_DATA"}
	for i, w := range want {
		if dig(body, "data", i, "code") != w {
			t.Errorf("update %d: %v, want %s", i, dig(body, "data", i), w)
		}
	}
	if code != 400 {
		t.Errorf("all refused: %d", code)
	}

	// Scopes: reading needs READ (or ALL), updating UPDATE (or ALL).
	create := f.scoped("ZohoCRM.modules.Leads.CREATE")
	if code, body := f.crm("GET", host, "/crm/v8/Leads/"+id+"?fields=Email", create, ""); code != 401 || body["code"] != "OAUTH_SCOPE_MISMATCH" {
		t.Errorf("get with CREATE only: %d %v", code, body)
	}
	if code, body := f.crm("PUT", host, "/crm/v8/Leads", create, `{"data":[{"id":"`+id+`","Phone":"3"}]}`); code != 401 || body["code"] != "OAUTH_SCOPE_MISMATCH" {
		t.Errorf("update with CREATE only: %d %v", code, body)
	}
	rw := f.scoped("ZohoCRM.modules.Leads.READ,ZohoCRM.modules.Leads.UPDATE")
	if code, _ := f.crm("GET", host, "/crm/v8/Leads/"+id+"?fields=Email", rw, ""); code != 200 {
		t.Errorf("get with READ: %d", code)
	}
	if code, _ := f.crm("PUT", host, "/crm/v8/Leads", rw, `{"data":[{"id":"`+id+`","Phone":"3"}]}`); code != 200 {
		t.Errorf("update with UPDATE: %d", code)
	}
}
