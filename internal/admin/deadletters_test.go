package admin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
