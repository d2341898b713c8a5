//go:build integration

package refresh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// harness: the connect flow of testflow (to connect orgs the real way)
// and the refresh function, both built from the template's own
// environment.
type harness struct {
	*testflow.Flow
	refresh *refresh.Handler
	refCfg  refreshfn.Config
	store   *awsstore.ConnectionStore
	vault   *awsstore.TokenVault
}

func newHarness(t *testing.T, opts ...testenv.Option) *harness {
	t.Helper()
	cs := localstack.ClientSecret{ClientID: "1000.REFRESHCLIENT", ClientSecret: "refresh-client-secret-value", RedirectURI: "https://api.example.test/oauth/callback"}
	h := &harness{Flow: testflow.New(t, zohosim.Options{}, append([]testenv.Option{testenv.WithClientSecret(cs)}, opts...)...)}
	h.Env.Setenv(t, "RefreshFunction")
	var err error
	if h.refCfg, err = refreshfn.LoadConfig(); err != nil {
		t.Fatal(err)
	}
	if h.refCfg.EndpointOverride != h.SimURL || h.refCfg.Window != 30*time.Minute || h.refCfg.Workers != 8 || h.refCfg.Lease != time.Minute || h.refCfg.MaxConsecutiveFailures != 5 {
		t.Fatalf("the template's RefreshFunction environment: %+v", h.refCfg)
	}
	if h.refCfg.FunctionName != h.Env.Deployment.Vars["AWS::StackName"]+"-refresh" || h.refCfg.IdleAfter != 24*time.Hour {
		t.Fatalf("the template's RefreshFunction environment: its own name %q, idle after %v", h.refCfg.FunctionName, h.refCfg.IdleAfter)
	}
	// A run in this process: TestScheduledRunFansOutOverLambda starts its
	// workers through a Lambda API.
	h.refCfg.FunctionName = ""
	h.refresh = h.newRefresh(t)
	h.store = awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"])
	h.vault = &awsstore.TokenVault{SM: h.Env.SecretsManager, Prefix: h.Env.TokenSecretPrefix}
	return h
}

