package zohosim

import (
	"errors"
	"testing"
)

// fieldsOf lists a module's fields by api_name.
func (f *fixture) fieldsOf(at, module string) map[string]map[string]any {
	f.t.Helper()
	code, body := f.crm("GET", "www.zohoapis.eu", "/crm/v8/settings/fields?module="+module, at, "")
	list, _ := body["fields"].([]any)
	if code != 200 || len(list) == 0 {
		f.t.Fatalf("fields of %s: %d %v", module, code, body)
	}
	out := map[string]map[string]any{}
	for _, x := range list {
		m := x.(map[string]any)
		out[m["api_name"].(string)] = m
	}
	return out
}

func TestFieldsAPI(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	type want struct {
		dataType, jsonType          string
		readOnly, mandatory, custom bool
		lookup                      string
	}
	tests := map[string]map[string]want{
		"Leads": {
			"Last_Name":       {dataType: "text", jsonType: "string", mandatory: true},
			"First_Name":      {dataType: "text", jsonType: "string"},
			"Email":           {dataType: "email", jsonType: "string"},
			"Company":         {dataType: "text", jsonType: "string"},
			"Email_Opt_Out":   {dataType: "boolean", jsonType: "boolean"},
			"Annual_Revenue":  {dataType: "currency", jsonType: "double"},
			"No_of_Employees": {dataType: "integer", jsonType: "integer"},
			"Lead_Source":     {dataType: "picklist", jsonType: "string"},
			"Owner":           {dataType: "ownerlookup", jsonType: "jsonobject"},
			"Layout":          {dataType: "layout", jsonType: "jsonobject"},
			"Tag":             {dataType: "multiselectlookup", jsonType: "jsonarray"},
			"Created_By":      {dataType: "ownerlookup", jsonType: "jsonobject", readOnly: true},
			"Modified_Time":   {dataType: "datetime", jsonType: "string", readOnly: true},
			"Created_Time":    {dataType: "datetime", jsonType: "string", readOnly: true},
			"Locked__s":       {dataType: "boolean", jsonType: "boolean", readOnly: true},
			"Full_Name":       {dataType: "text", jsonType: "string", readOnly: true},
		},
		"Contacts": {
			"Last_Name":     {dataType: "text", jsonType: "string", mandatory: true},
			"Account_Name":  {dataType: "lookup", jsonType: "jsonobject", lookup: "Accounts"},
			"Reporting_To":  {dataType: "lookup", jsonType: "jsonobject", lookup: "Contacts"},
			"Email_Opt_Out": {dataType: "boolean", jsonType: "boolean"},
			"Date_of_Birth": {dataType: "date", jsonType: "string"},
			"Owner":         {dataType: "ownerlookup", jsonType: "jsonobject"},
		},
		"Accounts": {
			"Account_Name":   {dataType: "text", jsonType: "string", mandatory: true},
			"Parent_Account": {dataType: "lookup", jsonType: "jsonobject", lookup: "Accounts"},
			"Employees":      {dataType: "integer", jsonType: "integer"},
		},
		"Deals": {
			"Deal_Name":    {dataType: "text", jsonType: "string", mandatory: true},
			"Account_Name": {dataType: "lookup", jsonType: "jsonobject", lookup: "Accounts"},
			"Contact_Name": {dataType: "lookup", jsonType: "jsonobject", lookup: "Contacts"},
			"Amount":       {dataType: "currency", jsonType: "double"},
			"Stage":        {dataType: "picklist", jsonType: "string"},
		},
	}
	for module, fields := range tests {
		t.Run(module, func(t *testing.T) {
			got := f.fieldsOf(at, module)
			for name, w := range fields {
				g, ok := got[name]
				if !ok {
					t.Errorf("no %s", name)
					continue
				}
				if g["data_type"] != w.dataType || g["json_type"] != w.jsonType || g["read_only"] != w.readOnly ||
					g["system_mandatory"] != w.mandatory || g["custom_field"] != w.custom || dig(g, "lookup", "module", "api_name") != nilIfEmpty(w.lookup) ||
					g["id"] == "" || g["field_label"] == "" {
					t.Errorf("%s = %v, want %+v", name, g, w)
				}
			}
			mandatory := 0
			for _, g := range got {
				if g["system_mandatory"] == true {
					mandatory++
				}
			}
			if mandatory != 1 {
				t.Errorf("%d mandatory fields", mandatory)
			}
		})
	}
	leads := f.fieldsOf(at, "leads")
	if len(dig(leads["Email"], "unique").(map[string]any)) == 0 || len(dig(leads["Phone"], "unique").(map[string]any)) != 0 {
		t.Errorf("unique: Email %v, Phone %v", leads["Email"]["unique"], leads["Phone"]["unique"])
	}
	if vals, _ := dig(leads["Lead_Source"], "pick_list_values").([]any); len(vals) < 5 || dig(vals, 1, "actual_value") != "Advertisement" {
		t.Errorf("Lead_Source values %v", vals)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestFieldsAPIErrors(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"no module", "/crm/v8/settings/fields", at, 400, "REQUIRED_PARAM_MISSING"},
		{"unknown module", "/crm/v8/settings/fields?module=Widgets", at, 400, "INVALID_MODULE"},
		{"no settings scope", "/crm/v8/settings/fields?module=Leads", f.scoped("ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ"), 401, "OAUTH_SCOPE_MISMATCH"},
		{"settings.ALL", "/crm/v8/settings/fields?module=Leads", f.scoped("ZohoCRM.settings.ALL"), 200, ""},
		{"fields.READ", "/crm/v8/settings/fields?module=Leads", f.scoped("ZohoCRM.settings.fields.READ"), 200, ""},
		{"other settings", "/crm/v8/settings/layouts?module=Leads", at, 404, "INVALID_URL_PATTERN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.crm("GET", "www.zohoapis.eu", tc.path, tc.token, "")
			if code != tc.status || (tc.code != "" && body["code"] != tc.code) {
				t.Errorf("%d %v", code, body)
			}
		})
	}
	if code, _ := f.crm("POST", "www.zohoapis.eu", "/crm/v8/settings/fields?module=Leads", at, "{}"); code != 405 {
		t.Errorf("POST: %d", code)
	}
}

