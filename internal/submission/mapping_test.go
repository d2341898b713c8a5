package submission

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		module  string
		fields  Fields
		own     map[string]string
		want    zoho.Record
		ignored []string
	}{
		{"common names", "Leads",
			Fields{"email": " ada@example.com ", "first_name": "Ada", "last_name": "Lovelace", "phone": "1", "company": "Engines",
				"message": "hello", "website": "w", "city": "London", "country": "UK", "title": "Countess", "lead_source": "Web"},
			nil,
			zoho.Record{"Email": "ada@example.com", "First_Name": "Ada", "Last_Name": "Lovelace", "Phone": "1", "Company": "Engines",
				"Description": "hello", "Website": "w", "City": "London", "Country": "UK", "Designation": "Countess", "Lead_Source": "Web"}, nil},
		{"API names pass through, custom too", "Leads",
			Fields{"Last_Name": "L", "Email": "e@x.io", "Budget_Custom": json.Number("12")}, nil,
			zoho.Record{"Last_Name": "L", "Email": "e@x.io", "Budget_Custom": json.Number("12")}, nil},
		{"name splits", "Leads", Fields{"name": "Ada King Lovelace"}, nil,
			zoho.Record{"First_Name": "Ada King", "Last_Name": "Lovelace"}, nil},
		{"one-word name is a last name", "Contacts", Fields{"full_name": "Cher"}, nil, zoho.Record{"Last_Name": "Cher"}, nil},
		{"explicit last name beats the split", "Leads", Fields{"name": "Ada Lovelace", "last_name": "Byron"}, nil,
			zoho.Record{"First_Name": "Ada", "Last_Name": "Byron"}, nil},
		{"API name beats a common name", "Leads", Fields{"Email": "a@x.io", "email": "b@x.io", "Last_Name": "L"}, nil,
			zoho.Record{"Email": "a@x.io", "Last_Name": "L"}, nil},
		{"connection mapping wins", "Leads", Fields{"email": "a@x.io", "your-budget": "10", "Last_Name": "L"},
			map[string]string{"Your Budget": "Budget__c", "email": "Secondary_Email"},
			zoho.Record{"Secondary_Email": "a@x.io", "Budget__c": "10", "Last_Name": "L"}, nil},
		{"blank and unknown fields", "Leads", Fields{"last_name": "L", "phone": "  ", "submit": "Send", "g-recaptcha-response": "x", "tags": []any{"", "a"}}, nil,
			zoho.Record{"Last_Name": "L"}, []string{"g-recaptcha-response", "submit", "tags"}},
		{"contacts fields", "Contacts", Fields{"last_name": "L", "title": "CTO", "city": "Paris"}, nil,
			zoho.Record{"Last_Name": "L", "Title": "CTO", "Mailing_City": "Paris"}, nil},
		{"accounts name", "Accounts", Fields{"name": "Acme Ltd", "city": "Oslo"}, nil,
			zoho.Record{"Account_Name": "Acme Ltd", "Billing_City": "Oslo"}, nil},
		{"deals", "Deals", Fields{"deal_name": "Big", "amount": json.Number("100")}, nil,
			zoho.Record{"Deal_Name": "Big", "Amount": json.Number("100")}, nil},
	} {
		set := newFieldSet(append(testFields(tc.module), zoho.Field{APIName: "Budget_Custom", DataType: "currency", JSONType: "double"},
			zoho.Field{APIName: "Budget__c", DataType: "text", JSONType: "string"}), false)
		got := mapFields(tc.module, tc.fields, set, Rules{Mapping: tc.own})
		if !reflect.DeepEqual(got.Record, tc.want) || !reflect.DeepEqual(got.Ignored, tc.ignored) || got.Problems != nil {
			t.Errorf("%s: got %#v ignored %v problems %v; want %#v ignored %v", tc.name, got.Record, got.Ignored, got.Problems, tc.want, tc.ignored)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		module string
		rec    zoho.Record
		want   map[string]string
	}{
		{"Leads", zoho.Record{"Last_Name": "L"}, nil},
		{"Leads", zoho.Record{"Email": "a@x.io"}, map[string]string{"Last_Name": "required"}},
		{"Contacts", zoho.Record{"Last_Name": json.Number("3")}, map[string]string{"Last_Name": "invalid"}},
		{"Leads", zoho.Record{"Last_Name": "L", "Email": "not-an-email"}, map[string]string{"Email": "invalid"}},
		{"Accounts", zoho.Record{}, map[string]string{"Account_Name": "required"}},
		{"Deals", zoho.Record{"Deal_Name": "D"}, nil},
	} {
		got := mapFields(tc.module, Fields(tc.rec), newFieldSet(testFields(tc.module), false), Rules{}).Problems
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("mapFields(%s, %v).Problems = %v, want %v", tc.module, tc.rec, got, tc.want)
		}
	}
}

func TestIdempotencyKeyIsContentBased(t *testing.T) {
	a, _ := ParseJSON([]byte(`{"email":"a@x.io","last_name":"L"}`))
	b, _ := ParseForm([]byte(`last_name=L&email=a%40x.io`))
	ca, _ := canonical(a)
	cb, _ := canonical(b)
	if IdempotencyKey("zc_1", "Leads", "", ca) != IdempotencyKey("zc_1", "Leads", "", cb) {
		t.Fatal("the same content as JSON and as a form gives two keys")
	}
	if IdempotencyKey("zc_1", "Leads", "", ca) == IdempotencyKey("zc_2", "Leads", "", ca) ||
		IdempotencyKey("zc_1", "Leads", "", ca) == IdempotencyKey("zc_1", "Contacts", "", ca) {
		t.Fatal("the key does not depend on connection and module")
	}
	if IdempotencyKey("zc_1", "Leads", "k1", ca) != IdempotencyKey("zc_1", "Leads", "k1", []byte("other")) ||
		IdempotencyKey("zc_1", "Leads", "k1", ca) == IdempotencyKey("zc_2", "Leads", "k1", ca) {
		t.Fatal("a header key is not scoped by connection alone")
	}
}