// newRefresh builds one more RefreshFunction instance (as a second
// concurrent Lambda would be).
func (h *harness) newRefresh(t *testing.T) *refresh.Handler {
	t.Helper()
	r, err := refreshfn.New(h.refCfg, h.Env.Config, h.Log)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// connect adds a Zoho user with one org and runs the whole connect flow
// for it: /connect, the consent page, /oauth/callback. It answers the
// connection id.
func (h *harness) connect(t *testing.T, location string, env zoho.Environment) string {
	t.Helper()
	u := h.Sim.AddUser(zohosim.User{Location: location, Orgs: []zohosim.Org{{Environment: env}}})
	return h.Connected(t, "environment="+env.String(), u.Orgs[0].ID)["connection_id"].(string)
}

// expireIn moves a connection's token expiry (as if time had passed since
// the connect), the way the callback writes it.
func (h *harness) expireIn(t *testing.T, id string, d time.Duration) time.Time {
	t.Helper()
	at := time.Now().Add(d).Truncate(time.Second).UTC()
	if _, err := h.store.Update(context.Background(), id, func(c *connection.Connection) error {
		c.TokenExpiresAt = at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return at
}

func (h *harness) get(t *testing.T, id string) *connection.Connection {
	t.Helper()
	c, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawItem reads the item's attributes, lease and shard included.
func (h *harness) rawItem(t *testing.T, id string) map[string]ddbtypes.AttributeValue {
	t.Helper()
	out, err := h.Env.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(h.Env.Tables["ConnectionsTable"]), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"connection_id": &ddbtypes.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func (h *harness) accessToken(t *testing.T, id, stage string) string {
	t.Helper()
	out, err := h.Env.SecretsManager.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(h.vault.AccessSecretName(id)), VersionStage: aws.String(stage),
	})
	if err != nil {
		t.Fatalf("%s of %s: %v", stage, id, err)
	}
	var a connection.AccessToken
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &a); err != nil {
		t.Fatal(err)
	}
	return a.Token.Reveal()
}

func (h *harness) refreshToken(t *testing.T, id string) string {
	t.Helper()
	rt, err := h.vault.RefreshToken(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// refreshGrants counts the refresh_token grants the simulator received
// per refresh token.
func (h *harness) refreshGrants() map[string]int {
	out := map[string]int{}
	for _, r := range h.Sim.Requests() {
		if r.Path == "/oauth/v2/token" && r.Form.Get("grant_type") == "refresh_token" {
			out[r.Form.Get("refresh_token")]++
		}
	}
	return out
}

func run(t *testing.T, r *refresh.Handler) refresh.Summary {
	t.Helper()
	out, err := r.Handle(context.Background(), json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`))
	if err != nil {
		t.Fatal(err)
	}
	return out.(refresh.Summary)
}

func TestRefreshesDueConnections(t *testing.T) {
	h := newHarness(t)
	us := h.connect(t, "us", zoho.Production)
	eu := h.connect(t, "eu", zoho.Sandbox)
	fresh := h.connect(t, "in", zoho.Production)
	h.expireIn(t, us, 5*time.Minute)
	h.expireIn(t, eu, 20*time.Minute)
	freshExp := h.expireIn(t, fresh, 45*time.Minute)
	before := map[string]string{}
	for _, id := range []string{us, eu, fresh} {
		before[id] = h.accessToken(t, id, "AWSCURRENT")
	}
	freshVersion := h.get(t, fresh).Version

	sum := run(t, h.refresh)
	if sum.Due != 2 || sum.Refreshed != 2 || sum.Failed != 0 || sum.ReauthRequired != 0 || sum.Skipped != 0 || sum.Deferred != 0 {
		t.Fatalf("summary %+v", sum)
	}
	for _, id := range []string{us, eu} {
		c := h.get(t, id)
		if !c.TokenExpiresAt.After(time.Now().Add(55*time.Minute)) || c.Status != connection.Active {
			t.Errorf("%s: expiry not advanced: %v", id, c.TokenExpiresAt)
		}
		cur, prev := h.accessToken(t, id, "AWSCURRENT"), h.accessToken(t, id, "AWSPREVIOUS")
		if cur == before[id] || prev != before[id] {
			t.Errorf("%s: the new token is not current with the old one kept as AWSPREVIOUS", id)
		}
		if !h.Sim.AccessTokenValid(cur) || !h.Sim.AccessTokenValid(prev) {
			t.Errorf("%s: the new and the previous token should both work at Zoho", id)
		}
		item := h.rawItem(t, id)
		if _, ok := item["lease_owner"]; ok {
			t.Errorf("%s: lease left behind", id)
		}
		if _, ok := item["refresh_shard"]; !ok {
			t.Errorf("%s: left the due index", id)
		}
	}
	hosts := map[string]int{}
	for _, r := range h.Sim.Requests() {
		if r.Form.Get("grant_type") == "refresh_token" {
			hosts[r.Host]++
		}
	}
	if hosts["accounts.zoho.com"] != 1 || hosts["accounts.zoho.eu"] != 1 || len(hosts) != 2 {
		t.Errorf("refreshes by accounts server: %v", hosts)
	}
	c := h.get(t, fresh)
	if !c.TokenExpiresAt.Equal(freshExp) || c.Version != freshVersion || h.accessToken(t, fresh, "AWSCURRENT") != before[fresh] {
		t.Errorf("a connection that was not due was touched")
	}
	// The callback's optimistic update still works over the refresh's writes.
	if _, err := h.store.Update(context.Background(), us, func(c *connection.Connection) error { c.OrgName = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	// Nothing is due any more.
	if sum := run(t, h.refresh); sum.Due != 0 {
		t.Fatalf("second run %+v", sum)
	}
	if strings.Count(h.Logs.String(), `"msg":"refresh run"`) != 2 || !strings.Contains(h.Logs.String(), `"RefreshRefreshed":2`) {
		t.Error("each run logs one summary line with its metrics")
	}
}

func TestRevokedRefreshTokenNeedsReauthorization(t *testing.T) {
	h := newHarness(t)
	id := h.connect(t, "us", zoho.Production)
	h.expireIn(t, id, 5*time.Minute)
	h.Sim.RevokeRefreshToken(h.refreshToken(t, id))

	sum := run(t, h.refresh)
	if sum.Due != 1 || sum.ReauthRequired != 1 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	c := h.get(t, id)
	if c.Status != connection.ReauthRequired || !strings.Contains(c.StatusReason, "invalid_code") || time.Since(c.StatusChangedAt) > time.Minute {
		t.Fatalf("connection %+v", c)
	}
	item := h.rawItem(t, id)
	for _, a := range []string{"refresh_shard", "lease_owner", "lease_expires_at"} {
		if _, ok := item[a]; ok {
			t.Errorf("%s left on a reauth_required connection", a)
		}
	}
	grants := len(h.refreshGrants())
	if sum := run(t, h.refresh); sum.Due != 0 {
		t.Fatalf("a reauth_required connection is due again: %+v", sum)
	}
	if res, err := h.refresh.Service.RefreshOne(context.Background(), id, time.Time{}); err != nil || res.Outcome != refresh.ReauthRequired {
		t.Fatalf("RefreshOne: %+v %v", res, err)
	}
	if len(h.refreshGrants()) != grants {
		t.Error("Zoho was asked again for a revoked token")
	}
	// Connecting again makes it active and due-able again.
}

func TestFailuresBackOffAndFlag(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault zohosim.Fault
	}{
		{"unavailable", zohosim.Fault{Path: "/oauth/v2/token", Status: 503}},
		{"rate limited", zohosim.Fault{Path: "/oauth/v2/token", Status: 200,
			Body: `{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := h.connect(t, "us", zoho.Production)
			other := h.connect(t, "eu", zoho.Production)
			h.expireIn(t, id, 5*time.Minute)
			h.expireIn(t, other, 5*time.Minute)
			tc.fault.Host = "accounts.zoho.com"
			h.Sim.Inject(tc.fault)

			// The service's clock, moved ahead to let backoffs pass.
			var offset time.Duration
			svc := h.refresh.Service
			svc.Now = func() time.Time { return time.Now().Add(offset) }

			sum := run(t, h.refresh)
			if sum.Due != 2 || sum.Failed != 1 || sum.Refreshed != 1 {
				t.Fatalf("one failure does not stop the others: %+v", sum)
			}
			c := h.get(t, id)
			if wait := time.Until(c.NextAttemptAt); c.ConsecutiveFailures != 1 || wait < 50*time.Second || wait > 61*time.Second || c.LastError == "" {
				t.Fatalf("after one failure: %d failures, next attempt in %v, %q", c.ConsecutiveFailures, wait, c.LastError)
			}
			// Within the backoff it is not tried.
			grants := h.refreshGrants()[h.refreshToken(t, id)]
			if sum := run(t, h.refresh); sum.BackingOff != 1 || sum.Failed != 0 || h.refreshGrants()[h.refreshToken(t, id)] != grants {
				t.Fatalf("retried within the backoff: %+v", sum)
			}
			// Later runs retry it: 2, 4, 8, 16 minutes; flagged at the 5th.
			for n := 2; n <= 5; n++ {
				offset += refresh.Backoff(n-1) + time.Second
				sum := run(t, h.refresh)
				if sum.Failed != 1 {
					t.Fatalf("failure %d: %+v", n, sum)
				}
				c := h.get(t, id)
				flagged := c.StatusReason == refresh.FlagReason
				if c.ConsecutiveFailures != n || flagged != (n >= 5) || c.Status != connection.Active {
					t.Fatalf("failure %d: %d failures, status %s %q", n, c.ConsecutiveFailures, c.Status, c.StatusReason)
				}
				if got := c.NextAttemptAt.Sub(time.Now().Add(offset)); got < refresh.Backoff(n)-10*time.Second || got > refresh.Backoff(n)+time.Second {
					t.Fatalf("failure %d: next attempt in %v, want %v", n, got, refresh.Backoff(n))
				}
			}
			// Zoho recovers: the flagged connection is refreshed and cleared.
			h.Sim.ClearFaults()
			offset += refresh.Backoff(5) + time.Second
			// (The other connection is due again on the service's clock.)
			if sum := run(t, h.refresh); sum.Refreshed < 1 || sum.Failed != 0 {
				t.Fatalf("after recovery: %+v", sum)
			}
			c = h.get(t, id)
			if c.ConsecutiveFailures != 0 || c.StatusReason != "" || !c.NextAttemptAt.IsZero() || c.LastError != "" {
				t.Fatalf("after recovery: %+v", c)
			}
		})
	}
}

func TestTwoRunsAtOnceRefreshEachConnectionOnce(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := range 12 {
		id := h.connect(t, []string{"us", "eu", "in", "au"}[i%4], zoho.Production)
		h.expireIn(t, id, time.Duration(i+1)*time.Minute)
		ids = append(ids, id)
	}
	h.Sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Latency: 30 * time.Millisecond})
	second := h.newRefresh(t)
	var (
		wg   sync.WaitGroup
		sums [2]refresh.Summary
	)
	wg.Go(func() { sums[0] = run(t, h.refresh) })
	wg.Go(func() { sums[1] = run(t, second) })
	wg.Wait()
	if got := sums[0].Refreshed + sums[1].Refreshed; got != 12 || sums[0].Failed+sums[1].Failed != 0 {
		t.Fatalf("summaries %+v", sums)
	}
	grants := h.refreshGrants()
	for _, id := range ids {
		if n := grants[h.refreshToken(t, id)]; n != 1 {
			t.Errorf("%s refreshed %d times", id, n)
		}
	}
	t.Logf("runs: %+v", sums)
}

func TestRunCutShortByItsDeadline(t *testing.T) {
	h := newHarness(t)
	var ids []string
	old := map[string]string{}
	for range 10 {
		id := h.connect(t, "us", zoho.Production)
		h.expireIn(t, id, 5*time.Minute)
		ids = append(ids, id)
		old[id] = h.accessToken(t, id, "AWSCURRENT")
	}
	h.Sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Latency: 250 * time.Millisecond})
	svc := h.refresh.Service
	svc.Workers, svc.DeadlineMargin = 2, time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 1700*time.Millisecond)
	defer cancel()
	sum, err := svc.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deferred == 0 || sum.Refreshed == 0 || sum.Failed != 0 || sum.Refreshed+sum.Deferred != 10 {
		t.Fatalf("summary %+v", sum)
	}
	done := 0
	for _, id := range ids {
		c := h.get(t, id)
		cur := h.accessToken(t, id, "AWSCURRENT")
		if _, ok := h.rawItem(t, id)["lease_owner"]; ok {
			t.Errorf("%s: lease left behind", id)
		}
		switch refreshed := c.TokenExpiresAt.After(time.Now().Add(50 * time.Minute)); {
		case refreshed && cur != old[id]:
			done++
		case !refreshed && cur == old[id] && c.ConsecutiveFailures == 0:
		default:
			t.Errorf("%s half done: expiry %v, token changed %v", id, c.TokenExpiresAt, cur != old[id])
		}
	}
	if done != sum.Refreshed {
		t.Errorf("%d refreshed in the table, the summary says %d", done, sum.Refreshed)
	}
	h.Sim.ClearFaults()
	sum2, err := svc.Run(context.Background())
	if err != nil || sum2.Refreshed != sum.Deferred || sum2.Due != sum.Deferred {
		t.Fatalf("the next run finishes them: %+v %v (deferred %d)", sum2, err, sum.Deferred)
	}
	grants := h.refreshGrants()
	for _, id := range ids {
		if n := grants[h.refreshToken(t, id)]; n != 1 {
			t.Errorf("%s refreshed %d times", id, n)
		}
	}
}

