package submission

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// dupAnswer is Zoho's answer to an insert of a person it knows.
func dupAnswer(id string) func(string, zoho.Record) ([]zoho.RecordResult, error) {
	return func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return []zoho.RecordResult{{Code: "DUPLICATE_DATA", Status: "error", ID: id, Field: "Email", DuplicateModule: "Contacts"}}, nil
	}
}

func (w *world) setOnDuplicate(t *testing.T, mode string) {
	t.Helper()
	if _, err := w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.OnDuplicate = mode
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

const hostile = "last_name=Attacker&phone=%2B1+555+0100&Email_Opt_Out=true&email=ada%40example.com&Owner=1&utm_source=x"

func TestOnDuplicateModes(t *testing.T) {
	for _, tc := range []struct {
		mode, action string
		ops          []string
		update       zoho.Record // what the update sets (nil: none)
	}{
		{"", "note_added", []string{"insert", "note"}, nil},
		{"note", "note_added", []string{"insert", "note"}, nil},
		// Phone was empty; Last_Name is kept, and no checkbox is set.
		{"fill_empty", "fields_filled", []string{"insert", "update"}, zoho.Record{"id": "42", "Phone": "+1 555 0100"}},
		{"update", "updated", []string{"insert", "update"}, zoho.Record{"id": "42", "Phone": "+1 555 0100", "Last_Name": "Attacker", "Email_Opt_Out": true}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			w := newWorld(t)
			w.setOnDuplicate(t, tc.mode)
			w.crm.answer = dupAnswer("42")
			// Email_Opt_Out unset (nil): fill_empty sets no checkbox all the same.
			w.crm.existing = zoho.Record{"Last_Name": "Lovelace", "Phone": nil}
			status, body := w.post(t, w.request("application/x-www-form-urlencoded", hostile, withQuery("module=Contacts")))
			if status != 200 || body["status"] != "matched" || body["action"] != tc.action || body["record_id"] != "42" || body["module"] != "Contacts" {
				t.Fatalf("got %d %v", status, body)
			}
			if got := body["ignored_fields"]; !reflect.DeepEqual(got, []any{"Owner", "utm_source"}) {
				t.Errorf("ignored_fields %v", got)
			}
			if ops := w.crm.ops(); !reflect.DeepEqual(ops, tc.ops) {
				t.Fatalf("calls %v, want %v", ops, tc.ops)
			}
			ins := w.crm.calls[0]
			if strings.Join(ins.Opts.DuplicateCheckFields, ",") != "Email" || strings.Join(ins.Opts.Trigger, ",") != "workflow" || ins.Record["Owner"] != nil {
				t.Errorf("insert %+v", ins)
			}
			last := w.crm.calls[len(w.crm.calls)-1]
			switch tc.ops[1] {
			case "note":
				content, _ := last.Record["Note_Content"].(string)
				for _, want := range []string{"last_name: Attacker", "phone: +1 555 0100", "Email_Opt_Out: true", "email: ada@example.com", "Owner: 1", "utm_source: x", "same Email"} {
					if !strings.Contains(content, want) {
						t.Errorf("the note lacks %q:\n%s", want, content)
					}
				}
				if last.Record["id"] != "42" || last.Module != "Contacts" {
					t.Errorf("note %+v", last)
				}
			case "update":
				if !reflect.DeepEqual(last.Record, tc.update) || last.Module != "Contacts" || strings.Join(last.Opts.Trigger, ",") != "workflow" {
					t.Errorf("update %#v, want %#v", last.Record, tc.update)
				}
			}
			if tc.mode == "fill_empty" {
				if g := w.crm.gets; len(g) != 1 || g[0].Record["id"] != "42" || !reflect.DeepEqual(g[0].Fields, []string{"Last_Name", "Phone"}) {
					t.Errorf("read %+v", g)
				}
			}
			// The repeat: the first answer, nothing more.
			if s2, b2 := w.post(t, w.request("application/x-www-form-urlencoded", hostile, withQuery("module=Contacts"))); s2 != 200 || b2["action"] != tc.action || len(w.crm.calls) != len(tc.ops) {
				t.Errorf("repeat: %d %v", s2, b2)
			}
			if strings.Contains(w.logText(), "Attacker") || strings.Contains(w.logText(), "555 0100") {
				t.Errorf("a submitted value is in the logs:\n%s", w.logText())
			}
		})
	}
}

