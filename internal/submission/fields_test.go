package submission

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Only ordinary fields reach Zoho; every other posted name is dropped and
// named.
func TestOnlyOrdinaryFieldsReachZoho(t *testing.T) {
	set := newFieldSet(testFields("Leads"), false)
	posted := Fields{
		"last_name": "L", "Email": "a@x.io", "budget": "12.5", "Email_Opt_Out": "on",
		// system, ownership, layout, tag, audit, read-only, `$`, `__s`, lookups, lists:
		"Owner": map[string]any{"id": "1"}, "owner": "2", "Layout": "3", "Tag": []any{"vip"}, "Created_Time": "2020-01-01T00:00:00Z",
		"Modified_By": "4", "Full_Name": "X Y", "$approved": "true", "Record_Status__s": "Trash", "Referrer": map[string]any{"id": "5"},
		"Interests": []any{"a", "b"}, "id": "6", "Locked__s": "true", "Created_By": "7",
		// no field of that name:
		"submit": "Send", "utm_source": "news", "g-recaptcha-response": "tok",
	}
	m := mapFields("Leads", posted, set, Rules{})
	want := zoho.Record{"Last_Name": "L", "Email": "a@x.io", "Budget": json.Number("12.5"), "Email_Opt_Out": true}
	if !reflect.DeepEqual(m.Record, want) || m.Problems != nil {
		t.Fatalf("record %#v problems %v", m.Record, m.Problems)
	}
	wantIgnored := []string{"$approved", "Created_By", "Created_Time", "Full_Name", "Interests", "Layout", "Locked__s", "Modified_By", "Owner",
		"Record_Status__s", "Referrer", "Tag", "g-recaptcha-response", "id", "owner", "submit", "utm_source"}
	if !reflect.DeepEqual(m.Ignored, wantIgnored) {
		t.Errorf("ignored %v\nwant    %v", m.Ignored, wantIgnored)
	}
	// A connection cannot name them into Zoho either.
	m = mapFields("Leads", Fields{"last_name": "L", "rep": "1", "who": "2", "tags": "3"}, set,
		Rules{Mapping: map[string]string{"rep": "Owner", "who": "Referrer", "tags": "Interests"}, Allowed: []string{"Tag", "Last_Name"}})
	if !reflect.DeepEqual(m.Record, zoho.Record{"Last_Name": "L"}) || !reflect.DeepEqual(m.Ignored, []string{"rep", "tags", "who"}) {
		t.Errorf("named: %#v %v", m.Record, m.Ignored)
	}
}

func TestOrdinaryRules(t *testing.T) {
	for _, tc := range []struct {
		f          zoho.Field
		ord, named bool
	}{
		{zoho.Field{APIName: "Last_Name", DataType: "text", JSONType: "string"}, true, true},
		{zoho.Field{APIName: "Email_Opt_Out", DataType: "boolean", JSONType: "boolean"}, true, true},
		{zoho.Field{APIName: "Budget", DataType: "currency", JSONType: "double"}, true, true},
		{zoho.Field{APIName: "Visited", DataType: "datetime", JSONType: "string"}, true, true},
		{zoho.Field{APIName: "Score", DataType: "rating", JSONType: "integer"}, false, true}, // a type this list does not know
		{zoho.Field{APIName: "Full_Name", DataType: "text", JSONType: "string", ReadOnly: true}, false, false},
		{zoho.Field{APIName: "Owner", DataType: "ownerlookup", JSONType: "jsonobject"}, false, false},
		{zoho.Field{APIName: "Layout", DataType: "layout", JSONType: "jsonobject"}, false, false},
		{zoho.Field{APIName: "Tag", DataType: "text", JSONType: "string"}, false, false}, // system by name, whatever its type
		{zoho.Field{APIName: "Created_Source", DataType: "text", JSONType: "string"}, false, false},
		{zoho.Field{APIName: "Modified_Note", DataType: "text", JSONType: "string"}, false, false},
		{zoho.Field{APIName: "Record_Status__s", DataType: "picklist", JSONType: "string"}, false, false},
		{zoho.Field{APIName: "Account_Name", DataType: "lookup", JSONType: "jsonobject"}, false, false},
		{zoho.Field{APIName: "Interests", DataType: "multiselectpicklist", JSONType: "jsonarray"}, false, false},
		{zoho.Field{APIName: "Number", DataType: "autonumber", JSONType: "string"}, false, false},
		{zoho.Field{APIName: "Total", DataType: "formula", JSONType: "double"}, false, false},
		{zoho.Field{APIName: "Odd", DataType: "text", JSONType: "jsonobject"}, false, false},
	} {
		if ordinary(tc.f) != tc.ord || settableWhenNamed(tc.f) != tc.named {
			t.Errorf("%+v: ordinary %v, when named %v", tc.f, ordinary(tc.f), settableWhenNamed(tc.f))
		}
	}
}

