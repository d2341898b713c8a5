package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
)

// fakeQueue is an SQS queue in memory: received messages are hidden until
// deleted or released.
type fakeQueue struct {
	name     string
	j        *journal
	msgs     []submissionstore.QueueMessage
	hidden   map[string]bool // by receipt handle (= id here)
	sendErr  error
	received int
}

func newFakeQueue(name string, j *journal, n int) *fakeQueue {
	q := &fakeQueue{name: name, j: j, hidden: map[string]bool{}}
	for i := range n {
		id := fmt.Sprintf("m%d", i)
		q.msgs = append(q.msgs, submissionstore.QueueMessage{ID: id, ReceiptHandle: id, Body: fmt.Sprintf(`{"connection_id":"c%d"}`, i)})
	}
	return q
}

func (q *fakeQueue) Receive(_ context.Context, n int, _, _ time.Duration) ([]submissionstore.QueueMessage, error) {
	var out []submissionstore.QueueMessage
	for _, m := range q.msgs {
		if len(out) < n && !q.hidden[m.ReceiptHandle] {
			q.hidden[m.ReceiptHandle] = true
			m.ReceiveCount++
			out = append(out, m)
		}
	}
	q.received += len(out)
	return out, nil
}

func (q *fakeQueue) Send(_ context.Context, m submissionstore.QueueMessage) error {
	if q.sendErr != nil {
		return q.sendErr
	}
	q.j.add("send %s to %s", m.ID, q.name)
	q.msgs = append(q.msgs, submissionstore.QueueMessage{ID: "new-" + m.ID, ReceiptHandle: "new-" + m.ID, Body: m.Body})
	return nil
}

func (q *fakeQueue) Delete(_ context.Context, h string) error {
	q.j.add("delete %s from %s", h, q.name)
	for i, m := range q.msgs {
		if m.ReceiptHandle == h {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			delete(q.hidden, h)
			return nil
		}
	}
	return errors.New("no such receipt handle")
}

func (q *fakeQueue) Release(_ context.Context, h string) error {
	delete(q.hidden, h)
	return nil
}

func (q *fakeQueue) ApproximateCount(context.Context) (int, int, error) {
	return len(q.msgs) - len(q.hidden), len(q.hidden), nil
}

