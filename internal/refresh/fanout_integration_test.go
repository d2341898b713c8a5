//go:build integration

package refresh_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/lambdarun"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// refreshFunction is RefreshFunction as the Lambda API reaches it: each
// invocation a fresh instance of the function (another process), built
// from the template's environment, whose workers are started through
// that Lambda API.
type refreshFunction struct {
	t      *testing.T
	h      *harness
	cfg    refreshfn.Config
	lambda *lambda.Client
	tune   func(*refresh.Service)
}

func (f refreshFunction) Invoke(ctx context.Context, payload []byte) (*lambdarun.Invocation, error) {
	r, err := refreshfn.New(f.cfg, f.h.Env.Config, f.h.Log)
	if err != nil {
		return nil, err
	}
	// refreshfn.New made the Lambda client from the stack's config; this
	// one reaches the test's Lambda API.
	r.Workers = &refreshinvoke.Client{Lambda: f.lambda, FunctionName: f.cfg.FunctionName}
	f.tune(r.Service)
	ctx, cancel := context.WithTimeout(ctx, 300*time.Second) // the template's Timeout
	defer cancel()
	out, err := r.Handle(ctx, payload)
	if err != nil {
		b, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "error"})
		return &lambdarun.Invocation{StatusCode: 200, Payload: b, FunctionError: "Unhandled"}, nil
	}
	b, err := json.Marshal(out)
	return &lambdarun.Invocation{StatusCode: 200, Payload: b}, err
}

