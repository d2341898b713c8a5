package submission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// limitedWorld is a world whose org (edition) shares slots in slots, on a
// clock the test moves.
func limitedWorld(t *testing.T, edition string) (*world, *memSlots, *atomic.Int64) {
	t.Helper()
	w := newWorld(t)
	slots := &memSlots{lease: map[string]memLease{}}
	w.svc.Limiter = Limiter{Slots: slots}
	var offset atomic.Int64
	w.svc.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	if _, err := w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.Edition = edition
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.conn.Edition = edition
	return w, slots, &offset
}

// takeAll leases every slot of w's org to someone else.
func takeAll(t *testing.T, w *world, slots *memSlots, n int) {
	t.Helper()
	now := w.svc.Now.Now()
	for i := range n {
		if err := slots.Take(context.Background(), SlotKey(orgPool(&w.conn), i), "other", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrencyOf(t *testing.T) {
	for _, tc := range []struct {
		edition  string
		override int
		want     int
	}{
		{"free", 0, 5}, {"Standard", 0, 10}, {"professional", 0, 15}, {"enterprise", 0, 20}, {"ultimate", 0, 25},
		{"", 0, DefaultConcurrency}, {"developer", 0, DefaultConcurrency}, {"free", 2, 2}, {"ultimate", 8, 8},
	} {
		if got := ConcurrencyOf(&connection.Connection{Edition: tc.edition, ConcurrencyLimit: tc.override}); got != tc.want {
			t.Errorf("%q override %d: %d, want %d", tc.edition, tc.override, got, tc.want)
		}
	}
}

func TestNoFreeSlotQueuesWithoutCallingZoho(t *testing.T) {
	w, slots, _ := limitedWorld(t, "free")
	w.svc.fields.m = nil
	// The module's fields are known (a warm instance).
	if status, _ := w.post(t, w.request("application/json", `{"email":"b@example.com","name":"B"}`)); status != 201 {
		t.Fatalf("first submission: %d", status)
	}
	calls := w.crm.count()
	takeAll(t, w, slots, 5)
	status, body := w.post(t, w.request("application/json", leadJSON))
	if status != 202 || body["status"] != "queued" {
		t.Fatalf("no free slot: %d %v", status, body)
	}
	if w.crm.count() != calls {
		t.Fatal("Zoho was called without a slot")
	}
	msgs := w.queue.take()
	if len(msgs) != 1 || !jittered(msgs[0].delay, 15*time.Second) {
		t.Fatalf("messages %+v", msgs)
	}
	// Still busy: the consumer sends it again, counts no failure, calls no one.
	resp := w.h.HandleSQS(context.Background(), sqsEvent(msgs[0].m, "b-1", 1))
	again := w.queue.take()
	if len(resp.BatchItemFailures) != 0 || len(again) != 1 || again[0].m.Looks != 1 || again[0].m.HeldSince == 0 ||
		!jittered(again[0].delay, 30*time.Second) || w.crm.count() != calls {
		t.Fatalf("busy consumer: failures %+v, sent %+v, calls %d", resp.BatchItemFailures, again, w.crm.count()-calls)
	}
	// The slots free: delivered.
	for i := range 5 {
		_ = slots.Release(context.Background(), SlotKey(orgPool(&w.conn), i), "other")
	}
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(again[0].m, "b-2", 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	if e := w.idem.get(t, again[0].m.Key); e.State != Done || e.Attempts != 1 {
		t.Fatalf("entry %+v", e)
	}
	if len(slots.lease) != 0 {
		t.Fatalf("slots left leased: %v", slots.lease)
	}
}

func TestRateLimited429HoldsTheOrgOutsideTheReceiveCount(t *testing.T) {
	w, slots, offset := limitedWorld(t, "free")
	limited := true
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		if limited {
			return nil, &zoho.APIError{StatusCode: 429, Code: "TOO_MANY_REQUESTS"}
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "77"}}, nil
	}
	status, _ := w.post(t, w.request("application/json", leadJSON))
	msgs := w.queue.take()
	if status != 202 || len(msgs) != 1 {
		t.Fatalf("429: %d, %+v", status, msgs)
	}
	// Every slot of the org is held: nobody calls it now.
	now := w.svc.Now.Now()
	for i := range 5 {
		if err := slots.Take(context.Background(), SlotKey(orgPool(&w.conn), i), "x", now, now.Add(time.Second)); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("slot %d after a 429: %v", i, err)
		}
	}
	calls := w.crm.count()
	m := msgs[0].m
	// A held org is known from the first slot tried: one write, not five.
	slots.mu.Lock()
	slots.takes = 0
	slots.mu.Unlock()
	for look := 1; look <= 12; look++ { // receive count 1 each time: fresh messages
		if look == 2 && slots.takes != 1 {
			t.Fatalf("a look at a held org tried %d slots, want 1", slots.takes)
		}
		resp := w.h.HandleSQS(context.Background(), sqsEvent(m, fmt.Sprintf("h-%d", look), 1))
		again := w.queue.take()
		if len(resp.BatchItemFailures) != 0 || len(again) != 1 || w.crm.count() != calls {
			t.Fatalf("look %d: failures %+v, sent %+v", look, resp.BatchItemFailures, again)
		}
		if !jittered(again[0].delay, min(15*time.Second<<look, 15*time.Minute)) {
			t.Fatalf("look %d: delay %v", look, again[0].delay)
		}
		m = again[0].m
	}
	// The hold ends (5 min, jittered); Zoho still refuses once, holds again;
	// then takes it.
	offset.Add(int64(6 * time.Minute))
	w.h.HandleSQS(context.Background(), sqsEvent(m, "h-x", 1))
	if w.crm.count() != calls+1 {
		t.Fatalf("after the hold: %d calls", w.crm.count()-calls)
	}
	m = w.queue.take()[0].m
	offset.Add(int64(6 * time.Minute))
	limited = false
	if resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "h-y", 1)); len(resp.BatchItemFailures) != 0 {
		t.Fatal(resp.BatchItemFailures)
	}
	if e := w.idem.get(t, m.Key); e.State != Done || e.RecordID != "77" {
		t.Fatalf("entry %+v", e)
	}
}

