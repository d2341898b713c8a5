// Command syncbench measures the sync function on a warm instance against
// the local stack (DynamoDB Local, moto) and the Zoho simulator at zero
// latency: the function's own time per submission, and the AWS calls (by
// service and operation) and Zoho calls each submission makes. The goal
// for a warm submission: three DynamoDB writes (the claim, the answer, the
// rate limit's counter), no Secrets Manager call, one Zoho call.
//
// Each new submission is measured twice, without the per-org limiter (the
// sync path as it was before it: -limit=false everywhere) and with it
// (one more PutItem and DeleteItem: a concurrency slot taken and given
// back), in one run so the two compare on one machine's load.
//
// -burst N instead bursts N submissions at one Free-edition org
// (concurrency 5) through -instances concurrent handler instances (each
// its own Service, as separate Lambda instances are), then drains the
// queue with -consumers concurrent consumers as Lambda's SQS poller would
// (batches of up to 100): it asserts every submission delivered exactly
// once, the simulator's highest concurrency for the org at most 5, no 429
// and nothing dead-lettered, and prints Zoho's calls and the time to
// drain (burst.go).
//
//	scripts/localstack.sh start && . .cache/localstack.env
//	go run ./cmd/syncbench -n 300
//	go run ./cmd/syncbench -burst 1000
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/benchstack"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

