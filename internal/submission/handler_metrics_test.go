package submission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestSubmissionOutcome(t *testing.T) {
	for status, want := range map[int]string{201: "created", 200: "matched", 202: "queued", 422: "rejected",
		400: "refused", 401: "refused", 409: "refused", 413: "refused", 429: "refused", 500: "failed", 502: "failed"} {
		if got := submissionOutcome(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}

// queueOutcomes sums the queued submissions' Submissions lines of logs
// by Outcome.
func queueOutcomes(t *testing.T, logs *bytes.Buffer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Msg         string  `json:"msg"`
			Outcome     string  `json:"Outcome"`
			Submissions float64 `json:"Submissions"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if l.Msg == "queued submissions" {
			out[l.Outcome] += l.Submissions
		}
	}
	logs.Reset()
	return out
}

// A queued submission sent again to wait is counted as waiting (its org
// busy: no free slot, or a 429) or held (re-authorization), never as
// delivered; one found done already as already_done.
func TestQueueMetricsTellWaitingFromDelivered(t *testing.T) {
	w, slots, _ := limitedWorld(t, "free")
	var logs bytes.Buffer
	w.h.Metrics = &metrics.Emitter{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Stage: "test"}
	msgs := queueN(t, w, 2, func(i int) string { return fmt.Sprintf(`{"email":"m%d@example.com","name":"M %d"}`, i, i) })
	count := func(ev events.SQSEvent, want string) []sent {
		t.Helper()
		if resp := w.h.HandleSQS(context.Background(), ev); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v", resp.BatchItemFailures)
		}
		if got := fmt.Sprint(queueOutcomes(t, &logs)); got != want {
			t.Fatalf("outcomes %s, want %s", got, want)
		}
		return w.queue.take()
	}
	takeAll(t, w, slots, 5)
	again := count(batchEvent(msgs), "map[waiting:2]")
	for i := range 5 {
		_ = slots.Release(context.Background(), SlotKey(orgPool(&w.conn), i), "other")
	}
	// Zoho answers 429: the org held, both wait again.
	w.crm.answer = func(string, zoho.Record) ([]zoho.RecordResult, error) { return nil, zoho.ErrTooManyRequests }
	again = count(batchEvent([]Message{again[0].m, again[1].m}), "map[waiting:2]")
	slots.lease = map[string]memLease{}
	w.crm.answer = nil
	// The connection awaits re-authorization: held.
	if _, err := w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.ReauthRequired, "x", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again = count(batchEvent([]Message{again[0].m, again[1].m}), "map[held:2]")
	if _, err := w.conns.Update(context.Background(), w.conn.ID, func(c *connection.Connection) error {
		c.SetStatus(connection.Active, "", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ms := []Message{again[0].m, again[1].m}
	count(batchEvent(ms), "map[delivered:2]")
	count(batchEvent(ms), "map[already_done:2]")
}