func TestHeldLongerThanHoldForIsDeadLettered(t *testing.T) {
	w, slots, offset := limitedWorld(t, "free")
	takeAll(t, w, slots, 5)
	status, _ := w.post(t, w.request("application/json", leadJSON))
	m := w.queue.take()[0].m
	if status != 202 {
		t.Fatal(status)
	}
	m.HeldSince = w.svc.Now.Now().Unix()
	offset.Add(int64(8 * 24 * time.Hour))
	takeAll(t, w, slots, 5)
	resp := w.h.HandleSQS(context.Background(), sqsEvent(m, "old", 1))
	if len(resp.BatchItemFailures) != 1 || len(w.queue.take()) != 0 {
		t.Fatalf("held 8 days: failures %+v", resp.BatchItemFailures)
	}
	e := w.idem.get(t, m.Key)
	if e.State != Rejected || e.LastError != "held_too_long" || e.Cause() != CauseConnection {
		t.Fatalf("entry %+v", e)
	}
}

// queueN queues n submissions of w (Zoho down), and brings Zoho back.
func queueN(t *testing.T, w *world, n int, body func(i int) string) []Message {
	t.Helper()
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, zoho.ErrUnavailable }
	// Fields known first: the queued entries are mapped at delivery.
	for i := range n {
		if status, _ := w.post(t, w.request("application/json", body(i))); status != 202 {
			t.Fatalf("submission %d: %d", i, status)
		}
	}
	var msgs []Message
	for _, s := range w.queue.take() {
		msgs = append(msgs, s.m)
	}
	w.crm.mu.Lock()
	w.crm.answer, w.crm.calls, w.crm.batches = nil, nil, nil
	w.crm.mu.Unlock()
	return msgs
}

func batchEvent(msgs []Message) events.SQSEvent {
	var ev events.SQSEvent
	for i, m := range msgs {
		ev.Records = append(ev.Records, sqsEvent(m, fmt.Sprintf("r-%d", i), 1).Records[0])
		ev.Records[i].MessageId = fmt.Sprintf("m-%d", i)
	}
	return ev
}

