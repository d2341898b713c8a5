//go:build integration

package submission_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The rate limit through the real handler, its limit from the template's
// SubmissionsPerConnectionPerMinute, its counters in the idempotency
// table on DynamoDB Local: new submissions up to the limit, then 429 with
// Retry-After; a repeat still answered and not counted; each connection
// its own limit; racing submissions never past it.
func TestRateLimitPerConnection(t *testing.T) {
	h := newHarness(t, testenv.WithParameter("SubmissionsPerConnectionPerMinute", "3"))
	if got := h.sync.Service.RateLimit.PerMinute; got != 3 {
		t.Fatalf("the template's limit reached sync as %d", got)
	}
	// One instant for the whole test, so no window ends in the middle.
	now := time.Now()
	h.sync.Service.Now = func() time.Time { return now }
	window := now.UTC().Truncate(submission.RateWindow)
	wantRetry := strconv.Itoa((&submission.RateLimitedError{RetryAfter: window.Add(submission.RateWindow).Sub(now)}).RetryAfterSeconds())

	a := h.connect(t, "eu", zoho.Production)
	lead := func(c conn, i int) post {
		return post{conn: c.ID, auth: "bearer:" + c.Key, contentType: "application/json",
			body: fmt.Sprintf(`{"email":"p%d@example.com","last_name":"P%d"}`, i, i)}
	}
	var first string
	for i := range 3 {
		s, _, b := h.send(t, lead(a, i))
		if s != 201 {
			t.Fatalf("submission %d: %d %s", i, s, b)
		}
		if i == 0 {
			first = b
		}
	}
	resp := h.respond(t, lead(a, 3))
	if resp.StatusCode != 429 || resp.Headers["Retry-After"] != wantRetry {
		t.Fatalf("over the limit: %d Retry-After %q (want 429 %s) %s", resp.StatusCode, resp.Headers["Retry-After"], wantRetry, resp.Body)
	}
	if s, body, _ := h.send(t, lead(a, 3)); s != 429 || body["error"] != "rate_limited" {
		t.Fatalf("over the limit again: %d %v", s, body)
	}
	// A repeat is answered from its entry, limit spent or not.
	if s, _, b := h.send(t, lead(a, 0)); s != 201 || b != first {
		t.Fatalf("repeat: %d %s, want 201 %s", s, b, first)
	}
	if got := len(h.records(a, "Leads")); got != 3 {
		t.Fatalf("%d records, want 3", got)
	}
	if n := counter(t, h, a.ID, window); n != 3 {
		t.Fatalf("counter %d, want 3: repeats and refusals count nothing", n)
	}

	// Another connection has its own limit; racing submissions to it are
	// accepted exactly up to it.
	b := h.connect(t, "eu", zoho.Production)
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s, _, _ := h.send(t, lead(b, 100+i))
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[201] != 3 || statuses[429] != 5 {
		t.Fatalf("racing submissions answered %v, want 3 201 and 5 429", statuses)
	}
	if got := len(h.records(b, "Leads")); got != 3 {
		t.Fatalf("%d records of the racing connection, want 3", got)
	}

	// The next window has room again.
	now = window.Add(submission.RateWindow + time.Second)
	if s, _, body := h.send(t, lead(a, 3)); s != 201 {
		t.Fatalf("next window: %d %s", s, body)
	}
}

func counter(t *testing.T, h *harness, id string, window time.Time) int {
	t.Helper()
	out, err := h.Env.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(h.Env.Tables["IdempotencyTable"]),
		Key:            map[string]types.AttributeValue{"idempotency_key": &types.AttributeValueMemberS{Value: submissionstore.RateCounterKey(id, window)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item["count"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("counter item %v", out.Item)
	}
	v, _ := strconv.Atoi(n.Value)
	return v
}