func (q *fakeQueue) ids() []string {
	var out []string
	for _, m := range q.msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestDescribeDeadLetterKeepsNoValues(t *testing.T) {
	body := `{"connection_id":"zc_0123456789abcdef01234567","submission_id":"s-1","module":"Leads",
		"fields":{"Email":"ana@example.eu","Last_Name":"Müller","Phone":"+49 30 555 777"},"idempotency_key":"b_abc"}`
	d := DescribeDeadLetter(submissionstore.QueueMessage{ID: "m", Body: body, ReceiveCount: 9})
	want := DeadLetter{MessageID: "m", ReceiveCount: 9, BodyBytes: len(body), JSON: true,
		ConnectionID: "zc_0123456789abcdef01234567", SubmissionID: "s-1", Module: "Leads", FieldNames: []string{"Email", "Last_Name", "Phone"}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("%+v\nwant %+v", d, want)
	}
	if s := fmt.Sprintf("%+v", d); strings.Contains(s, "ana@") || strings.Contains(s, "Müller") || strings.Contains(s, "555 777") {
		t.Fatalf("a value leaked: %s", s)
	}
}

func TestDescribeDeadLetterTolerates(t *testing.T) {
	for _, body := range []string{``, `not json`, `[1,2]`, `null`, `{"connection_id":5,"module":["x"],"fields":"a=b"}`, `{"record":{"A":1}}`} {
		d := DescribeDeadLetter(submissionstore.QueueMessage{ID: "m", Body: body})
		if d.ConnectionID != "" || d.Module != "" || d.BodyBytes != len(body) {
			t.Errorf("%q: %+v", body, d)
		}
		if body == `{"record":{"A":1}}` && !reflect.DeepEqual(d.FieldNames, []string{"A"}) {
			t.Errorf("%q: fields %v", body, d.FieldNames)
		}
	}
	d := DescribeDeadLetter(submissionstore.QueueMessage{Body: `{"connection_id":"zc_\u001b[31mred","module":"` + strings.Repeat("L", 300) + `"}`})
	if strings.ContainsRune(d.ConnectionID, 0x1b) || len(d.Module) > 110 {
		t.Fatalf("unsafe for a terminal: %q %d", d.ConnectionID, len(d.Module))
	}
}

func TestListDeadLettersReleasesWhatItRead(t *testing.T) {
	j := &journal{}
	dlq := newFakeQueue("dlq", j, 25)
	svc := &Service{DeadLetters: dlq}
	ds, err := svc.ListDeadLetters(context.Background(), 12)
	if err != nil || len(ds) != 12 {
		t.Fatalf("%d, %v", len(ds), err)
	}
	if len(dlq.hidden) != 0 || len(dlq.msgs) != 25 || len(*j) != 0 {
		t.Fatalf("listing changed the queue: hidden %d, %d messages, %q", len(dlq.hidden), len(dlq.msgs), *j)
	}
	if all, _ := svc.ListDeadLetters(context.Background(), 100); len(all) != 25 {
		t.Fatalf("listed %d of 25", len(all))
	}
}

func TestReplaySendsBeforeDeleting(t *testing.T) {
	j := &journal{}
	dlq, main := newFakeQueue("dlq", j, 3), newFakeQueue("main", j, 0)
	svc := &Service{DeadLetters: dlq, Submissions: main}
	done, err := svc.Replay(context.Background(), ReplayOptions{})
	if err != nil || len(done) != 3 {
		t.Fatalf("%d, %v", len(done), err)
	}
	want := []string{"send m0 to main", "delete m0 from dlq", "send m1 to main", "delete m1 from dlq", "send m2 to main", "delete m2 from dlq"}
	if !reflect.DeepEqual([]string(*j), want) {
		t.Fatalf("%q", *j)
	}
	if len(dlq.msgs) != 0 || len(main.msgs) != 3 || main.msgs[0].Body != `{"connection_id":"c0"}` {
		t.Fatalf("dlq %v, main %v", dlq.ids(), main.ids())
	}
}

func TestReplayMaxAndID(t *testing.T) {
	j := &journal{}
	dlq, main := newFakeQueue("dlq", j, 25), newFakeQueue("main", j, 0)
	svc := &Service{DeadLetters: dlq, Submissions: main}
	done, err := svc.Replay(context.Background(), ReplayOptions{Max: 12})
	if err != nil || len(done) != 12 || len(dlq.msgs) != 13 || len(dlq.hidden) != 0 {
		t.Fatalf("max 12: %d done, %v, %d left, %d hidden", len(done), err, len(dlq.msgs), len(dlq.hidden))
	}
	done, err = svc.Replay(context.Background(), ReplayOptions{ID: "m24"})
	if err != nil || len(done) != 1 || done[0].MessageID != "m24" || len(dlq.msgs) != 12 || len(dlq.hidden) != 0 {
		t.Fatalf("id m24: %v, %v, %d left, %d hidden", done, err, len(dlq.msgs), len(dlq.hidden))
	}
	done, err = svc.Replay(context.Background(), ReplayOptions{ID: "m24"})
	if !errors.Is(err, ErrMessageNotFound) || len(done) != 0 || len(dlq.msgs) != 12 || len(dlq.hidden) != 0 {
		t.Fatalf("gone m24: %v, %v, %d left, %d hidden", done, err, len(dlq.msgs), len(dlq.hidden))
	}
}

func TestReplayStopsWithNothingLostWhenSendFails(t *testing.T) {
	j := &journal{}
	dlq, main := newFakeQueue("dlq", j, 5), newFakeQueue("main", j, 0)
	main.sendErr = errors.New("throttled")
	svc := &Service{DeadLetters: dlq, Submissions: main}
	done, err := svc.Replay(context.Background(), ReplayOptions{})
	if err == nil || len(done) != 0 || len(dlq.msgs) != 5 || len(dlq.hidden) != 0 || len(*j) != 0 {
		t.Fatalf("%v, %v, dlq %v hidden %d, %q", done, err, dlq.ids(), len(dlq.hidden), *j)
	}
}

func TestPurgeDeadLetters(t *testing.T) {
	j := &journal{}
	dlq := newFakeQueue("dlq", j, 23)
	svc := &Service{DeadLetters: dlq}
	n, err := svc.PurgeDeadLetters(context.Background())
	if err != nil || n != 23 || len(dlq.msgs) != 0 {
		t.Fatalf("%d, %v, %d left", n, err, len(dlq.msgs))
	}
}

// fakeEntries is the idempotency table in memory, with Requeue's condition.
type fakeEntries struct {
	j *journal
	m map[string]submission.Entry
}

func (f *fakeEntries) Get(_ context.Context, key string) (*submission.Entry, error) {
	e, ok := f.m[key]
	if !ok {
		return nil, nil
	}
	return &e, nil
}

func (f *fakeEntries) Requeue(_ context.Context, e *submission.Entry) error {
	if f.m[e.Key].State != submission.Rejected {
		return submission.ErrClaimLost
	}
	f.j.add("requeue %s", e.Key)
	f.m[e.Key] = *e
	return nil
}

// replayWorld: a dead letter per entry key, the entries, one connection.
func replayWorld(t *testing.T, status connection.Status, entries ...submission.Entry) (*Service, *journal, *fakeQueue, *fakeQueue, *fakeEntries) {
	t.Helper()
	j := &journal{}
	dlq, main := newFakeQueue("dlq", j, 0), newFakeQueue("main", j, 0)
	fe := &fakeEntries{j: j, m: map[string]submission.Entry{}}
	for _, e := range entries {
		b, _ := json.Marshal(submission.Message{Key: e.Key, ConnectionID: e.ConnectionID, SubmissionID: e.SubmissionID})
		dlq.msgs = append(dlq.msgs, submissionstore.QueueMessage{ID: e.Key, ReceiptHandle: e.Key, Body: string(b)})
		if e.State != "" {
			fe.m[e.Key] = e
		}
	}
	conns := newFakeStore(j, connection.Connection{ID: "zc_1", Status: status})
	return &Service{DeadLetters: dlq, Submissions: main, Entries: fe, Connections: conns, Now: time.Now}, j, dlq, main, fe
}

func rejectedEntry(key, why string) submission.Entry {
	return submission.Entry{Key: key, ConnectionID: "zc_1", SubmissionID: "sub_" + key, State: submission.Rejected,
		Record: []byte(`{"fields":{"email":"x@example.com"}}`), Attempts: 4, LastError: why,
		HoldUntil: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(24 * time.Hour)}
}

func TestReplayRequeuesRejectedWhenTheCauseIsGone(t *testing.T) {
	svc, j, dlq, main, fe := replayWorld(t, connection.Active,
		rejectedEntry("held", "reauth_timeout"),
		rejectedEntry("refused", "zoho_rejected:INVALID_DATA"),
		submission.Entry{Key: "expired"}, // no entry stored
		rejectedEntry("norecord", "no_record"),
		submission.Entry{Key: "queued", ConnectionID: "zc_1", State: submission.Queued, Record: []byte(`{}`)},
	)
	done, err := svc.Replay(context.Background(), ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range done {
		got[d.MessageID] = d.Replayed + "|" + d.Left
	}
	if !strings.HasPrefix(got["held"], "requeued|") || !strings.HasPrefix(got["queued"], "sent|") ||
		!strings.Contains(got["refused"], "-include-refused") || !strings.Contains(got["expired"], "gone") ||
		!strings.Contains(got["norecord"], "no record") || len(done) != 5 {
		t.Fatalf("%q", got)
	}
	// The entry is re-queued before its message is sent, then deleted.
	want := []string{"requeue held", "send held to main", "delete held from dlq", "send queued to main", "delete queued from dlq"}
	if !reflect.DeepEqual([]string(*j), want) {
		t.Fatalf("%q", *j)
	}
	held := fe.m["held"]
	if held.State != submission.Queued || held.Attempts != 0 || !held.HoldUntil.After(time.Now().Add(6*24*time.Hour)) || string(held.Record) == "" {
		t.Fatalf("held entry: %+v", held)
	}
	if !reflect.DeepEqual(dlq.ids(), []string{"refused", "expired", "norecord"}) || len(dlq.hidden) != 0 || len(main.msgs) != 2 {
		t.Fatalf("dlq %v (%d hidden), main %v", dlq.ids(), len(dlq.hidden), main.ids())
	}

	// Asked for: the refused one too.
	*j = nil
	done, err = svc.Replay(context.Background(), ReplayOptions{ID: "refused", IncludeRefused: true})
	if err != nil || len(done) != 1 || done[0].Replayed != "requeued" || done[0].Entry.LastError != "zoho_rejected:INVALID_DATA" {
		t.Fatalf("%+v %v", done, err)
	}
	// The gone one, asked for by id: not replayable, left.
	done, err = svc.Replay(context.Background(), ReplayOptions{ID: "expired"})
	if !errors.Is(err, ErrNotReplayable) || len(done) != 1 || done[0].Replayed != "" || !reflect.DeepEqual(dlq.ids(), []string{"expired", "norecord"}) {
		t.Fatalf("%+v %v %v", done, err, dlq.ids())
	}
}

func TestReplayLeavesRejectedWhileTheConnectionWaits(t *testing.T) {
	svc, j, dlq, _, fe := replayWorld(t, connection.ReauthRequired, rejectedEntry("held", "reauth_timeout"))
	done, err := svc.Replay(context.Background(), ReplayOptions{})
	if err != nil || len(done) != 1 || !strings.Contains(done[0].Left, "reauth_required") || len(*j) != 0 {
		t.Fatalf("%+v %v %q", done, err, *j)
	}
	if fe.m["held"].State != submission.Rejected || len(dlq.msgs) != 1 || len(dlq.hidden) != 0 {
		t.Fatal("a replay changed what it left")
	}
}

func TestListDeadLettersShowsTheLastError(t *testing.T) {
	svc, _, _, _, _ := replayWorld(t, connection.Active, rejectedEntry("held", "reauth_timeout"), submission.Entry{Key: "expired"})
	ds, err := svc.ListDeadLetters(context.Background(), 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("%+v %v", ds, err)
	}
	if e := ds[0].Entry; e == nil || !e.Found || e.State != "rejected" || e.Attempts != 4 || e.LastError != "reauth_timeout" {
		t.Fatalf("held: %+v", ds[0].Entry)
	}
	if e := ds[1].Entry; e == nil || e.Found {
		t.Fatalf("expired: %+v", ds[1].Entry)
	}
	if s := fmt.Sprintf("%+v", *ds[0].Entry); strings.Contains(s, "x@example.com") {
		t.Fatalf("a value leaked: %s", s)
	}
}