func TestQueuedSubmissionsGoInBatches(t *testing.T) {
	w, slots, _ := limitedWorld(t, "free")
	msgs := queueN(t, w, 30, func(i int) string { return fmt.Sprintf(`{"email":"p%d@example.com","name":"P %d"}`, i, i) })
	// One of them Zoho already knows: the note (on_duplicate's default).
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		if rec["Email"] == "p7@example.com" {
			return []zoho.RecordResult{{Code: "DUPLICATE_DATA", Field: "Email", ID: "555"}}, nil
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "new"}}, nil
	}
	resp := w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	if fmt.Sprint(w.crm.batches) != "[30]" || fmt.Sprint(w.crm.ops()) != "[insert note]" {
		t.Fatalf("calls %v, batches %v", w.crm.ops(), w.crm.batches)
	}
	for i, m := range msgs {
		e := w.idem.get(t, m.Key)
		if e.State != Done || (i == 7) != (e.RecordID == "555") || e.Attempts != 1 {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	// A second look at the same messages: nothing more.
	w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if w.crm.count() != 2 || len(slots.lease) != 0 {
		t.Fatalf("calls %d, slots %v", w.crm.count(), slots.lease)
	}
}

func TestBatchesKeepTheSubConcurrency(t *testing.T) {
	w, slots, _ := limitedWorld(t, "ultimate")
	msgs := queueN(t, w, 25, func(i int) string { return fmt.Sprintf(`{"email":"q%d@example.com","name":"Q %d"}`, i, i) })
	w.h.HandleSQS(context.Background(), batchEvent(msgs[:15]))
	if fmt.Sprint(w.crm.batches) != "[15]" {
		t.Fatalf("a free bulk slot: batches %v", w.crm.batches)
	}
	// Every bulk slot taken: 10 records a call (not counted as bulk).
	now := w.svc.Now.Now()
	for i := range zoho.BulkWriteRecords {
		_ = slots.Take(context.Background(), SlotKey(bulkPool(&w.conn), i), "other", now, now.Add(time.Minute))
	}
	w.crm.batches = nil
	w.h.HandleSQS(context.Background(), batchEvent(msgs[15:]))
	if fmt.Sprint(w.crm.batches) != "[10]" {
		t.Fatalf("no bulk slot: batches %v", w.crm.batches)
	}
}

// Many instances (services) sharing the slots never have more calls in
// flight for one org than its limit.
func TestInstancesShareTheLimit(t *testing.T) {
	w, slots, _ := limitedWorld(t, "free")
	var inFlight, most atomic.Int32
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "1"}}, nil
	}
	var wg sync.WaitGroup
	var created, queued atomic.Int32
	for i := range 60 {
		svc := &Service{Connections: w.svc.Connections, Tokens: w.svc.Tokens, Keys: w.svc.Keys, Refresher: w.svc.Refresher,
			NewCRM: w.svc.NewCRM, Idempotency: w.svc.Idempotency, Queue: w.svc.Queue, Log: w.svc.Log, Limiter: Limiter{Slots: slots}}
		h := &Handler{Service: svc, Log: w.svc.Log, MaxBodyBytes: 65536}
		wg.Go(func() {
			resp := h.Handle(context.Background(), w.request("application/json", fmt.Sprintf(`{"email":"r%d@example.com","name":"R"}`, i)))
			switch resp.StatusCode {
			case 201:
				created.Add(1)
			case 202:
				queued.Add(1)
			default:
				t.Errorf("%d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	wg.Wait()
	if most.Load() > 5 || most.Load() == 0 || created.Load()+queued.Load() != 60 {
		t.Fatalf("most in flight %d (limit 5); %d created, %d queued", most.Load(), created.Load(), queued.Load())
	}
	t.Logf("most in flight %d; %d created, %d queued", most.Load(), created.Load(), queued.Load())
}

// A whole batch refused (a request-level 4xx) is sent again a record at
// a time: only the record Zoho refuses alone is rejected.
func TestARefusedBatchIsSentAgainRecordByRecord(t *testing.T) {
	w, _, _ := limitedWorld(t, "free")
	msgs := queueN(t, w, 4, func(i int) string { return fmt.Sprintf(`{"email":"s%d@example.com","name":"S %d"}`, i, i) })
	w.crm.mu.Lock()
	w.crm.answer = nil
	w.crm.mu.Unlock()
	bad := &zoho.APIError{StatusCode: 400, Code: "INVALID_DATA", Details: map[string]any{"api_name": "Email"}}
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		if rec["Email"] == "s2@example.com" {
			return nil, bad
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "ok"}}, nil
	}
	resp := w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-2" {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	if fmt.Sprint(w.crm.batches) != "[4 1 1 1 1]" {
		t.Fatalf("batches %v", w.crm.batches)
	}
	for i, m := range msgs {
		e := w.idem.get(t, m.Key)
		if (i == 2) != (e.State == Rejected) || (i != 2 && e.State != Done) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
}
