//go:build integration

package submission_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// Separate instances of the function (each its own Service, its own
// caches), sharing only the stack, never have more calls in flight for
// one Free org than its 5: the slots are in DynamoDB. What finds no slot
// is queued, and the queue delivers it in batches, each once.
func TestInstancesKeepTheOrgsConcurrencyThroughTheTable(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Location: "eu", FullName: "Owner Person", Orgs: []zohosim.Org{{Environment: zoho.Production, Edition: "Free"}}})
	c := h.reconnect(t, conn{user: u})
	// Calls last long enough to overlap, as at Zoho.
	h.Sim.Inject(zohosim.Fault{Path: "/crm/v8/*", Latency: 40 * time.Millisecond})

	h.Env.Setenv(t, "SyncFunction")
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if scfg.ConcurrencyTable != h.Env.Tables["ConcurrencyTable"] {
		t.Fatalf("CONCURRENCY_TABLE %q", scfg.ConcurrencyTable)
	}
	instances := make([]*submission.Handler, 8)
	for i := range instances {
		hi, err := syncfn.New(scfg, h.Env.Config, h.Log)
		if err != nil {
			t.Fatal(err)
		}
		hi.Service.Refresher = localrun.InProcessRefresher{Handler: h.refresh}
		hi.Service.Timings.RetryDelay, hi.Service.Timings.HoldDelay, hi.Service.Timings.BusyDelay = time.Millisecond, time.Millisecond, time.Millisecond
		instances[i] = hi
	}
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ans, err := instances[i%len(instances)].Service.Submit(context.Background(), submission.Request{
				ConnectionID: c.ID, Method: "POST", Path: "/connections/" + c.ID + "/submissions",
				Credentials: submission.ParseCredentials("Bearer "+c.Key, ""), ContentType: "application/json",
				Body: []byte(fmt.Sprintf(`{"email":"inst.%d@example.com","last_name":"Instance %d"}`, i, i)),
			})
			if err != nil {
				t.Errorf("submission %d: %v", i, err)
			}
			statuses[i] = ans.Status
		})
	}
	wg.Wait()
	created, queued := 0, 0
	for i, s := range statuses {
		switch s {
		case 201:
			created++
		case 202:
			queued++
		default:
			t.Fatalf("submission %d answered %d", i, s)
		}
	}
	if st := h.Sim.OrgStats(c.OrgID); st.MaxConcurrent > 5 || st.Refused != 0 || queued == 0 {
		t.Fatalf("%d created, %d queued; org %+v", created, queued, st)
	}
	for i := 0; i < 40 && len(h.records(c, "Leads")) < n; i++ {
		if _, failed := h.drain(t); len(failed) != 0 {
			t.Fatalf("%d messages failed", len(failed))
		}
	}
	seen := map[string]int{}
	for _, r := range h.records(c, "Leads") {
		e, _ := r["Email"].(string)
		seen[e]++
	}
	for i := range n {
		if seen[fmt.Sprintf("inst.%d@example.com", i)] != 1 {
			t.Fatalf("submission %d delivered %d times", i, seen[fmt.Sprintf("inst.%d@example.com", i)])
		}
	}
	st := h.Sim.OrgStats(c.OrgID)
	batched := 0
	for _, r := range st.RecordsPerCall {
		if r > 1 {
			batched++
		}
	}
	if st.MaxConcurrent > 5 || st.Refused != 0 || batched == 0 {
		t.Fatalf("after the drain: org %+v", st)
	}
	dlq := &submissionstore.MessageQueue{SQS: h.Env.SQS, URL: h.Env.Queues["SubmissionDeadLetterQueue"]}
	if dead, err := dlq.Receive(context.Background(), 10, time.Second, time.Second); err != nil || len(dead) != 0 {
		t.Fatalf("dead-lettered: %d %v", len(dead), err)
	}
	t.Logf("%d created, %d queued; highest concurrency %d; writes %v", created, queued, st.MaxConcurrent, st.RecordsPerCall)
}
