//go:build integration

package submission_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// The parts of the submissions API that protect what the org already
// holds, on the local stack with the simulator: duplicates, the fields
// that may reach Zoho, signatures that cannot be replayed, and a scope
// that does not cover a module.

// invoke sends the sync function one API Gateway request, as made.
func (h *harness) invoke(t *testing.T, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(req)
	out, err := h.sync.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayV2HTTPResponse)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, resp.Body)
	}
	return resp.StatusCode, body
}

// signedForm is a form posted as API Gateway delivers it (base64), signed
// at `at` for exactly its method, path, query, Idempotency-Key and body.
func signedForm(c conn, form, query, idemKey string, at time.Time) events.APIGatewayV2HTTPRequest {
	path := "/connections/" + c.ID + "/submissions"
	req := events.APIGatewayV2HTTPRequest{
		RawPath: path, RawQueryString: query,
		Headers:        map[string]string{"content-type": "application/x-www-form-urlencoded"},
		PathParameters: map[string]string{"connection_id": c.ID},
		Body:           base64.StdEncoding.EncodeToString([]byte(form)), IsBase64Encoded: true,
	}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.Stage = "$default"
	if idemKey != "" {
		req.Headers["idempotency-key"] = idemKey
	}
	req.Headers["x-signature"] = submission.Sign(c.Key, at, submission.Signed{Method: "POST", Path: path, RawQuery: query, IdempotencyKey: idemKey, Body: []byte(form)})
	return req
}

