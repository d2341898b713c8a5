package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/internal/benchstack"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

var debugDrain = os.Getenv("SYNCBENCH_DEBUG") != ""

// handlerTime sums the consumers' time in HandleSQS (the function's
// invocations), apart from receiving and deleting on the local SQS.
var handlerTime atomic.Int64

type burstOptions struct {
	N, Instances, Consumers int
	Limit                   bool
	Latency                 time.Duration
}

type burstEnv struct {
	sim                *zohosim.Server
	orgID, connID, key string
	meter              *benchstack.Meter
	queues             map[string]string
	sqs                *sqs.Client
	newHandler         func() (*submission.Handler, error)
}

// benchTimings shorten the waits (a busy org's first 15 s, a failure's
// 30 s): the bench counts calls and concurrency, and a drain at
// production delays would mostly measure SQS's delays.
func benchTimings(h *submission.Handler, limit bool) {
	h.Service.Timings.BusyDelay = time.Second
	h.Service.Timings.RetryDelay = time.Second
	if !limit {
		h.Service.Limiter = submission.Limiter{}
	}
}

// runBurst sends bo.N submissions at once through bo.Instances handler
// instances, drains the queue through bo.Consumers consumers, and checks
// what Zoho received.
func runBurst(ctx context.Context, bo burstOptions, env burstEnv) error {
	if bo.Instances < 1 || bo.Consumers < 1 {
		return errors.New("-instances and -consumers must be at least 1")
	}
	newHandlers := func(n int) ([]*submission.Handler, error) {
		hs := make([]*submission.Handler, n)
		for i := range hs {
			h, err := env.newHandler()
			if err != nil {
				return nil, err
			}
			benchTimings(h, bo.Limit)
			hs[i] = h
		}
		return hs, nil
	}
	takers, err := newHandlers(bo.Instances)
	if err != nil {
		return err
	}
	consumers, err := newHandlers(bo.Consumers)
	if err != nil {
		return err
	}
	stats0 := env.sim.OrgStats(env.orgID)
	if stats0.Concurrency != 5 {
		return fmt.Errorf("the org's concurrency limit is %d, want Free's 5", stats0.Concurrency)
	}
	env.meter.Reset()

	// The burst.
	var mu sync.Mutex
	statuses := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, h := range takers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= bo.N {
					return
				}
				resp := h.Handle(ctx, burstRequest(env, i))
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	burstTime := time.Since(start)
	fmt.Printf("\nburst: %d submissions at one Free-edition org (concurrency 5) through %d handler instances, limiter %v, %v a CRM call\n", bo.N, bo.Instances, onOff(bo.Limit), bo.Latency)
	fmt.Printf("  answered in %v: %s\n", burstTime.Round(time.Millisecond), statusLine(statuses))
	if n := statuses[201] + statuses[200] + statuses[202]; n != bo.N {
		return fmt.Errorf("%d of %d submissions accepted (201/200/202): %s", n, bo.N, statusLine(statuses))
	}
	afterBurst := env.sim.OrgStats(env.orgID)

	// The drain, as Lambda's poller does it: batches of up to 100, a
	// failed message left for its backoff, the rest deleted.
	qURL, dlqURL := env.queues["SubmissionQueue"], env.queues["SubmissionDeadLetterQueue"]
	drainStart := time.Now()
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	var batches, failures atomic.Int64
	var derr error
	var derrOnce sync.Once
	for _, h := range consumers {
		wg.Go(func() {
			for dctx.Err() == nil {
				n, failed, err := consumeOnce(dctx, env.sqs, qURL, h)
				if err != nil && dctx.Err() == nil {
					derrOnce.Do(func() { derr = err })
					stop()
					return
				}
				if n == 0 {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				batches.Add(1)
				failures.Add(int64(failed))
			}
		})
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		time.Sleep(250 * time.Millisecond)
		if derr != nil {
			break
		}
		waiting, err := queued(ctx, env.sqs, qURL)
		if err != nil {
			stop()
			wg.Wait()
			return err
		}
		if waiting == 0 && len(env.sim.Records(env.orgID, "Leads")) >= bo.N {
			break
		}
		if debugDrain {
			out, _ := env.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			fmt.Printf("  %v: records %d, queue %v\n", time.Since(drainStart).Round(time.Second), len(env.sim.Records(env.orgID, "Leads")), out.Attributes)
		}
		if time.Now().After(deadline) {
			stop()
			wg.Wait()
			return fmt.Errorf("not drained in 10 minutes: %d records, %d messages waiting", len(env.sim.Records(env.orgID, "Leads")), waiting)
		}
	}
	stop()
	wg.Wait()
	if derr != nil {
		return derr
	}
	drainTime := time.Since(drainStart)

	// What Zoho has, and what it was asked.
	recs := env.sim.Records(env.orgID, "Leads")
	seen := map[string]int{}
	for _, r := range recs {
		e, _ := r["Email"].(string)
		seen[e]++
	}
	var missing, twice int
	for i := range bo.N {
		switch seen[burstEmail(i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	st := env.sim.OrgStats(env.orgID)
	writes := st.RecordsPerCall[len(stats0.RecordsPerCall):]
	drainWrites := st.RecordsPerCall[len(afterBurst.RecordsPerCall):]
	dead, err := queued(ctx, env.sqs, dlqURL)
	if err != nil {
		return err
	}
	fmt.Printf("  drained in %v by %d consumers: %d batches, %d messages reported failed; the invocations' own time %v in all, %v a batch (the rest is the local SQS receiving and deleting)\n",
		drainTime.Round(time.Millisecond), bo.Consumers, batches.Load(), failures.Load(),
		time.Duration(handlerTime.Load()).Round(time.Millisecond), (time.Duration(handlerTime.Load()) / time.Duration(max(batches.Load(), 1))).Round(time.Millisecond))
	fmt.Printf("  Zoho: %d records for %d submissions (%d missing, %d more than once); highest concurrency %d (limit %d); %d calls refused 429\n",
		len(recs), bo.N, missing, twice, st.MaxConcurrent, st.Concurrency, st.Refused-stats0.Refused)
	fmt.Printf("  Zoho calls made: %d (%d during the burst, %d draining); writes %d: %s\n",
		st.Calls-stats0.Calls, afterBurst.Calls-stats0.Calls, st.Calls-afterBurst.Calls, len(writes), writeLine(writes))
	fmt.Printf("  draining's writes: %d, %s\n", len(drainWrites), writeLine(drainWrites))
	report(env.meter.Counts(), bo.N)
	fmt.Printf("  dead-lettered: %d\n", dead)

	var problems []string
	if missing > 0 || twice > 0 || len(recs) != bo.N {
		problems = append(problems, fmt.Sprintf("not exactly once: %d records, %d missing, %d twice", len(recs), missing, twice))
	}
	if st.MaxConcurrent > 5 {
		problems = append(problems, fmt.Sprintf("highest concurrency %d > 5", st.MaxConcurrent))
	}
	if bo.Limit && st.Refused != stats0.Refused {
		problems = append(problems, fmt.Sprintf("%d calls refused 429 with the limiter on", st.Refused-stats0.Refused))
	}
	if dead != 0 {
		problems = append(problems, fmt.Sprintf("%d dead-lettered", dead))
	}
	if len(problems) > 0 {
		return errors.New("burst: " + strings.Join(problems, "; "))
	}
	fmt.Println("  ok: every submission delivered exactly once, concurrency within the org's limit, nothing dead-lettered")
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func burstEmail(i int) string { return fmt.Sprintf("burst.%d@example.com", i) }

func burstRequest(env burstEnv, i int) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		RawPath:        "/connections/" + env.connID + "/submissions",
		Headers:        map[string]string{"content-type": "application/x-www-form-urlencoded", "authorization": "Bearer " + env.key},
		PathParameters: map[string]string{"connection_id": env.connID},
		Body: fmt.Sprintf("first_name=Ada&last_name=Burst%d&email=%s&company=Engines&message=%s",
			i, strings.ReplaceAll(burstEmail(i), "@", "%40"), strings.Repeat("Hello+there.+", 10)),
	}
	req.RequestContext.HTTP.Method = "POST"
	return req
}

func statusLine(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %d", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// writeLine sums up how many records each write carried.
func writeLine(w []int) string {
	if len(w) == 0 {
		return "none"
	}
	total, most := 0, 0
	for _, n := range w {
		total += n
		most = max(most, n)
	}
	return fmt.Sprintf("%d records, %.1f a write on average, at most %d", total, float64(total)/float64(len(w)), most)
}

// consumeOnce receives up to 100 messages (ten receives of ten, as the
// event source's batching window gathers them), invokes h with them, and
// deletes those not reported failed.
func consumeOnce(ctx context.Context, api *sqs.Client, url string, h *submission.Handler) (int, int, error) {
	var msgs []sqstypes.Message
	r0 := time.Now()
	defer func() {
		if debugDrain && len(msgs) > 0 {
			fmt.Printf("  a batch of %d received, handled and deleted in %v\n", len(msgs), time.Since(r0).Round(time.Millisecond))
		}
	}()
	for len(msgs) < submission.MaxBatchRecords {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 180,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return 0, 0, err
		}
		msgs = append(msgs, out.Messages...)
		if len(out.Messages) < 10 {
			break
		}
	}
	if len(msgs) == 0 {
		return 0, 0, nil
	}
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, EventSource: "aws:sqs",
		})
	}
	t0 := time.Now()
	resp := h.HandleSQS(ctx, ev)
	handlerTime.Add(int64(time.Since(t0)))
	if debugDrain {
		fmt.Printf("  a batch of %d handled in %v\n", len(msgs), time.Since(t0).Round(time.Millisecond))
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return 0, 0, err
		}
	}
	return len(msgs), len(failed), nil
}

// queued is every message of a queue: visible, in flight and delayed.
func queued(ctx context.Context, api *sqs.Client, url string) (int, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}

// report prints the AWS calls (by operation) and the Zoho round trips,
// per submission, counted since the last reset.
func report(c benchstack.Counts, n int) {
	fmt.Printf("  AWS calls per submission, burst and drain:%s\n", c.OpsPer(n))
	fmt.Printf("  Zoho HTTP round trips per submission: %.3f\n", float64(c.Trips[benchstack.Zoho])/float64(n))
}