func TestCoerce(t *testing.T) {
	typed := func(dt, jt string, length int) zoho.Field {
		return zoho.Field{APIName: "F", DataType: dt, JSONType: jt, Length: length}
	}
	for _, tc := range []struct {
		f       zoho.Field
		in      any
		want    any
		problem string
	}{
		{typed("text", "string", 5), "hello", "hello", ""},
		{typed("text", "string", 5), "hello!", nil, "too_long"},
		{typed("text", "string", 2), "éé", "éé", ""},
		{typed("text", "string", 0), json.Number("12"), nil, "invalid"},
		{typed("phone", "string", 30), true, nil, "invalid"},
		{typed("text", "string", 0), []any{"a"}, nil, "invalid"},
		{typed("text", "string", 0), map[string]any{"id": "1"}, nil, "invalid"},
		{typed("email", "string", 0), "a@x.io", "a@x.io", ""},
		{typed("email", "string", 0), "nope", nil, "invalid"},
		{typed("integer", "integer", 0), "12", json.Number("12"), ""},
		{typed("integer", "integer", 0), " +12 ", json.Number("12"), ""},
		{typed("integer", "integer", 0), json.Number("-3"), json.Number("-3"), ""},
		{typed("integer", "integer", 0), "1.5", nil, "invalid"},
		{typed("integer", "integer", 0), "twelve", nil, "invalid"},
		{typed("bigint", "integer", 0), "9007199254740993", json.Number("9007199254740993"), ""},
		{typed("currency", "double", 0), "100", json.Number("100"), ""},
		{typed("currency", "double", 0), "12.50", json.Number("12.50"), ""},
		{typed("double", "double", 0), "+1.", json.Number("1"), ""},
		{typed("percent", "double", 0), ".5", json.Number("0.5"), ""},
		{typed("double", "double", 0), "1e400", nil, "invalid"},
		{typed("double", "double", 0), "NaN", nil, "invalid"},
		{typed("double", "double", 0), "0x10", nil, "invalid"},
		{typed("currency", "double", 0), "1,000", nil, "invalid"},
		{typed("boolean", "boolean", 0), "on", true, ""},
		{typed("boolean", "boolean", 0), "FALSE", false, ""},
		{typed("boolean", "boolean", 0), false, false, ""},
		{typed("boolean", "boolean", 0), "maybe", nil, "invalid"},
		{typed("boolean", "boolean", 0), json.Number("1"), nil, "invalid"},
		{typed("date", "string", 0), "1815-12-10", "1815-12-10", ""},
		{typed("date", "string", 0), "10/12/1815", nil, "invalid"},
		{typed("datetime", "string", 0), "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00", ""},
		{typed("datetime", "string", 0), "2026-01-02T03:04:05.123+01:00", "2026-01-02T03:04:05+01:00", ""},
		{typed("datetime", "string", 0), "2026-01-02 03:04", nil, "invalid"},
		{typed("picklist", "string", 0), "Web Download", "Web Download", ""},
		{typed("rating", "integer", 0), "4", json.Number("4"), ""}, // an unknown type, by its JSON type
	} {
		got, problem := coerce(tc.in, tc.f)
		if !reflect.DeepEqual(got, tc.want) || problem != tc.problem {
			t.Errorf("coerce(%#v, %s) = %#v %q, want %#v %q", tc.in, tc.f.DataType, got, problem, tc.want, tc.problem)
		}
	}
}

