package storetest

import (
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// Received is a message as the retry queue's consumer gets it.
type Received struct {
	Message       submission.Message
	ReceiptHandle string
}

// QueueProbe receives from the queue a Queue sends to, as the queue's
// consumer (SyncFunction's SQS event source) would: the messages visible
// now, each then hidden for a while.
type QueueProbe interface {
	Receive(t *testing.T) []Received
}

// RunQueueContract runs the retry queue's contract (submission.Queue:
// submissionstore.SubmissionQueue, and the in-memory one of submission's
// tests) against the queues newQueue makes (a fresh, empty one per call),
// each with its probe.
func RunQueueContract(t *testing.T, newQueue func(t *testing.T) (submission.Queue, QueueProbe)) {
	m := submission.Message{Key: "b_1", ConnectionID: "zc_1", SubmissionID: "sub_1"}

	t.Run("a message is delivered as sent, after its delay", func(t *testing.T) {
		q, probe := newQueue(t)
		// Moved from submissionstore's TestSubmissionQueue.
		if err := q.Send(ctx, m, time.Hour); err != nil { // capped at 15 min
			t.Fatal(err)
		}
		if err := q.Send(ctx, m, 0); err != nil {
			t.Fatal(err)
		}
		got := probe.Receive(t)
		if len(got) != 1 {
			t.Fatalf("%d messages visible, want 1 (the other is delayed)", len(got))
		}
		if got[0].Message != m {
			t.Fatalf("message %+v, want %+v", got[0].Message, m)
		}
		if again := probe.Receive(t); len(again) != 0 {
			t.Fatalf("a received message is visible again at once: %+v", again)
		}
		// Delay(0) makes it visible again.
		if err := q.Delay(ctx, got[0].ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
		if again := probe.Receive(t); len(again) != 1 || again[0].Message != m {
			t.Fatalf("not visible again after Delay(0): %+v", again)
		}
	})

	t.Run("a delayed message is hidden", func(t *testing.T) {
		q, probe := newQueue(t)
		if err := q.Send(ctx, m, -time.Second); err != nil { // no delay
			t.Fatal(err)
		}
		got := probe.Receive(t)
		if len(got) != 1 {
			t.Fatalf("%d messages visible, want 1", len(got))
		}
		// The consumer's backoff: 1, 2, 4 ... 60 minutes. (SQS counts its
		// 12-hour limit from the receive, so the adapter's cap at 12 hours
		// does not make any longer delay valid: none is asked.)
		for _, d := range []time.Duration{time.Minute, time.Hour} {
			if err := q.Delay(ctx, got[0].ReceiptHandle, d); err != nil {
				t.Fatalf("delay %v: %v", d, err)
			}
		}
		if again := probe.Receive(t); len(again) != 0 {
			t.Fatalf("a delayed message is visible: %+v", again)
		}
	})
}