func main() {
	n := flag.Int("n", 300, "measured submissions")
	warm := flag.Int("warm", 20, "warm-up submissions (not measured)")
	burst := flag.Int("burst", 0, "burst this many submissions at one Free-edition org, then drain the queue (burst.go)")
	instances := flag.Int("instances", 50, "with -burst: concurrent handler instances taking the burst")
	consumers := flag.Int("consumers", 5, "with -burst: concurrent queue consumers (SyncQueueMaxConcurrency)")
	limit := flag.Bool("limit", true, "with -burst: the per-org concurrency limiter on (false: as before it)")
	latency := flag.Duration("crm-latency", 100*time.Millisecond, "with -burst: the simulator's time per CRM call (Zoho's is 100-300 ms), so that calls overlap as at Zoho")
	flag.Parse()
	if err := bench(*n, *warm, burstOptions{N: *burst, Instances: *instances, Consumers: *consumers, Limit: *limit, Latency: *latency}); err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

func bench(n, warm int, bo burstOptions) error {
	ctx := context.Background()
	stack, err := benchstack.Open(ctx)
	if err != nil {
		return err
	}
	cfg := stack.Config
	m := benchstack.NewMeter()
	cfg.APIOptions = append(cfg.APIOptions, m.CountOps)
	cfg.HTTPClient = &http.Client{Transport: m.Transport(benchstack.AWS)}
	db := dynamodb.NewFromConfig(cfg)
	sm := secretsmanager.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)

	client := zohosim.Client{ID: "1000.SYNCBENCH", Secret: randomHex(16), RedirectURIs: []string{"https://bench.example/oauth/callback"}}
	opts := zohosim.Options{Clients: []zohosim.Client{client}, Limits: zohosim.Limits{GrantCodesPer10Min: -1}}
	if bo.N > 0 {
		opts.CRMLatency = bo.Latency
	}
	sim := zohosim.New(opts)
	srv := httptest.NewServer(sim)
	defer srv.Close()

	d, err := stack.Deploy(ctx, samtemplate.Local{DynamoDB: db, SecretsManager: sm, SQS: sq}, benchstack.Options{
		Stage: "s" + randomHex(4), ClientID: client.ID, ClientSecret: client.Secret,
		Params: map[string]string{"ZohoEndpointOverride": srv.URL, "AllowAnonymousConnect": "true"}, Queues: true,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "syncbench: cleanup:", err)
		}
	}()
	log := logging.New(io.Discard, "info")
	if debugDrain {
		log = logging.New(os.Stderr, "warn")
	}
	setenv := func(fn string) error {
		env, err := d.FunctionEnvironment(stack.Template, fn)
		if err != nil {
			return err
		}
		for k, v := range env {
			os.Setenv(k, v)
		}
		return nil
	}

	// Connect one org through the real callback flow.
	if err := setenv("CallbackFunction"); err != nil {
		return err
	}
	ccfg, err := callbackfn.LoadConfig()
	if err != nil {
		return err
	}
	cb, err := callbackfn.New(ccfg, cfg, log)
	if err != nil {
		return err
	}
	edition := ""
	if bo.N > 0 {
		edition = "Free"
	}
	connID, key, orgID, err := connectOrg(ctx, sim, srv.URL, cb, edition)
	if err != nil {
		return err
	}

	if err := setenv("SyncFunction"); err != nil {
		return err
	}
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		return err
	}
	// The rate limit stays on, so its UpdateItem is measured, but far
	// above what one connection is sent here.
	scfg.SubmissionsPerMinute = 1 << 30
	h, err := syncfn.New(scfg, cfg, log)
	if err != nil {
		return err
	}
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL, Base: m.Transport(benchstack.Zoho)})
	if err != nil {
		return err
	}
	h.Service.NewCRM = syncfn.NewCRM(hc)
	if bo.N > 0 {
		return runBurst(ctx, bo, burstEnv{
			sim: sim, orgID: orgID, connID: connID, key: key, meter: m, queues: d.Queues,
			sqs: sq, newHandler: func() (*submission.Handler, error) {
				h, err := syncfn.New(scfg, cfg, log)
				if err != nil {
					return nil, err
				}
				h.Service.NewCRM = syncfn.NewCRM(hc)
				return h, nil
			},
		})
	}

	submit := func(i int, tag string) (int, error) {
		req := events.APIGatewayV2HTTPRequest{
			RawPath:        "/connections/" + connID + "/submissions",
			Headers:        map[string]string{"content-type": "application/x-www-form-urlencoded", "authorization": "Bearer " + key},
			PathParameters: map[string]string{"connection_id": connID},
			Body: fmt.Sprintf("first_name=Ada&last_name=Lovelace%s%d&email=ada.%s%d%%40example.com&company=Engines&phone=%%2B44+20+7946+0000&message=%s",
				tag, i, tag, i, strings.Repeat("Hello+there.+", 20)),
		}
		req.RequestContext.HTTP.Method = "POST"
		resp := h.Handle(ctx, req)
		if resp.StatusCode >= 300 {
			return resp.StatusCode, fmt.Errorf("submission %d answered %d: %s", i, resp.StatusCode, resp.Body)
		}
		return resp.StatusCode, nil
	}

	for i := range warm {
		if _, err := submit(i, "warm"); err != nil {
			return err
		}
	}
	type phase struct {
		name  string
		run   func(i int) error
		times []time.Duration
	}
	report := func(name string, count int, times []time.Duration, zohoCalls int, c benchstack.Counts) {
		var total time.Duration
		for _, t := range times {
			total += t
		}
		sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
		own := total - c.WaitAll()
		fmt.Printf("\n%s: %d warm submissions\n", name, count)
		fmt.Printf("  wall per submission: mean %v, p50 %v, p95 %v\n", (total / time.Duration(count)).Round(time.Microsecond),
			times[len(times)/2].Round(time.Microsecond), times[len(times)*95/100].Round(time.Microsecond))
		fmt.Printf("  of which waiting on AWS (local stack) %v, on Zoho (simulator) %v\n",
			(c.Wait[benchstack.AWS] / time.Duration(count)).Round(time.Microsecond), (c.Wait[benchstack.Zoho] / time.Duration(count)).Round(time.Microsecond))
		fmt.Printf("  function's own time per submission: %v\n", (own / time.Duration(count)).Round(time.Microsecond))
		fmt.Printf("  AWS calls per submission:%s\n", c.OpsPer(count))
		fmt.Printf("  Zoho calls per submission: %.2f\n", float64(zohoCalls)/float64(count))
	}

	// New submissions (each a new lead), alternately without the limiter
	// (the path as before it) and with it, so that both meet the same
	// load of this machine; each submission's calls and times are
	// tallied to its side.
	limiter := h.Service.Limiter
	sides := [2]*tally{newTally(), newTally()}
	for i := range 2 * n {
		side := sides[i%2]
		h.Service.Limiter = submission.Limiter{}
		if i%2 == 1 {
			h.Service.Limiter = limiter
		}
		m.Reset()
		crm0 := crmCalls(sim)
		t0 := time.Now()
		if _, err := submit(i, "new"); err != nil {
			return err
		}
		side.add(m, time.Since(t0), crmCalls(sim)-crm0)
	}
	h.Service.Limiter = limiter
	for k, name := range []string{"new submissions, no concurrency limiter (before)", "new submissions, with the concurrency limiter (after)"} {
		report(name, n, sides[k].times, sides[k].crm, sides[k].counts)
	}
	times := make([]time.Duration, 0, n)
	m.Reset()
	before := crmCalls(sim)

	// The same submissions again: answered from the idempotency table.
	for i := range n {
		t0 := time.Now()
		if _, err := submit(i, "new"); err != nil {
			return err
		}
		times = append(times, time.Since(t0))
	}
	report("repeated submissions", n, times, crmCalls(sim)-before, m.Counts())
	return nil
}

