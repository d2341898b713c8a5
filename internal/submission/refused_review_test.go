package submission

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A refused batch is sent again record by record; a 429 on one of those
// holds the org, and no other record is sent to it in that run: the rest
// wait (queued again, not rejected, not counted as an attempt).
func TestARefusedBatchSentRecordByRecordStopsAtA429(t *testing.T) {
	w, _, _ := limitedWorld(t, "free")
	msgs := queueN(t, w, 4, func(i int) string { return fmt.Sprintf(`{"email":"r%d@example.com","name":"R %d"}`, i, i) })
	bad := &zoho.APIError{StatusCode: 400, Code: "INVALID_DATA", Details: map[string]any{"api_name": "Email"}}
	var n atomic.Int32
	w.crm.mu.Lock()
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		switch n.Add(1) {
		case 1: // the batch of 4, refused as a whole
			return nil, bad
		case 2: // the first record alone
			return nil, zoho.ErrTooManyRequests
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "ok"}}, nil
	}
	w.crm.mu.Unlock()
	resp := w.h.HandleSQS(context.Background(), batchEvent(msgs))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	if fmt.Sprint(w.crm.batches) != "[4 1]" {
		t.Fatalf("calls to a held org: batches %v, want [4 1]", w.crm.batches)
	}
	for i, m := range msgs {
		if e := w.idem.get(t, m.Key); e.State != Queued {
			t.Errorf("entry %d: %+v, want queued", i, e)
		}
	}
}