func TestFillEmptyWithNothingEmpty(t *testing.T) {
	w := newWorld(t)
	w.setOnDuplicate(t, "fill_empty")
	w.crm.answer = dupAnswer("42")
	w.crm.existing = zoho.Record{"Last_Name": "Lovelace", "Phone": "+44 1", "Email_Opt_Out": false}
	status, body := w.post(t, w.request("application/x-www-form-urlencoded", hostile, withQuery("module=Contacts")))
	if status != 200 || body["action"] != "fields_filled" || !reflect.DeepEqual(w.crm.ops(), []string{"insert"}) {
		t.Fatalf("got %d %v, calls %v", status, body, w.crm.ops())
	}
}

func TestCreateIsAPlainInsert(t *testing.T) {
	w := newWorld(t)
	w.setOnDuplicate(t, "create")
	if status, body := w.post(t, w.request("application/json", leadJSON)); status != 201 || body["status"] != "created" {
		t.Fatalf("got %d %v", status, body)
	}
	if c := w.crm.calls[0]; c.Opts.DuplicateCheckFields != nil || c.Op != "insert" {
		t.Fatalf("call %+v", c)
	}
	// An org that refuses a duplicate of a unique field: the record is
	// kept, the submission goes to a note.
	w.crm.answer = dupAnswer("7")
	if status, body := w.post(t, w.request("application/json", `{"email":"ada@example.com","last_name":"Again"}`)); status != 200 || body["action"] != "note_added" {
		t.Fatalf("got %d %v", status, body)
	}
}

func TestDuplicateRefusals(t *testing.T) {
	// Zoho names no existing record: a duplicate it refuses.
	w := newWorld(t)
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		return []zoho.RecordResult{{Code: "DUPLICATE_DATA", Field: "Email"}}, nil
	}
	status, body := w.post(t, w.request("application/json", leadJSON))
	if fields, _ := body["fields"].(map[string]any); status != 422 || fields["Email"] != "duplicate" {
		t.Fatalf("got %d %v", status, body)
	}
	// Zoho refuses the note or the update: 422 with its field.
	w = newWorld(t)
	w.crm.answer = dupAnswer("42")
	w.crm.onNote = func(string) (zoho.RecordResult, error) {
		return zoho.RecordResult{Code: "INVALID_DATA", Field: "Note_Content"}, nil
	}
	status, body = w.post(t, w.request("application/json", leadJSON))
	if fields, _ := body["fields"].(map[string]any); status != 422 || fields["Note_Content"] != "invalid" {
		t.Fatalf("note refused: %d %v", status, body)
	}
	// The note fails now: queued, and the redelivery finds the duplicate again.
	w = newWorld(t)
	w.crm.answer = dupAnswer("42")
	down := true
	w.crm.onNote = func(string) (zoho.RecordResult, error) {
		if down {
			return zoho.RecordResult{}, zoho.ErrUnavailable
		}
		return zoho.RecordResult{Code: "SUCCESS", ID: "n1"}, nil
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
		t.Fatal(status)
	}
	down = false
	msgs := w.queue.take()
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "rh", 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v", resp)
	}
	if e := w.idem.only(t); e.State != Done || e.RecordID != "42" || e.DeliveredStatus != 200 {
		t.Fatalf("entry %+v", e)
	}
	if ops := w.crm.ops(); !reflect.DeepEqual(ops, []string{"insert", "note", "insert", "note"}) {
		t.Fatalf("calls %v", ops)
	}
	// The note of a queued submission holds what was posted, and when.
	content := w.crm.calls[3].Record["Note_Content"].(string)
	if !strings.Contains(content, "name: Ada Lovelace") || !strings.Contains(content, "message: hi") {
		t.Errorf("note %q", content)
	}
}

