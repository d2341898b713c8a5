//go:build integration

package submission_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// An org's daily credits run out in the middle of a day's submissions:
// what Zoho refuses with 429 is held (the org's slots, in the
// concurrency table) and waits in fresh messages, never counting toward
// the dead-letter queue; after the simulator's clock (and sync's) passes
// the 24-hour window, everything is delivered, once, and nothing is
// dead-lettered.
func TestDailyCreditsRunOutAndEverythingIsDeliveredAfterTheWindow(t *testing.T) {
	h := newHarness(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	// Sync and the refresh it asks for share the moved clock (a token's
	// expiry is written on the refresh's and read on sync's).
	h.sync.Service.Now, h.refresh.Service.Now = now, now
	h.sync.Service.Timings.BusyDelay = time.Millisecond
	advance := func(d time.Duration) {
		offset.Add(int64(d))
		h.Sim.Advance(d)
	}
	u := h.Sim.AddUser(zohosim.User{Location: "eu", FullName: "Owner Person",
		Orgs: []zohosim.Org{{Environment: zoho.Production, Edition: "Free", Credits: 12}}})
	c := h.reconnect(t, conn{user: u})
	if st := h.Sim.OrgStats(c.OrgID); st.CreditLimit != 12 || st.Concurrency != 5 {
		t.Fatalf("org limits %+v", st)
	}
	stored, err := h.store.Get(context.Background(), c.ID)
	if err != nil || stored.Edition != "free" || submission.ConcurrencyOf(stored) != 5 {
		t.Fatalf("the connection's edition at connect time: %+v %v", stored, err)
	}

	const n = 30
	created, queued := 0, 0
	for i := range n {
		status, body, _ := h.send(t, post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
			body: fmt.Sprintf(`{"email":"credit.%d@example.com","first_name":"Grace","last_name":"Hopper %d"}`, i, i)})
		switch status {
		case 201:
			created++
		case 202:
			queued++
		default:
			t.Fatalf("submission %d: %d %v", i, status, body)
		}
	}
	st := h.Sim.OrgStats(c.OrgID)
	if created == 0 || queued == 0 || created+queued != n || st.CreditsUsed != 12 {
		t.Fatalf("%d created, %d queued; org %+v", created, queued, st)
	}
	// One 429 held the org: the rest were queued without a call.
	if st.Refused != 1 {
		t.Fatalf("%d calls refused: after the first 429 nobody should call the org", st.Refused)
	}

	dlq := &submissionstore.MessageQueue{SQS: h.Env.SQS, URL: h.Env.Queues["SubmissionDeadLetterQueue"]}
	drainAll := func(what string) {
		t.Helper()
		for range 4 { // every message seen once or more (10 a receive)
			got, failed := h.drain(t)
			if len(failed) != 0 {
				for _, l := range strings.Split(h.Logs.String(), "\n") {
					if strings.Contains(l, "will retry") || strings.Contains(l, "queue message to retry") || strings.Contains(l, "\"level\":\"ERROR\"") {
						t.Log(l)
					}
				}
				t.Fatalf("%s: %d messages failed (counted toward the dead-letter queue)", what, len(failed))
			}
			if got == 0 {
				return
			}
			if len(h.records(c, "Leads")) == n {
				return
			}
		}
	}
	// The hold, then the hours after it: every look finds Zoho still
	// refusing (one call per hold), and the submissions wait.
	drainAll("while held")
	for hour := 1; hour <= 23; hour++ {
		advance(time.Hour)
		drainAll(fmt.Sprintf("hour %d", hour))
		if got := len(h.records(c, "Leads")); got != created {
			t.Fatalf("hour %d: %d records, want %d (credits are spent)", hour, got, created)
		}
	}
	refusedInWindow := h.Sim.OrgStats(c.OrgID).Refused
	if refusedInWindow > 1+23 {
		t.Fatalf("%d calls refused over the day: one probe per hold at most", refusedInWindow)
	}

	// Past the window: delivered.
	advance(90 * time.Minute)
	for i := 0; i < 100 && len(h.records(c, "Leads")) < n; i++ {
		got, failed := h.drain(t)
		if len(failed) != 0 {
			for _, l := range strings.Split(h.Logs.String(), "\n") {
				if strings.Contains(l, "will retry") || strings.Contains(l, "\"level\":\"ERROR\"") {
					t.Log(l)
				}
			}
			t.Fatalf("after the window: %d failures", len(failed))
		}
		if got == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	recs := h.records(c, "Leads")
	seen := map[string]int{}
	for _, r := range recs {
		e, _ := r["Email"].(string)
		seen[e]++
	}
	for i := range n {
		if seen[fmt.Sprintf("credit.%d@example.com", i)] != 1 {
			t.Fatalf("submission %d delivered %d times (%d records)", i, seen[fmt.Sprintf("credit.%d@example.com", i)], len(recs))
		}
	}
	if dead, err := dlq.Receive(context.Background(), 10, time.Second, time.Second); err != nil || len(dead) != 0 {
		t.Fatalf("dead-lettered: %d %v", len(dead), err)
	}
	t.Logf("%d created at once, %d queued; %d calls refused over the day; %d writes in all (%v records a write)",
		created, queued, refusedInWindow, len(h.Sim.OrgStats(c.OrgID).RecordsPerCall), h.Sim.OrgStats(c.OrgID).RecordsPerCall)
}