func (h *harness) setConnection(t *testing.T, id string, change func(*connection.Connection)) {
	t.Helper()
	if _, err := h.store.Update(context.Background(), id, func(c *connection.Connection) error {
		change(c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func findRecord(recs []map[string]any, id string) map[string]any {
	for _, r := range recs {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

// A stranger resubmits a known person's e-mail with other data: the
// contact keeps every value, and a Note on it holds the submission.
func TestKnownPersonIsNeverOverwritten(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Production)
	status, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", query: "module=Contacts",
		body: `{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0000"}`})
	id, _ := body["record_id"].(string)
	if status != 201 || id == "" {
		t.Fatalf("%d %v", status, body)
	}
	before := findRecord(h.records(c, "Contacts"), id)

	hostile := "last_name=Attacker&phone=%2B1+555+0100&Email_Opt_Out=true&email=ADA%40example.com" +
		"&Owner=4876876000000000001&Tag=vip&Layout=1&Created_Time=2001-01-01T00%3A00%3A00%2B00%3A00&Record_Status__s=Trash&%24approved=false&submit=Send"
	status, body = h.invoke(t, signedForm(c, hostile, "module=Contacts", "", time.Now()))
	if status != 200 || body["status"] != "matched" || body["action"] != "note_added" || body["record_id"] != id || body["module"] != "Contacts" {
		t.Fatalf("%d %v", status, body)
	}
	wantIgnored := []any{"$approved", "Created_Time", "Layout", "Owner", "Record_Status__s", "Tag", "submit"}
	if !reflect.DeepEqual(body["ignored_fields"], wantIgnored) {
		t.Errorf("ignored_fields %v, want %v", body["ignored_fields"], wantIgnored)
	}
	recs := h.records(c, "Contacts")
	if len(recs) != 1 || !reflect.DeepEqual(findRecord(recs, id), before) {
		t.Fatalf("the contact changed:\nbefore %v\nafter  %v", before, recs)
	}
	notes := h.Sim.Notes(c.OrgID)
	if len(notes) != 1 || notes[0].ParentID != id || notes[0].ParentModule != "Contacts" || notes[0].Title == "" {
		t.Fatalf("notes %+v", notes)
	}
	for _, want := range []string{"last_name: Attacker", "phone: +1 555 0100", "Email_Opt_Out: true", "email: ADA@example.com",
		"Owner: 4876876000000000001", "Tag: vip", "Record_Status__s: Trash", "submit: Send"} {
		if !strings.Contains(notes[0].Content, want) {
			t.Errorf("the note lacks %q:\n%s", want, notes[0].Content)
		}
	}
	// What Zoho was asked: an insert with a duplicate check, then the note.
	var writes []string
	for _, r := range h.Sim.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/crm/v8/Contacts") {
			writes = append(writes, r.Path)
			if r.Path == "/crm/v8/Contacts" {
				var b struct {
					Data                 []map[string]any `json:"data"`
					Trigger              []string         `json:"trigger"`
					DuplicateCheckFields []string         `json:"duplicate_check_fields"`
				}
				json.Unmarshal(r.Body, &b)
				if !reflect.DeepEqual(b.Trigger, []string{"workflow"}) || !reflect.DeepEqual(b.DuplicateCheckFields, []string{"Email"}) {
					t.Errorf("insert %s", r.Body)
				}
				for k := range b.Data[0] {
					if k == "Owner" || k == "Tag" || k == "Layout" || k == "Created_Time" || k == "Record_Status__s" || k == "$approved" {
						t.Errorf("%s was sent: %s", k, r.Body)
					}
				}
			}
		}
	}
	if !reflect.DeepEqual(writes, []string{"/crm/v8/Contacts", "/crm/v8/Contacts", "/crm/v8/Contacts/" + id + "/Notes"}) {
		t.Errorf("writes %v", writes)
	}
}

// Every forbidden field is dropped and named; a custom field the org added
// is known by its type; a value of the wrong type, or a mapping to a field
// the org lacks, is refused before Zoho is called.
func TestWhatMayReachZoho(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "us", zoho.Production)
	for _, f := range []zohosim.Field{{APIName: "Budget", DataType: "currency"}, {APIName: "Referrer", DataType: "lookup", LookupModule: "Contacts"},
		{APIName: "Interests", DataType: "multiselectpicklist", PickList: []string{"a", "b"}}} {
		if err := h.Sim.AddField(c.OrgID, "Leads", f); err != nil {
			t.Fatal(err)
		}
	}
	bearer := "bearer:" + c.Key
	status, body, _ := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", body: `{
		"last_name":"Lovelace","email":"ada@example.com","budget":"2500.50","Email_Opt_Out":"on","No_of_Employees":"12",
		"Owner":{"id":"1"},"Layout":{"id":"2"},"Tag":[{"name":"vip"}],"Created_By":{"id":"3"},"Modified_Time":"2020-01-01T00:00:00+00:00",
		"Full_Name":"X","Converted__s":true,"Record_Status__s":"Trash","$state":"save","Referrer":{"id":"4"},"Interests":["a"],
		"id":"5","Locked__s":true,"utm_source":"newsletter","submit":"Send"}`})
	if status != 201 {
		t.Fatalf("%d %v", status, body)
	}
	var ignored []string
	for _, v := range body["ignored_fields"].([]any) {
		ignored = append(ignored, v.(string))
	}
	want := []string{"$state", "Converted__s", "Created_By", "Full_Name", "Interests", "Layout", "Locked__s", "Modified_Time", "Owner",
		"Record_Status__s", "Referrer", "Tag", "id", "submit", "utm_source"}
	sort.Strings(want)
	if !reflect.DeepEqual(ignored, want) {
		t.Errorf("ignored_fields %v\nwant           %v", ignored, want)
	}
	lead := findRecord(h.records(c, "Leads"), body["record_id"].(string))
	if lead["Budget"] != 2500.5 || lead["Email_Opt_Out"] != true || lead["No_of_Employees"] != float64(12) || lead["Last_Name"] != "Lovelace" {
		t.Errorf("lead %v", lead)
	}
	for _, f := range want {
		if f == "Owner" || f == "id" || f == "Modified_Time" {
			continue // the simulator's own
		}
		if _, ok := lead[f]; ok {
			t.Errorf("%s reached Zoho: %v", f, lead)
		}
	}
	if o, _ := lead["Owner"].(map[string]any); o["id"] == "1" {
		t.Errorf("the owner was set: %v", o)
	}

	writes := h.crmWrites()
	for name, tc := range map[string]struct {
		body    string
		mapping map[string]string
		field   string
		problem string
	}{
		"wrong type for a custom field": {`{"last_name":"L","budget":"a lot"}`, nil, "Budget", "invalid"},
		"wrong type for a boolean":      {`{"last_name":"L","Email_Opt_Out":"perhaps"}`, nil, "Email_Opt_Out", "invalid"},
		"a list for one value":          {`{"last_name":["L","M"]}`, nil, "Last_Name", "invalid"},
		"a mapping the org lacks":       {`{"last_name":"L","colour":"red"}`, map[string]string{"colour": "Favourite_Colour"}, "Favourite_Colour", "unknown_field"},
		"too long":                      {`{"last_name":"` + strings.Repeat("x", 81) + `"}`, nil, "Last_Name", "too_long"},
	} {
		h.setConnection(t, c.ID, func(x *connection.Connection) { x.FieldMapping = tc.mapping })
		status, body, _ := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", body: tc.body})
		if fields, _ := body["fields"].(map[string]any); status != 422 || body["error"] != "invalid_submission" || fields[tc.field] != tc.problem {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	if h.crmWrites() != writes {
		t.Error("Zoho was asked about a submission known to be refused")
	}
	// allowed_fields: only those and the mapping's targets.
	h.setConnection(t, c.ID, func(x *connection.Connection) {
		x.FieldMapping, x.AllowedFields = map[string]string{"amount": "Budget"}, []string{"Last_Name", "Email"}
	})
	status, body, _ = h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json",
		body: `{"last_name":"Hopper","email":"grace@example.com","amount":"10","phone":"+1 2","company":"Navy"}`})
	if status != 201 || !reflect.DeepEqual(body["ignored_fields"], []any{"company", "phone"}) {
		t.Fatalf("%d %v", status, body)
	}
	if lead := findRecord(h.records(c, "Leads"), body["record_id"].(string)); lead["Budget"] != float64(10) || lead["Phone"] != nil || lead["Company"] != nil {
		t.Errorf("lead %v", lead)
	}
	// The fields API: one call per module for all of the above.
	if n := h.fieldsCalls("Leads"); n != 1 {
		t.Errorf("%d fields API calls for Leads, want 1", n)
	}
}

func (h *harness) fieldsCalls(module string) int {
	n := 0
	for _, r := range h.Sim.Requests() {
		if r.Method == "GET" && r.Path == "/crm/v8/settings/fields" && r.Query.Get("module") == module {
			n++
		}
	}
	return n
}

// Every change to a signed request is refused, and nothing reaches Zoho.
func TestSignedRequestsCannotBeReplayed(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "eu", zoho.Sandbox)
	other := h.connect(t, "eu", zoho.Production)
	const form = "email=ada%40example.com&last_name=Lovelace"
	now := time.Now()
	good := func() events.APIGatewayV2HTTPRequest { return signedForm(c, form, "module=Contacts", "order-1", now) }
	status, body := h.invoke(t, good())
	if status != 201 || body["module"] != "Contacts" {
		t.Fatalf("the signed request: %d %v", status, body)
	}
	writes := h.crmWrites()
	variants := map[string]func(*events.APIGatewayV2HTTPRequest){
		"other module": func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "module=Leads" },
		"no query":     func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "" },
		"other query":  func(r *events.APIGatewayV2HTTPRequest) { r.RawQueryString = "module=Contacts&x=1" },
		"other path":   func(r *events.APIGatewayV2HTTPRequest) { r.RawPath = "/v1" + r.RawPath },
		"other connection": func(r *events.APIGatewayV2HTTPRequest) {
			r.PathParameters["connection_id"] = other.ID
			r.RawPath = strings.Replace(r.RawPath, c.ID, other.ID, 1)
		},
		"other Idempotency-Key": func(r *events.APIGatewayV2HTTPRequest) { r.Headers["idempotency-key"] = "order-2" },
		"no Idempotency-Key":    func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "idempotency-key") },
		"other body": func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = base64.StdEncoding.EncodeToString([]byte(strings.Replace(form, "Lovelace", "Attacker", 1)))
		},
		"old t": func(r *events.APIGatewayV2HTTPRequest) {
			*r = signedForm(c, form, "module=Contacts", "order-1", now.Add(-330*time.Second))
		},
		"future t": func(r *events.APIGatewayV2HTTPRequest) {
			*r = signedForm(c, form, "module=Contacts", "order-1", now.Add(330*time.Second))
		},
		"t moved": func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["x-signature"] = strings.Replace(r.Headers["x-signature"], "t=", "t=1", 1)
		},
		"the old sha256= format": func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["x-signature"] = "sha256=" + strings.SplitN(r.Headers["x-signature"], "v1=", 2)[1]
		},
	}
	first := ""
	for name, change := range variants {
		r := good()
		change(&r)
		status, body := h.invoke(t, r)
		raw, _ := json.Marshal(body)
		if status != 401 || (first != "" && string(raw) != first) {
			t.Errorf("%s: %d %s", name, status, raw)
		}
		first = string(raw)
	}
	// Signed for another method: a POST is 401; another method is not
	// served at all (405; API Gateway routes only POST here).
	r := good()
	r.Headers["x-signature"] = submission.Sign(c.Key, now, submission.Signed{Method: "PUT", Path: r.RawPath, RawQuery: r.RawQueryString,
		IdempotencyKey: "order-1", Body: []byte(form)})
	if status, body := h.invoke(t, r); status != 401 {
		t.Errorf("signed for PUT, sent as POST: %d %v", status, body)
	}
	r = good()
	r.RequestContext.HTTP.Method = "PUT"
	if status, body := h.invoke(t, r); status != 405 {
		t.Errorf("sent as PUT: %d %v", status, body)
	}
	if h.crmWrites() != writes || len(h.records(c, "Leads")) != 0 || len(h.records(other, "Contacts")) != 0 {
		t.Fatal("a refused request reached Zoho")
	}
	// The request as signed, again within 300 s: the same submission.
	if status, body := h.invoke(t, good()); status != 201 || h.crmWrites() != writes || len(h.records(c, "Contacts")) != 1 {
		t.Fatalf("the signed request again: %d %v", status, body)
	}
	// Under a named stage, the stage is not signed.
	r = good()
	r.RequestContext.Stage, r.RawPath = "prod", "/prod"+r.RawPath
	if status, body := h.invoke(t, r); status != 201 {
		t.Fatalf("under stage prod: %d %v", status, body)
	}
}

// fill_empty, update and create, on a contact Zoho knows.
func TestOnDuplicateSettings(t *testing.T) {
	h := newHarness(t)
	c := h.connect(t, "in", zoho.Production)
	bearer := "bearer:" + c.Key
	status, body, _ := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", query: "module=Contacts",
		body: `{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}`})
	id, _ := body["record_id"].(string)
	if status != 201 {
		t.Fatalf("%d %v", status, body)
	}
	resubmit := func(mode, form string) map[string]any {
		t.Helper()
		h.setConnection(t, c.ID, func(x *connection.Connection) { x.OnDuplicate = mode })
		status, body := h.invoke(t, signedForm(c, form, "module=Contacts", "", time.Now()))
		if status != 200 || body["status"] != "matched" || body["record_id"] != id {
			t.Fatalf("%s: %d %v", mode, status, body)
		}
		return body
	}
	contact := func() map[string]any { return findRecord(h.records(c, "Contacts"), id) }

	// fill_empty: Phone and Title were empty; the name and the opt-out are kept.
	b := resubmit("fill_empty", "last_name=Attacker&phone=%2B1+555+0100&title=Countess&Email_Opt_Out=true&email=ada%40example.com")
	if b["action"] != "fields_filled" {
		t.Fatalf("%v", b)
	}
	if x := contact(); x["Last_Name"] != "Lovelace" || x["First_Name"] != "Ada" || x["Phone"] != "+1 555 0100" || x["Title"] != "Countess" || x["Email_Opt_Out"] == true {
		t.Errorf("after fill_empty: %v", x)
	}
	// fill_empty again: nothing empty left to set, nothing changes.
	resubmit("fill_empty", "last_name=Other&phone=%2B1+555+0199&email=ada%40example.com")
	if x := contact(); x["Phone"] != "+1 555 0100" || x["Last_Name"] != "Lovelace" {
		t.Errorf("after a second fill_empty: %v", x)
	}
	// update: the submission overwrites (the e-mail keeps the record's spelling).
	b = resubmit("update", "last_name=King&phone=%2B44+1&email=ADA%40example.com&Email_Opt_Out=true")
	if b["action"] != "updated" {
		t.Fatalf("%v", b)
	}
	if x := contact(); x["Last_Name"] != "King" || x["Phone"] != "+44 1" || x["Email_Opt_Out"] != true || x["Email"] != "ada@example.com" || x["First_Name"] != "Ada" {
		t.Errorf("after update: %v", x)
	}
	if n := len(h.records(c, "Contacts")); n != 1 || len(h.Sim.Notes(c.OrgID)) != 0 {
		t.Fatalf("%d contacts, %d notes", n, len(h.Sim.Notes(c.OrgID)))
	}
	// create: a plain insert, no duplicate check; the org taking duplicates
	// gets a second contact...
	if err := h.Sim.SetUnique(c.OrgID, "Contacts", "Email", false); err != nil {
		t.Fatal(err)
	}
	h.setConnection(t, c.ID, func(x *connection.Connection) { x.OnDuplicate = "create" })
	status, body = h.invoke(t, signedForm(c, "last_name=Twin&email=ada%40example.com", "module=Contacts", "", time.Now()))
	if status != 201 || body["status"] != "created" || body["record_id"] == id {
		t.Fatalf("create: %d %v", status, body)
	}
	if n := len(h.records(c, "Contacts")); n != 2 {
		t.Fatalf("%d contacts", n)
	}
	for _, r := range h.Sim.Requests() {
		if r.Method == "POST" && r.Path == "/crm/v8/Contacts" && strings.Contains(string(r.Body), "Twin") && strings.Contains(string(r.Body), "duplicate_check_fields") {
			t.Errorf("create sent a duplicate check: %s", r.Body)
		}
	}
	// ...and an org refusing duplicates of its unique Email keeps the
	// record and gets the note.
	if err := h.Sim.SetUnique(c.OrgID, "Contacts", "Email", true); err != nil {
		t.Fatal(err)
	}
	status, body = h.invoke(t, signedForm(c, "last_name=Triplet&email=grace%40example.com&x=1", "module=Contacts", "", time.Now()))
	if status != 201 {
		t.Fatalf("%d %v", status, body)
	}
	status, body = h.invoke(t, signedForm(c, "last_name=Triplet&email=grace%40example.com&x=2", "module=Contacts", "", time.Now()))
	if status != 200 || body["action"] != "note_added" || len(h.Sim.Notes(c.OrgID)) != 1 {
		t.Fatalf("create on a unique Email: %d %v", status, body)
	}
}

// A connection whose scopes do not cover a module: 422
// module_not_permitted, the connection stays active, and its other
// modules are delivered as before.
func TestScopeMismatchLeavesTheConnectionActive(t *testing.T) {
	h := newHarness(t)
	h.CallbackConfig.Scopes = []string{"ZohoCRM.modules.Leads.ALL", "ZohoCRM.modules.notes.ALL", "ZohoCRM.org.READ", "ZohoCRM.users.READ", "ZohoCRM.settings.fields.READ"}
	h.Callback = h.NewCallback(t, h.Env.Config)
	c := h.connect(t, "au", zoho.Production)
	bearer := "bearer:" + c.Key
	status, body, raw := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", query: "module=Contacts",
		body: `{"last_name":"Lovelace","email":"ada@example.com"}`})
	if status != 422 || body["error"] != "module_not_permitted" || !strings.Contains(body["message"].(string), "Contacts") {
		t.Fatalf("%d %v", status, body)
	}
	got, _ := h.store.Get(context.Background(), c.ID)
	if got.Status != connection.Active {
		t.Fatalf("status %s (%s)", got.Status, got.StatusReason)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("a submission was held")
	}
	// The same again: the first answer.
	if s2, _, raw2 := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json", query: "module=Contacts",
		body: `{"last_name":"Lovelace","email":"ada@example.com"}`}); s2 != 422 || raw2 != raw {
		t.Fatalf("repeat: %d %s", s2, raw2)
	}
	// Leads is covered: delivered, duplicates noted.
	for i, want := range []int{201, 200} {
		if s, body, _ := h.send(t, post{conn: c.ID, auth: bearer, contentType: "application/json",
			body: `{"last_name":"Lovelace","email":"ada@example.com","n":"` + string(rune('0'+i)) + `"}`}); s != want {
			t.Fatalf("Leads %d: %d %v", i, s, body)
		}
	}
	if got, _ := h.store.Get(context.Background(), c.ID); got.Status != connection.Active || len(h.records(c, "Leads")) != 1 || len(h.Sim.Notes(c.OrgID)) != 1 {
		t.Fatalf("status %s, %d leads", got.Status, len(h.records(c, "Leads")))
	}
}

// A connection made with the former default scopes (no
// ZohoCRM.settings.fields.READ) keeps working on the standard fields.
func TestConnectionWithoutTheFieldsScope(t *testing.T) {
	h := newHarness(t)
	h.CallbackConfig.Scopes = []string{"ZohoCRM.modules.ALL", "ZohoCRM.org.READ", "ZohoCRM.users.READ"}
	h.Callback = h.NewCallback(t, h.Env.Config)
	c := h.connect(t, "us", zoho.Sandbox)
	if err := h.Sim.AddField(c.OrgID, "Leads", zohosim.Field{APIName: "Budget", DataType: "currency"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		status, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
			body: `{"last_name":"L` + string(rune('0'+i)) + `","Budget":"5","Owner":"x","phone":"+1 2"}`})
		if status != 201 || !reflect.DeepEqual(body["ignored_fields"], []any{"Budget", "Owner"}) {
			t.Fatalf("%d %v", status, body)
		}
	}
	if got, _ := h.store.Get(context.Background(), c.ID); got.Status != connection.Active {
		t.Fatalf("status %s", got.Status)
	}
	if n := h.fieldsCalls("Leads"); n != 1 {
		t.Errorf("%d fields API calls, want 1 (a refusal is cached too)", n)
	}
	if lead := h.records(c, "Leads")[0]; lead["Phone"] != "+1 2" || lead["Budget"] != nil {
		t.Errorf("lead %v", lead)
	}
}

// A person who submitted twice while Zoho was down gets one record and a
// Note, from a Zoho that does not check one insert's records against
// each other (the simulator's BatchBlindDuplicates: Zoho's behaviour
// here is not documented): the queue's batch sends the second in a call
// of its own, after the first.
func TestTwiceDuringAnOutageOneRecordAndANote(t *testing.T) {
	h := newHarnessWith(t, zohosim.Options{BatchBlindDuplicates: true})
	c := h.connect(t, "eu", zoho.Production)
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/Leads", Status: 503, Times: 3})
	for _, body := range []string{
		`{"email":"ada@example.com","last_name":"Lovelace","message":"first"}`,
		`{"email":"bob@example.com","last_name":"Babbage"}`,
		`{"email":" Ada@Example.com","last_name":"Lovelace","message":"again"}`,
	} {
		if status, b, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: body}); status != 202 {
			t.Fatalf("%d %v", status, b)
		}
	}
	// One batch of the three (moto answers every visible message).
	if n, failed := h.drain(t); n != 3 || len(failed) != 0 {
		t.Fatalf("%d handled, %d failed", n, len(failed))
	}
	recs := h.records(c, "Leads")
	if len(recs) != 2 {
		t.Fatalf("%d records: %v", len(recs), recs)
	}
	notes := h.Sim.Notes(c.OrgID)
	if len(notes) != 1 || !strings.Contains(notes[0].Content, "again") {
		t.Fatalf("notes %+v", notes)
	}
	for _, r := range recs {
		if r["Email"] == "ada@example.com" && r["id"] != notes[0].ParentID {
			t.Errorf("the note is on %s, not on ada's record %v", notes[0].ParentID, r["id"])
		}
	}
}