func TestCustomFields(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	for _, fl := range []Field{
		{APIName: "Budget", DataType: "currency"},
		{APIName: "Newsletter", DataType: "boolean", Label: "Wants the newsletter"},
		{APIName: "Customer_No", DataType: "text", Unique: true, Length: 20},
		{APIName: "Partner", DataType: "lookup", LookupModule: "Accounts"},
	} {
		if err := f.s.AddField(evaProd, "leads", fl); err != nil {
			t.Fatal(err)
		}
	}
	got := f.fieldsOf(at, "Leads")
	if b := got["Budget"]; b["custom_field"] != true || b["json_type"] != "double" || b["field_label"] != "Budget" {
		t.Errorf("Budget %v", b)
	}
	if n := got["Newsletter"]; n["field_label"] != "Wants the newsletter" || n["json_type"] != "boolean" {
		t.Errorf("Newsletter %v", n)
	}
	if got["Last_Name"]["custom_field"] != false {
		t.Error("Last_Name is custom")
	}
	// Another org of the same user has none of them.
	atSandbox, _ := f.connect("accounts.zoho.eu", eva, evaSandbox)
	code, body := f.crm("GET", "sandbox.zohoapis.eu", "/crm/v8/settings/fields?module=Leads", atSandbox, "")
	for _, x := range body["fields"].([]any) {
		if x.(map[string]any)["custom_field"] == true {
			t.Errorf("sandbox has %v (%d)", x, code)
		}
	}

	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"typed values", `{"data":[{"Last_Name":"A","Budget":1200.5,"Newsletter":true,"Customer_No":"C1","Partner":{"id":"1"}}]}`, 201, ""},
		{"number as string", `{"data":[{"Last_Name":"B","Budget":"99"}]}`, 201, ""},
		{"boolean as string", `{"data":[{"Last_Name":"C","Newsletter":"yes"}]}`, 400, "Newsletter"},
		{"lookup as string", `{"data":[{"Last_Name":"D","Partner":"Acme"}]}`, 400, "Partner"},
		{"unique custom field", `{"data":[{"Last_Name":"E","Customer_No":"c1"}]}`, 400, "Customer_No"},
		{"built-in boolean", `{"data":[{"Last_Name":"F","Email_Opt_Out":"no"}]}`, 400, "Email_Opt_Out"},
		{"integer", `{"data":[{"Last_Name":"G","No_of_Employees":1.5}]}`, 400, "No_of_Employees"},
		{"Tag is a list", `{"data":[{"Last_Name":"H","Tag":"vip"}]}`, 400, "Tag"},
		{"null clears", `{"data":[{"Last_Name":"I","Newsletter":null,"Tag":[{"name":"vip"}]}]}`, 201, ""},
		{"unknown fields are kept", `{"data":[{"Last_Name":"J","Not_A_Field":{"x":1}}]}`, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, tc.body)
			if code != tc.status || (tc.field != "" && dig(body, "data", 0, "details", "api_name") != tc.field) {
				t.Errorf("%d %v", code, body)
			}
			if tc.status == 400 {
				want := "INVALID_DATA"
				if tc.name == "unique custom field" {
					want = "DUPLICATE_DATA"
				}
				if dig(body, "data", 0, "code") != want {
					t.Errorf("code %v, want %s", dig(body, "data", 0, "code"), want)
				}
			}
		})
	}

	for _, tc := range []struct {
		org, module string
		field       Field
		want        error
	}{
		{"nope", "Leads", Field{APIName: "X"}, ErrUnknownOrg},
		{evaProd, "Widgets", Field{APIName: "X"}, ErrUnknownModule},
		{evaProd, "Leads", Field{APIName: "Budget"}, ErrFieldExists},
		{evaProd, "Leads", Field{APIName: "Email"}, ErrFieldExists},
		{evaProd, "Leads", Field{APIName: "1x"}, ErrBadField},
		{evaProd, "Leads", Field{APIName: "X", DataType: "blob"}, ErrBadField},
		{evaProd, "Leads", Field{APIName: "X", DataType: "lookup"}, ErrBadField},
		{evaProd, "Leads", Field{APIName: "X", LookupModule: "Accounts"}, ErrBadField},
	} {
		if err := f.s.AddField(tc.org, tc.module, tc.field); !errors.Is(err, tc.want) {
			t.Errorf("AddField(%s, %s, %+v) = %v, want %v", tc.org, tc.module, tc.field, err, tc.want)
		}
	}
}

