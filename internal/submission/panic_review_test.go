package submission

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A panic while one connection's messages are delivered (each connection
// of a batch is its own goroutine, where Lambda's runtime recovers
// nothing) fails that connection's messages, to be tried again, and
// nothing else: the process lives on, every other connection of the batch
// is delivered, and every concurrency slot is given back.
func TestAPanickingDeliveryFailsOnlyItsMessagesAndReleasesSlots(t *testing.T) {
	w, slots, _ := limitedWorld(t, "free")
	msgs := queueN(t, w, 2, func(i int) string { return fmt.Sprintf(`{"email":"p%d@example.com","name":"P %d"}`, i, i) })
	// The second message's submission belongs to another org's connection.
	other := w.conn
	other.ID, other.OrgID = connection.ID("eu", zoho.Sandbox, "778"), "778"
	w.conns.Put(other)
	w.vault.set(other.ID, connection.AccessToken{Token: "tok-other", ExpiresAt: time.Now().Add(time.Hour)})
	msgs[1].ConnectionID = other.ID
	w.crm.answer = func(_ string, rec zoho.Record) ([]zoho.RecordResult, error) {
		if rec["Email"] == "p0@example.com" {
			panic("a bug")
		}
		return []zoho.RecordResult{{Code: "SUCCESS", ID: "new"}}, nil
	}
	errs := w.svc.RedeliverBatch(context.Background(), msgs)
	if errs[0] == nil || errs[1] != nil {
		t.Fatalf("errors %v: want the panicking one failed, the other delivered", errs)
	}
	if e := w.idem.get(t, msgs[1].Key); e.State != Done {
		t.Errorf("the other connection's submission: %+v", e)
	}
	if len(slots.lease) != 0 {
		t.Errorf("slots still leased: %v", slots.lease)
	}
}