func TestMappingTargetsAndAllowedFields(t *testing.T) {
	set := newFieldSet(testFields("Leads"), false)
	// A target the org does not have: 422 naming it (only when used).
	m := mapFields("Leads", Fields{"last_name": "L", "budget2": "10"}, set, Rules{Mapping: map[string]string{"budget2": "Budget_2"}})
	if !reflect.DeepEqual(m.Problems, map[string]string{"Budget_2": "unknown_field"}) {
		t.Errorf("problems %v", m.Problems)
	}
	if m := mapFields("Leads", Fields{"last_name": "L"}, set, Rules{Mapping: map[string]string{"budget2": "Budget_2"}}); m.Problems != nil {
		t.Errorf("an unused mapping: %v", m.Problems)
	}
	// A wrong type for a target: 422 naming the target.
	m = mapFields("Leads", Fields{"last_name": "L", "b": "lots"}, set, Rules{Mapping: map[string]string{"b": "Budget"}})
	if !reflect.DeepEqual(m.Problems, map[string]string{"Budget": "invalid"}) {
		t.Errorf("problems %v", m.Problems)
	}
	// allowed_fields: only those (and the mapping's targets) reach Zoho;
	// one the org lacks is a 422 when posted.
	m = mapFields("Leads", Fields{"last_name": "L", "email": "a@x.io", "phone": "1", "b": "5", "Email_Opt_Out": "true"}, set,
		Rules{Mapping: map[string]string{"b": "Budget"}, Allowed: []string{"Last_Name", "Email"}})
	if !reflect.DeepEqual(m.Record, zoho.Record{"Last_Name": "L", "Email": "a@x.io", "Budget": json.Number("5")}) ||
		!reflect.DeepEqual(m.Ignored, []string{"Email_Opt_Out", "phone"}) || m.Problems != nil {
		t.Errorf("allowed: %#v %v %v", m.Record, m.Ignored, m.Problems)
	}
	m = mapFields("Leads", Fields{"last_name": "L", "favourite_colour": "red"}, set, Rules{Allowed: []string{"Last_Name", "Favourite_Colour"}})
	if !reflect.DeepEqual(m.Problems, map[string]string{"Favourite_Colour": "unknown_field"}) {
		t.Errorf("allowed and unknown: %v", m.Problems)
	}
	// A mandatory field the connection does not allow cannot be set: Zoho would refuse.
	if m := mapFields("Leads", Fields{"email": "a@x.io"}, set, Rules{Allowed: []string{"Email"}}); m.Problems["Last_Name"] != "required" {
		t.Errorf("%v", m.Problems)
	}
	// Org fields in another spelling.
	m = mapFields("Leads", Fields{"last_name": "L", "email_opt_out": "yes", "BUDGET": "1"}, set, Rules{})
	if !reflect.DeepEqual(m.Record, zoho.Record{"Last_Name": "L", "Email_Opt_Out": true, "Budget": json.Number("1")}) {
		t.Errorf("%#v", m.Record)
	}
}