func TestRefreshOneOnDemand(t *testing.T) {
	h := newHarness(t)
	id := h.connect(t, "us", zoho.Production)
	rt := h.refreshToken(t, id)
	invoke := func() refresh.OneResult {
		out, err := h.refresh.Handle(context.Background(), json.RawMessage(fmt.Sprintf(`{"connection_id":%q}`, id)))
		if err != nil {
			t.Fatal(err)
		}
		return out.(refresh.OneResult)
	}
	// Just connected: fresh, nothing spent.
	if res := invoke(); res.Outcome != refresh.Fresh || h.refreshGrants()[rt] != 0 {
		t.Fatalf("%+v", res)
	}
	// Sync's token was refused (as if it had been invalidated): refresh now.
	h.expireIn(t, id, 40*time.Minute)
	if res := invoke(); res.Outcome != refresh.Refreshed || h.refreshGrants()[rt] != 1 || res.TokenExpiresAt == nil {
		t.Fatalf("%+v", res)
	}

	// A run holds the lease: RefreshOne waits for it, spends nothing, and
	// reports the other's refresh.
	h.expireIn(t, id, 10*time.Minute)
	now := time.Now()
	if _, ok, err := h.store.AcquireLease(context.Background(), id, "run-other", now, now.Add(time.Minute), now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	go func() {
		time.Sleep(time.Second)
		tok := connection.AccessToken{Token: "from-the-other-run", ExpiresAt: time.Now().Add(time.Hour)}
		_ = h.vault.PutAccessToken(context.Background(), id, tok)
		_ = h.store.UpdateLeased(context.Background(), id, "run-other", func(c *connection.Connection) { c.Refreshed(tok.ExpiresAt) })
	}()
	start := time.Now()
	res := invoke()
	if res.Outcome != refresh.RefreshedByAnother || h.refreshGrants()[rt] != 1 {
		t.Fatalf("%+v, %d grants", res, h.refreshGrants()[rt])
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 4*time.Second {
		t.Errorf("waited %v", el)
	}
	if h.accessToken(t, id, "AWSCURRENT") != "from-the-other-run" {
		t.Error("the other's token was replaced")
	}

	// A holder that does not finish within the wait: in progress.
	h.expireIn(t, id, 10*time.Minute)
	now = time.Now()
	if _, ok, _ := h.store.AcquireLease(context.Background(), id, "run-stuck", now, now.Add(time.Minute), now.Add(time.Hour)); !ok {
		t.Fatal("lease")
	}
	h.refresh.Service.OnDemandWait = 600 * time.Millisecond
	if res := invoke(); res.Outcome != refresh.InProgress || h.refreshGrants()[rt] != 1 {
		t.Fatalf("%+v", res)
	}
}