// tally is one side's sum of submissions.
type tally struct {
	counts benchstack.Counts
	times  []time.Duration
	crm    int
}

func newTally() *tally {
	return &tally{counts: benchstack.Counts{Ops: map[string]int{}, Wait: map[string]time.Duration{}, Trips: map[string]int{}}}
}

// add tallies what m counted for one submission.
func (t *tally) add(m *benchstack.Meter, d time.Duration, crm int) {
	t.counts.Add(m.Counts())
	t.times = append(t.times, d)
	t.crm += crm
}

func crmCalls(sim *zohosim.Server) int {
	n := 0
	for _, v := range sim.Stats().CRMRequests {
		n += v
	}
	return n
}

// connect runs /connect, the simulator's consent and /oauth/callback.
func connectOrg(ctx context.Context, sim *zohosim.Server, simURL string, cb *connect.Handler, edition string) (string, string, string, error) {
	u := sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Environment: zoho.Production, Edition: edition}}})
	get := func(path, q string) events.APIGatewayV2HTTPRequest {
		r := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: q, Headers: map[string]string{"accept": "application/json"}}
		r.RequestContext.HTTP.Method = "GET"
		return r
	}
	resp, err := cb.Handle(ctx, get("/connect", ""))
	if err != nil || resp.StatusCode != 302 {
		return "", "", "", fmt.Errorf("/connect answered %d: %v", resp.StatusCode, err)
	}
	// The browser's cookies from /connect go back with the callback (the
	// flow is bound to the browser that started it).
	var cookies []string
	for _, c := range resp.Cookies {
		nv, _, _ := strings.Cut(c, ";")
		cookies = append(cookies, nv)
	}
	consent, _ := url.Parse(resp.Headers["Location"])
	q := consent.Query()
	q.Set("sim_org", u.Orgs[0].ID)
	q.Set("sim_action", "accept")
	consent.RawQuery = q.Encode()
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: simURL})
	if err != nil {
		return "", "", "", err
	}
	r, err := hc.Get(consent.String())
	if err != nil {
		return "", "", "", err
	}
	r.Body.Close()
	back, _ := url.Parse(r.Header.Get("Location"))
	cbReq := get("/oauth/callback", back.RawQuery)
	cbReq.Cookies = cookies
	resp, err = cb.Handle(ctx, cbReq)
	if err != nil || resp.StatusCode != 200 {
		return "", "", "", fmt.Errorf("/oauth/callback answered %d: %v %s", resp.StatusCode, err, resp.Body)
	}
	var body struct {
		ConnectionID  string `json:"connection_id"`
		SubmissionKey string `json:"submission_key"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		return "", "", "", err
	}
	return body.ConnectionID, body.SubmissionKey, u.Orgs[0].ID, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
