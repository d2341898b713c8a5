//go:build integration

package submission_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A submission held past its seven days is rejected and dead-lettered
// (SQS's redrive, maxReceiveCount 8) without a Zoho call, its record kept.
// The list shows why; a replay while the org still needs re-authorization
// leaves it; once the customer connected again, the replay re-queues it
// and the consumer delivers it to Zoho, once.
func TestReplayDeliversASubmissionHeldPastItsWindow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.connect(t, "us", zoho.Sandbox)
	rt, err := h.vault.RefreshToken(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.Sim.RevokeRefreshToken(rt)
	if _, err := h.store.Update(ctx, c.ID, func(x *connection.Connection) error {
		x.TokenExpiresAt = time.Now().Add(5 * time.Minute).UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json", body: `{"email":"late@example.com","last_name":"Late"}`}
	s, body, _ := h.send(t, p)
	if s != 202 {
		t.Fatalf("%d %v", s, body)
	}
	writes := h.crmWrites()

	// Eight days later, still waiting: rejected, then to the dead-letter
	// queue by SQS itself.
	h.sync.Service.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	for i := 0; ; i++ {
		n, failed := h.drain(t)
		if n == 0 {
			break
		}
		if i > 12 || len(failed) != n {
			t.Fatalf("look %d: %d handled, %d failed", i, n, len(failed))
		}
		h.expose(t, failed)
	}
	h.sync.Service.Now = nil
	if h.crmWrites() != writes || len(h.records(c, "Leads")) != 0 {
		t.Fatal("Zoho was called for a held submission")
	}

	entries := &submissionstore.IdempotencyStore{DB: h.Env.DynamoDB, Table: h.Env.Tables["IdempotencyTable"]}
	svc := &admin.Service{
		DeadLetters: &submissionstore.MessageQueue{SQS: h.Env.SQS, URL: h.Env.Queues["SubmissionDeadLetterQueue"]},
		Submissions: &submissionstore.MessageQueue{SQS: h.Env.SQS, URL: h.queueURL},
		Entries:     entries,
		Connections: awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"]),
	}
	ds, err := svc.ListDeadLetters(ctx, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("dead letters %+v %v", ds, err)
	}
	if e := ds[0].Entry; ds[0].SubmissionID != body["submission_id"] || e == nil || e.State != "rejected" || e.LastError != "reauth_timeout" {
		t.Fatalf("listed %+v, entry %+v", ds[0], ds[0].Entry)
	}

	// Not yet: the org still needs re-authorization.
	done, err := svc.Replay(ctx, admin.ReplayOptions{})
	if err != nil || len(done) != 1 || done[0].Replayed != "" || done[0].Left == "" {
		t.Fatalf("replay before reconnect: %+v %v", done, err)
	}

	h.reconnect(t, c)
	done, err = svc.Replay(ctx, admin.ReplayOptions{ID: ds[0].MessageID})
	if err != nil || len(done) != 1 || done[0].Replayed != "requeued" {
		t.Fatalf("replay after reconnect: %+v %v", done, err)
	}
	if n, failed := h.drain(t); n != 1 || len(failed) != 0 {
		t.Fatalf("delivery: %d handled, %d failed", n, len(failed))
	}
	recs := h.records(c, "Leads")
	if len(recs) != 1 || recs[0]["Email"] != "late@example.com" || h.crmWrites() != writes+1 {
		t.Fatalf("records %v, %d writes", recs, h.crmWrites()-writes)
	}
	if n, _ := h.drain(t); n != 0 {
		t.Fatal("messages left in the submission queue")
	}
	if ds, err := svc.ListDeadLetters(ctx, 10); err != nil || len(ds) != 0 {
		t.Fatalf("dead letters left %+v %v", ds, err)
	}
	// Replaying again finds nothing, and Zoho has one record.
	if _, err := svc.Replay(ctx, admin.ReplayOptions{ID: ds[0].MessageID}); !errors.Is(err, admin.ErrMessageNotFound) {
		t.Fatalf("replay again: %v", err)
	}
}