// A scope that does not cover the module: 422 module_not_permitted, the
// connection left active, its other modules still delivered.
func TestModuleNotPermitted(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		if _, ok := rec["Mailing_City"]; ok { // a Contacts record
			return nil, &zoho.APIError{StatusCode: 401, Code: "OAUTH_SCOPE_MISMATCH"}
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "1"}}, nil
	}
	status, body := w.post(t, w.request("application/json", `{"last_name":"L","city":"Paris"}`, withQuery("module=Contacts")))
	if status != 422 || body["error"] != "module_not_permitted" || !strings.Contains(body["message"].(string), "Contacts") {
		t.Fatalf("got %d %v", status, body)
	}
	if c, _ := w.conns.Get(context.Background(), w.conn.ID); c.Status != connection.Active {
		t.Fatalf("the connection is %s", c.Status)
	}
	if msgs := w.queue.take(); len(msgs) != 0 {
		t.Fatalf("queued: %+v", msgs)
	}
	if status, _ := w.post(t, w.request("application/json", `{"last_name":"L","city":"Paris"}`)); status != 201 {
		t.Fatalf("Leads after Contacts was refused: %d", status)
	}
	// A note the scopes do not cover names Notes.
	w = newWorld(t)
	w.crm.answer = dupAnswer("42")
	w.crm.onNote = func(string) (zoho.RecordResult, error) {
		return zoho.RecordResult{}, &zoho.APIError{StatusCode: 401, Code: "OAUTH_SCOPE_MISMATCH"}
	}
	status, body = w.post(t, w.request("application/json", leadJSON))
	if status != 422 || body["error"] != "module_not_permitted" || !strings.Contains(body["message"].(string), "Notes") {
		t.Fatalf("note: %d %v", status, body)
	}
	// From the queue: to the dead-letter queue, the connection active.
	w = newWorld(t)
	down := true
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		if down {
			return nil, zoho.ErrUnavailable
		}
		return nil, &zoho.APIError{StatusCode: 401, Code: "OAUTH_SCOPE_MISMATCH"}
	}
	if status, _ := w.post(t, w.request("application/json", leadJSON)); status != 202 {
		t.Fatal(status)
	}
	down = false
	m := w.queue.take()[0].m
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "rh", 1)); len(resp.BatchItemFailures) != 1 || w.queue.delayed["rh"] != 0 {
		t.Fatalf("%+v", resp)
	}
	if e := w.idem.only(t); e.State != Rejected || e.LastError != "module_not_permitted" {
		t.Fatalf("entry %+v", e)
	}
	if c, _ := w.conns.Get(context.Background(), w.conn.ID); c.Status != connection.Active {
		t.Fatalf("the connection is %s", c.Status)
	}
}

func TestNoteContent(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	got := noteContent(delivery{At: at, Fields: Fields{"b": "two\nlines", "a": json.Number("1"), "c": []any{"x", "y"}, "d": true, "e": " ", "f": map[string]any{"k": "v"}}}, "Email")
	want := "A submission matched this record (same Email) on 2026-05-04T03:02:01Z. The record was left as it was; what was submitted:\n\n" +
		"a: 1\nb: two\n    lines\nc: x, y\nd: true\nf: {\"k\":\"v\"}"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	long := noteContent(delivery{At: at, Fields: Fields{"a": strings.Repeat("é", 40000)}}, "")
	if n := len([]rune(long)); n > maxNote {
		t.Errorf("%d characters", n)
	}
}

func TestReadQueued(t *testing.T) {
	q, err := readQueued([]byte(`{"fields":{"email":"a@x.io","n":12}}`))
	if err != nil || q.Record != nil || q.Fields["n"] != json.Number("12") || q.Fields["email"] != "a@x.io" {
		t.Fatalf("%+v, %v", q, err)
	}
	// Entries queued before: the mapped record itself.
	q, err = readQueued([]byte(`{"Last_Name":"L","Email":"a@x.io"}`))
	if err != nil || q.Fields != nil || q.Record["Last_Name"] != "L" {
		t.Fatalf("%+v, %v", q, err)
	}
	for _, bad := range []string{``, `[]`, `null`, `{"fields":null}`, `{"fields":[1]}`} {
		if _, err := readQueued([]byte(bad)); err == nil {
			t.Errorf("%q read", bad)
		}
	}
}

// A submission queued by the version before (its entry holds the mapped
// record) is delivered as it is, with a note from that record.
func TestLegacyQueuedRecordIsDelivered(t *testing.T) {
	w := newWorld(t)
	w.crm.answer = dupAnswer("42")
	now := time.Now()
	e := Entry{Key: "b_legacy", ConnectionID: w.conn.ID, Module: "Leads", SubmissionID: "sub_1", State: Queued,
		Record: []byte(`{"Last_Name":"L","Email":"a@x.io"}`), QueuedAt: now, ExpiresAt: now.Add(time.Hour), MessageSent: true}
	w.idem.m[e.Key] = e
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(Message{Key: e.Key, ConnectionID: w.conn.ID, SubmissionID: "sub_1"}, "rh", 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v", resp)
	}
	if ops := w.crm.ops(); !reflect.DeepEqual(ops, []string{"insert", "note"}) || w.crm.calls[0].Record["Last_Name"] != "L" ||
		!strings.Contains(w.crm.calls[1].Record["Note_Content"].(string), "Last_Name: L") {
		t.Fatalf("calls %+v", w.crm.calls)
	}
	if w.crm.fieldCalls != 0 {
		t.Errorf("a mapped record asked for the fields")
	}
}