// The fields API is asked once per connection and module per FieldsTTL;
// concurrent misses share one call.
func TestFieldsAreCached(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	var mu sync.Mutex
	w.svc.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	release := make(chan struct{})
	w.crm.fields = func(_, module string) ([]zoho.Field, error) {
		<-release
		return testFields(module), nil
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			w.h.Handle(context.Background(), w.request("application/json", `{"last_name":"P`+itoa(i)+`"}`))
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if w.crm.fieldCalls != 1 || w.crm.count() != 6 {
		t.Fatalf("%d fields calls for 6 submissions (%d writes)", w.crm.fieldCalls, w.crm.count())
	}
	w.post(t, w.request("application/json", `{"last_name":"Contact"}`, withQuery("module=Contacts")))
	if w.crm.fieldCalls != 2 {
		t.Fatalf("another module: %d fields calls", w.crm.fieldCalls)
	}
	mu.Lock()
	now = now.Add(9 * time.Minute)
	mu.Unlock()
	w.post(t, w.request("application/json", `{"last_name":"Later"}`))
	if w.crm.fieldCalls != 2 {
		t.Fatalf("within the TTL: %d fields calls", w.crm.fieldCalls)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	w.post(t, w.request("application/json", `{"last_name":"After"}`))
	if w.crm.fieldCalls != 3 {
		t.Fatalf("after the TTL: %d fields calls", w.crm.fieldCalls)
	}
	// Zoho refusing data drops the module's copy: the next one reads again.
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return nil, &zoho.APIError{StatusCode: 400, Code: "INVALID_DATA", Details: map[string]any{"api_name": "Budget"}}
	}
	w.post(t, w.request("application/json", `{"last_name":"Refused"}`))
	w.crm.answer = nil
	w.post(t, w.request("application/json", `{"last_name":"Next"}`))
	if w.crm.fieldCalls != 4 {
		t.Fatalf("after INVALID_DATA: %d fields calls", w.crm.fieldCalls)
	}
}

// A custom field the org added is known by its type, and a wrong value
// for it is a 422 before Zoho is called.
func TestCustomFieldsFromTheOrg(t *testing.T) {
	w := newWorld(t)
	status, body := w.post(t, w.request("application/json", `{"last_name":"L","budget":"a lot"}`))
	if fields, _ := body["fields"].(map[string]any); status != 422 || fields["Budget"] != "invalid" || w.crm.count() != 0 {
		t.Fatalf("%d %v", status, body)
	}
	if len(w.idem.m) != 0 {
		t.Fatal("a refused submission was claimed")
	}
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"L","budget":"1000"}`)); status != 201 || w.crm.calls[0].Record["Budget"] != json.Number("1000") {
		t.Fatalf("%d %+v", status, w.crm.calls)
	}
}

// A token without the fields API's scope (connections made before it was
// a default): the standard fields stand in, the connection stays active,
// and the fields API is not asked again within FieldsTTL.
func TestFieldsScopeMissingUsesStandardFields(t *testing.T) {
	w := newWorld(t)
	w.crm.fields = func(string, string) ([]zoho.Field, error) {
		return nil, &zoho.APIError{StatusCode: 401, Code: "OAUTH_SCOPE_MISMATCH"}
	}
	status, body := w.post(t, w.request("application/json", `{"last_name":"L","email":"a@x.io","Budget":"5","Owner":"x","No_of_Employees":"7"}`))
	if status != 201 || !reflect.DeepEqual(body["ignored_fields"], []any{"Budget", "Owner"}) {
		t.Fatalf("%d %v", status, body)
	}
	if rec := w.crm.calls[0].Record; !reflect.DeepEqual(rec, zoho.Record{"Last_Name": "L", "Email": "a@x.io", "No_of_Employees": json.Number("7")}) {
		t.Errorf("record %#v", rec)
	}
	if c, _ := w.conns.Get(context.Background(), w.conn.ID); c.Status != connection.Active {
		t.Fatalf("status %s", c.Status)
	}
	w.post(t, w.request("application/json", `{"last_name":"M"}`))
	if w.crm.fieldCalls != 1 {
		t.Fatalf("%d fields calls", w.crm.fieldCalls)
	}
	// A target the connection names passes, untyped: Zoho judges it.
	w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.FieldMapping = map[string]string{"budget": "Budget"}
		return nil
	})
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"N","budget":"9"}`)); status != 201 || w.crm.calls[2].Record["Budget"] != "9" {
		t.Fatalf("%d %+v", status, w.crm.calls[2])
	}
}

