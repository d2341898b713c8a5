package submission

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// blindZoho answers inserts as a Zoho whose duplicate check does not
// compare the records of one call with each other (undocumented: it may
// be so): a record meets only those of earlier calls, by Email trimmed
// and case-insensitively.
func blindZoho(w *world) map[string]string {
	var mu sync.Mutex
	known := map[string]string{} // Email: id
	madeIn := map[string]int{}   // Email: the call that created it
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		w.crm.mu.Lock()
		call := len(w.crm.batches)
		w.crm.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		email, _ := rec["Email"].(string)
		email = strings.ToLower(strings.TrimSpace(email))
		if id, ok := known[email]; ok && madeIn[email] < call {
			return []zoho.RecordResult{{Code: "DUPLICATE_DATA", Field: "Email", ID: id}}, nil
		}
		id := fmt.Sprintf("rec-%d", len(known)+1)
		if _, ok := known[email]; ok {
			id = fmt.Sprintf("twin-%d", call)
		} else {
			known[email], madeIn[email] = id, call
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: id}}, nil
	}
	return known
}

// A person who submitted three times while Zoho was down (the same Email,
// cased and spaced apart) gets one record and two Notes, even from a Zoho
// blind to duplicates within one insert: their records go in successive
// calls.
func TestSameEmailInOneBatchGoesInSuccessiveCalls(t *testing.T) {
	w, _, _ := limitedWorld(t, "free")
	emails := []string{"ada@example.com", "bob@example.com", " ADA@example.com ", "cy@example.com", "Ada@Example.com"}
	msgs := queueN(t, w, len(emails), func(i int) string {
		return fmt.Sprintf(`{"email":%q,"name":"P %d"}`, emails[i], i)
	})
	blindZoho(w)
	resp := w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	if fmt.Sprint(w.crm.batches) != "[3 1 1]" || fmt.Sprint(w.crm.ops()) != "[insert insert note insert note]" {
		t.Fatalf("calls %v, batches %v", w.crm.ops(), w.crm.batches)
	}
	first := w.idem.get(t, msgs[0].Key).RecordID
	for i, m := range msgs {
		e := w.idem.get(t, m.Key)
		if e.State != Done || (i%2 == 0) != (e.RecordID == first) {
			t.Fatalf("entry %d: %+v (first %s)", i, e, first)
		}
	}
}

// create has no duplicate check: one call, however the Emails repeat.
func TestSameEmailInOneBatchWithCreateIsOneCall(t *testing.T) {
	w, _, _ := limitedWorld(t, "free")
	w.setOnDuplicate(t, OnDuplicateCreate)
	msgs := queueN(t, w, 3, func(i int) string { return fmt.Sprintf(`{"email":"ada@example.com","name":"P %d"}`, i) })
	resp := w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if len(resp.BatchItemFailures) != 0 || fmt.Sprint(w.crm.batches) != "[3]" || fmt.Sprint(w.crm.ops()) != "[insert]" {
		t.Fatalf("failures %+v, calls %v, batches %v", resp.BatchItemFailures, w.crm.ops(), w.crm.batches)
	}
}

func TestRounds(t *testing.T) {
	rec := func(email any) *pending {
		return &pending{d: delivery{Record: zoho.Record{"Email": email, "Last_Name": "x"}}}
	}
	ps := []*pending{rec("a@x"), rec("A@X "), rec(nil), rec(""), rec("b@x"), rec("a@x"), rec("b@x")}
	var got []string
	for _, r := range rounds(ps, []string{"Email"}) {
		var s []string
		for _, p := range r {
			s = append(s, fmt.Sprint(p.d.Record["Email"]))
		}
		got = append(got, strings.Join(s, ","))
	}
	if want := "[a@x,<nil>,,b@x A@X ,b@x a@x]"; fmt.Sprint(got) != want {
		t.Fatalf("rounds %v, want %v", got, want)
	}
	if n := len(rounds(ps, nil)); n != 1 {
		t.Fatalf("no check: %d rounds", n)
	}
}

// BenchmarkRounds: splitting a full batch (100 records) by Email, all
// distinct or half of them twice.
func BenchmarkRounds(b *testing.B) {
	for _, twice := range []bool{false, true} {
		ps := make([]*pending, MaxBatchRecords)
		for i := range ps {
			n := i
			if twice {
				n = i / 2
			}
			ps[i] = &pending{d: delivery{Record: zoho.Record{"Email": fmt.Sprintf("Person.%d@Example.com ", n)}}}
		}
		b.Run(map[bool]string{false: "distinct", true: "pairs"}[twice], func(b *testing.B) {
			for b.Loop() {
				if r := rounds(ps, []string{"Email"}); len(r) != map[bool]int{false: 1, true: 2}[twice] {
					b.Fatalf("%d rounds", len(r))
				}
			}
		})
	}
}