// A scheduled run covers every due connection over every shard: the
// coordinator invokes one worker per shard (asynchronously, through the
// Lambda Invoke API), each worker whose time runs out invokes its
// continuation with the cursor, and the workers' own counts add up to
// every connection refreshed once.
func TestScheduledRunFansOutOverLambda(t *testing.T) {
	h := newHarness(t)
	const n = 40
	ids := map[string]bool{}
	for range n {
		id := h.connect(t, "us", zoho.Production)
		h.expireIn(t, id, 5*time.Minute)
		ids[id] = true
	}
	shards := map[string]bool{}
	for id := range ids {
		shards[connection.RefreshShard(id)] = true
	}
	if len(shards) < 8 {
		t.Fatalf("%d connections over only %d shards", n, len(shards))
	}

	api := &lambdarun.LambdaAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	lc := lambda.NewFromConfig(h.Env.Config, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	cfg := h.refCfg
	cfg.FunctionName = h.Env.Deployment.Vars["AWS::StackName"] + "-refresh"
	fn := refreshFunction{t: t, h: h, cfg: cfg, lambda: lc, tune: func(s *refresh.Service) {
		// A worker's time runs out after each connection it takes.
		s.PageSize, s.WorkerBudget = 2, time.Millisecond
	}}
	api.Add(cfg.FunctionName, fn)

	// EventBridge Scheduler's invocation.
	coordinator, err := fn.Invoke(context.Background(), []byte(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`))
	if err != nil || coordinator.FunctionError != "" {
		t.Fatalf("%v %s", err, coordinator.Payload)
	}
	var started refresh.Summary
	if err := json.Unmarshal(coordinator.Payload, &started); err != nil || started.WorkersStarted != connection.RefreshShards {
		t.Fatalf("the coordinator answered %s", coordinator.Payload)
	}
	api.Wait()

	// Every connection refreshed once, at Zoho and in the table.
	grants := h.refreshGrants()
	for id := range ids {
		if g := grants[h.refreshToken(t, id)]; g != 1 {
			t.Errorf("%s: %d refreshes", id, g)
		}
		if c := h.get(t, id); !c.TokenExpiresAt.After(time.Now().Add(50 * time.Minute)) {
			t.Errorf("%s: expiry %v", id, c.TokenExpiresAt)
		}
	}
	// Each worker logged its own counts; they add up.
	var total refresh.Summary
	lines, continued := 0, 0
	sc := bufio.NewScanner(strings.NewReader(h.Logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg     string          `json:"msg"`
			Summary refresh.Summary `json:"summary"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "refresh run" {
			continue
		}
		if line.Summary.Shard == "" {
			t.Errorf("a refresh run line without its shard: %s", sc.Bytes())
		}
		lines++
		total.Due += line.Summary.Due
		total.Refreshed += line.Summary.Refreshed
		total.Failed += line.Summary.Failed
		if line.Summary.NextCursor != "" {
			continued++
		}
	}
	invocations := api.Invocations(cfg.FunctionName)
	if total.Due != n || total.Refreshed != n || total.Failed != 0 {
		t.Errorf("the workers' counts add up to %d due, %d refreshed, %d failed; want %d", total.Due, total.Refreshed, total.Failed, n)
	}
	// 16 workers and every continuation, each one invocation and one line.
	if continued < n-len(shards) || invocations != connection.RefreshShards+continued || lines != invocations {
		t.Errorf("%d continuations, %d invocations through the Lambda API, %d worker lines", continued, invocations, lines)
	}
	t.Logf("%d connections over %d shards: %d worker invocations (%d continuations)", n, len(shards), invocations, continued)
}

// clocked makes the OAuth client's tokens expire on the test's clock.
type clocked struct {
	refresh.OAuthConfig
	now func() time.Time
}

func (c clocked) Config(ctx context.Context) (*zoho.Config, error) {
	conf, err := c.OAuthConfig.Config(ctx)
	if err != nil {
		return nil, err
	}
	cp := *conf
	cp.Now = c.now
	return &cp, nil
}

// A day and more of half-hour runs, on a moved clock: the connection in
// use (a submission an hour) is refreshed at every run and never has an
// expired token; the idle one (no submission for two days) is moved out
// of the fresh part without a Zoho call, refreshed once a day, and its
// first submission refreshes it on demand once, is delivered, and puts
// it back on the schedule.
func TestIdleConnectionCheckedOnceADayAndRefreshedOnItsFirstSubmission(t *testing.T) {
	h := newHarness(t, testenv.WithQueues())
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)); h.Sim.Advance(d) }

	active, activeKey := h.connectWithKey(t, "us")
	idle, idleKey := h.connectWithKey(t, "eu")
	h.Env.Setenv(t, "SyncFunction")
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	sync, err := syncfn.New(scfg, h.Env.Config, h.Log)
	if err != nil {
		t.Fatal(err)
	}
	svc := h.refresh.Service
	svc.Now, svc.OAuth = now, clocked{svc.OAuth, now}
	sync.Service.Now = now
	sync.Service.Refresher = refresh.InProcess{Handler: h.refresh}
	submit := func(id, key, name string) int {
		t.Helper()
		req := events.APIGatewayV2HTTPRequest{
			RawPath: "/connections/" + id + "/submissions", PathParameters: map[string]string{"connection_id": id},
			Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer " + key},
			Body:    `{"last_name":"` + name + `","email":"` + strings.ToLower(name) + `@example.org"}`,
		}
		req.RequestContext.HTTP.Method = "POST"
		raw, _ := json.Marshal(req)
		out, err := sync.Invoke(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		return out.(events.APIGatewayV2HTTPResponse).StatusCode
	}
	// The idle one was connected, and last used, two days ago.
	if _, err := h.store.Update(context.Background(), idle, func(c *connection.Connection) error {
		c.LastUsedAt, c.ConnectedAt, c.CreatedAt = now().Add(-48*time.Hour), now().Add(-48*time.Hour), now().Add(-48*time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	idleRT, activeRT := h.refreshToken(t, idle), h.refreshToken(t, active)
	shard := func(id string) string {
		v, _ := h.rawItem(t, id)["refresh_shard"].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}

	idleChecks := 0
	for step := 1; step <= 52; step++ { // 26 hours
		advance(30 * time.Minute)
		if step%2 == 0 {
			if got := submit(active, activeKey, "Hourly"); got != 201 && got != 200 {
				t.Fatalf("step %d: a submission to the active connection answered %d", step, got)
			}
		}
		sum := run(t, h.refresh)
		idleChecks += sum.IdleChecked
		if step == 1 && (sum.Idled != 1 || shard(idle) != connection.IdleShard(idle)) {
			t.Fatalf("the idle connection was not moved: %+v, shard %q", sum, shard(idle))
		}
		if exp := h.get(t, active).TokenExpiresAt; !exp.After(now()) {
			t.Fatalf("step %d: the active connection's token expired at %v", step, exp)
		}
	}
	grants := h.refreshGrants()
	if grants[activeRT] != 52 {
		t.Errorf("the active connection was refreshed %d times in 52 half-hour runs", grants[activeRT])
	}
	if grants[idleRT] != 1 || idleChecks != 1 {
		t.Errorf("the idle connection was refreshed %d times (%d checks) in 26 hours, want once", grants[idleRT], idleChecks)
	}
	if shard(idle) != connection.IdleShard(idle) || shard(active) != connection.RefreshShard(active) {
		t.Errorf("shards: idle %q, active %q", shard(idle), shard(active))
	}
	// The active connection's use was recorded once an hour, not per
	// submission: last_used_at is the last hour's.
	if used := h.get(t, active).LastUsedAt; now().Sub(used) > time.Hour {
		t.Errorf("the active connection's last use %v, now %v", used, now())
	}

	// Its first submission: the token expired, one refresh on demand,
	// then the delivery.
	if exp := h.get(t, idle).TokenExpiresAt; exp.After(now()) {
		t.Fatalf("the idle connection's token should have expired: %v", exp)
	}
	if got := submit(idle, idleKey, "Firstuse"); got != 201 {
		t.Fatalf("the idle connection's first submission answered %d", got)
	}
	if g := h.refreshGrants()[idleRT]; g != 2 {
		t.Errorf("the first submission made %d refreshes, want 1", g-1)
	}
	c := h.get(t, idle)
	if c.Idle || !c.TokenExpiresAt.After(now()) || now().Sub(c.LastUsedAt) > time.Minute || shard(idle) != connection.RefreshShard(idle) {
		t.Errorf("after its first submission: %+v, shard %q", c, shard(idle))
	}
	orgID := h.get(t, idle).OrgID
	if recs := h.Sim.Records(orgID, "Leads"); len(recs) != 1 || recs[0]["Last_Name"] != "Firstuse" {
		t.Errorf("delivered %v", recs)
	}
	// Back on the schedule: refreshed when due, as the active one.
	advance(30 * time.Minute)
	if sum := run(t, h.refresh); sum.Refreshed != 2 {
		t.Errorf("the next run %+v: both connections are kept fresh now", sum)
	}
}

// connectWithKey connects an org of the DC and fetches its submission
// key (a connect without a session shows it once).
func (h *harness) connectWithKey(t *testing.T, location string) (string, string) {
	t.Helper()
	u := h.Sim.AddUser(zohoUser(location))
	body := h.Connected(t, "environment=production", u.Orgs[0].ID)
	id, _ := body["connection_id"].(string)
	key, _ := body["submission_key"].(string)
	if id == "" || key == "" {
		t.Fatalf("connect answered %v", body)
	}
	h.AddSecret(key)
	return id, key
}

func zohoUser(location string) zohosim.User {
	return zohosim.User{Location: location, Orgs: []zohosim.Org{{Environment: zoho.Production}}}
}