// TestSetUnique: an org whose Email allows duplicates creates a second
// record on a plain insert; duplicate_check_fields still refuses it.
func TestSetUnique(t *testing.T) {
	f := newFixture(t, nil)
	at, _ := f.connect("accounts.zoho.eu", eva, evaProd)
	if err := f.s.SetUnique(evaProd, "Leads", "Email", false); err != nil {
		t.Fatal(err)
	}
	if got := f.fieldsOf(at, "Leads")["Email"]["unique"].(map[string]any); len(got) != 0 {
		t.Errorf("Email still unique in the fields API: %v", got)
	}
	body := `{"data":[{"Last_Name":"Ada","Email":"ada@example.com"}]}`
	for i := range 2 {
		if code, resp := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, body); code != 201 {
			t.Fatalf("insert %d: %d %v", i, code, resp)
		}
	}
	code, resp := f.crm("POST", "www.zohoapis.eu", "/crm/v8/Leads", at, `{"data":[{"Last_Name":"Ada","Email":"ADA@example.com"}],"duplicate_check_fields":["Email"]}`)
	if code != 400 || dig(resp, "data", 0, "code") != "DUPLICATE_DATA" {
		t.Errorf("with duplicate_check_fields: %d %v", code, resp)
	}
	if n := len(f.s.Records(evaProd, "Leads")); n != 2 {
		t.Errorf("%d leads", n)
	}
	if err := f.s.SetUnique(evaProd, "Leads", "Phone", true); err != nil {
		t.Fatal(err)
	}
	if got := f.fieldsOf(at, "Leads")["Phone"]["unique"].(map[string]any); len(got) == 0 {
		t.Errorf("Phone not unique in the fields API")
	}
	for _, tc := range []struct {
		org, module, field string
		want               error
	}{{"nope", "Leads", "Email", ErrUnknownOrg}, {evaProd, "Widgets", "Email", ErrUnknownModule}, {evaProd, "Leads", "Nope", ErrUnknownField}} {
		if err := f.s.SetUnique(tc.org, tc.module, tc.field, true); !errors.Is(err, tc.want) {
			t.Errorf("SetUnique(%s, %s, %s) = %v", tc.org, tc.module, tc.field, err)
		}
	}
}