// Zoho cannot list the fields now and no copy is at hand: the submission
// is queued as posted (202) and mapped when it is delivered; a copy older
// than FieldsTTL serves meanwhile when there is one.
func TestFieldsUnavailable(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	down := true
	w.crm.fields = func(_, module string) ([]zoho.Field, error) {
		if down {
			return nil, zoho.ErrUnavailable
		}
		return testFields(module), nil
	}
	status, body := w.post(t, w.request("application/json", `{"last_name":"L","budget":"12","submit":"go"}`))
	if status != 202 || w.crm.count() != 0 {
		t.Fatalf("%d %v", status, body)
	}
	e := w.idem.only(t)
	if q, err := readQueued(e.Record); err != nil || q.Fields["budget"] != "12" || q.Fields["submit"] != "go" {
		t.Fatalf("queued %s: %v", e.Record, err)
	}
	msgs := w.queue.take()
	if len(msgs) != 1 || !jittered(msgs[0].delay, 30*time.Second) {
		t.Fatalf("messages %+v", msgs)
	}
	// Still down: retried.
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh", 1)); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("%+v", resp)
	}
	down = false
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh", 2)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v", resp)
	}
	if rec := w.crm.calls[0].Record; !reflect.DeepEqual(rec, zoho.Record{"Last_Name": "L", "Budget": json.Number("12")}) {
		t.Fatalf("delivered %#v", rec)
	}
	// A copy past its TTL serves while the fields API is down.
	now = now.Add(11 * time.Minute)
	down = true
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"Stale"}`)); status != 201 {
		t.Fatalf("with a stale copy: %d", status)
	}
	// A queued submission Zoho would refuse once its fields are known: to
	// the dead-letter queue.
	w2 := newWorld(t)
	w2.crm.fields = func(string, string) ([]zoho.Field, error) { return nil, zoho.ErrUnavailable }
	if status, _ := w2.post(t, w2.request("application/json", `{"last_name":"L","budget":"lots"}`)); status != 202 {
		t.Fatal(status)
	}
	w2.crm.fields = nil
	m := w2.queue.take()[0].m
	if resp := w2.h.HandleSQS(context.Background(), sqsEvent(m, "rh", 1)); len(resp.BatchItemFailures) != 1 || w2.queue.delayed["rh"] != 0 {
		t.Fatalf("%+v", resp)
	}
	if e := w2.idem.only(t); e.State != Rejected || e.LastError != "invalid_submission" || w2.crm.count() != 0 {
		t.Fatalf("entry %+v", e)
	}
}

// A connection waiting for re-authorization asks Zoho nothing, fields
// included: the submission is held as posted.
func TestReauthRequiredAsksNoFields(t *testing.T) {
	w := newWorld(t)
	w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.ReauthRequired, "x", time.Now())
		return nil
	})
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 || w.crm.fieldCalls != 0 || w.crm.count() != 0 {
		t.Fatalf("%d, %d fields calls", status, w.crm.fieldCalls)
	}
}

// While the fields API fails, submissions waiting for one call take its
// outcome: one call, however many wait.
func TestFieldsOutageCostsOneCall(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	w.crm.fields = func(string, string) ([]zoho.Field, error) {
		<-release
		return nil, zoho.ErrUnavailable
	}
	var wg sync.WaitGroup
	statuses := make(chan int, 5)
	for i := range 5 {
		wg.Go(func() {
			statuses <- w.h.Handle(context.Background(), w.request("application/json", `{"last_name":"P`+itoa(i)+`"}`)).StatusCode
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 202 {
			t.Errorf("status %d", s)
		}
	}
	if w.crm.fieldCalls != 1 || w.crm.count() != 0 {
		t.Fatalf("%d fields calls, %d writes", w.crm.fieldCalls, w.crm.count())
	}
}
