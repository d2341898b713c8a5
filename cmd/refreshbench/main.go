// Command refreshbench measures the refresh run against the local stack
// (DynamoDB Local and moto; source .cache/localstack.env first) and the
// Zoho simulator answering its token endpoint after a latency: it makes N
// due connections with real refresh tokens, runs a refresh with the
// configured worker pool, makes them due again and runs with one worker,
// and prints connections refreshed per second and the AWS and Zoho calls
// per refreshed connection of each run.
//
//	scripts/localstack.sh start && . .cache/localstack.env
//	go run ./cmd/refreshbench              # 1,000 connections, 20 ms
//	go run ./cmd/refreshbench -n 200 -latency 50ms -writes-per-second 50
//
// Its tables and secrets are made from template.yaml under a fresh prefix
// and deleted at the end.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/benchstack"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

func main() {
	n := flag.Int("n", 1000, "due connections")
	workers := flag.Int("workers", envInt("REFRESH_WORKERS", 8), "worker pool of the first run")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulator latency of each token request")
	wps := flag.Int("writes-per-second", envInt("SECRET_WRITES_PER_SECOND", 20), "PutSecretValue pacing")
	unpaced := flag.Bool("unpaced", true, "also run the pool with the pacing lifted, to show what the pool alone reaches")
	verbose := flag.Bool("v", false, "log the runs' lines")
	flag.Parse()
	if err := bench(*n, *workers, *latency, *wps, *unpaced, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "refreshbench:", err)
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// awsCounter counts the AWS API calls by operation (X-Amz-Target).
type awsCounter struct {
	base http.RoundTripper
	mu   sync.Mutex
	ops  map[string]int
}

func (c *awsCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *awsCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = map[string]int{}
	return out
}

func bench(n, workers int, latency time.Duration, wps int, unpaced, verbose bool) error {
	ctx := context.Background()
	stack, err := benchstack.Open(ctx)
	if err != nil {
		return err
	}
	cfg, eps := stack.Config, stack.Endpoints
	counter := &awsCounter{base: http.DefaultTransport, ops: map[string]int{}}
	cfg.HTTPClient = &http.Client{Transport: counter}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(eps.DynamoDB) })
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(eps.SecretsManager) })

	// The simulator, with Zoho's per-token limits lifted: the benchmark
	// refreshes each token more often than ten times in ten minutes.
	client := zohosim.Client{ID: "1000.BENCH", Secret: randomHex(16)}
	sim := zohosim.New(zohosim.Options{Clients: []zohosim.Client{client},
		Limits: zohosim.Limits{AccessTokensPer10Min: -1, RefreshTokensPerUser: -1, GrantCodesPer10Min: -1}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	if err != nil {
		return err
	}

	d, err := stack.Deploy(ctx, samtemplate.Local{DynamoDB: db, SecretsManager: sm},
		benchstack.Options{Stage: "b" + randomHex(4), ClientID: client.ID, ClientSecret: client.Secret})
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "refreshbench: cleanup:", err)
		}
	}()
	store := awsstore.NewConnectionStore(db, d.Tables["ConnectionsTable"])
	vault := &awsstore.TokenVault{SM: sm, Prefix: d.TokenSecretPrefix}
	oauth := &oauthclient.Source{Secret: &awsstore.CachedSecret{SM: sm, ID: d.Secrets[localstack.ClientSecretLogicalID], TTL: time.Hour}, HTTP: hc}

	fmt.Printf("setting up %d due connections (code exchange, two secrets, one item each)...\n", n)
	t0 := time.Now()
	ids, err := setup(ctx, n, sim, client.ID, oauth, store, vault)
	if err != nil {
		return err
	}
	fmt.Printf("set up in %.1fs\n\n", time.Since(t0).Seconds())
	sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Latency: latency})

	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = logging.New(os.Stderr, "info")
	}
	type runSpec struct {
		name    string
		workers int
		wps     int
	}
	runs := []runSpec{{fmt.Sprintf("%d workers, %d writes/s", workers, wps), workers, wps}, {fmt.Sprintf("1 worker, %d writes/s", wps), 1, wps}}
	if unpaced {
		runs = append(runs, runSpec{fmt.Sprintf("%d workers, pacing lifted", workers), workers, 100000})
	}
	fmt.Printf("%-28s %8s %9s %10s %12s %12s  %s\n", "run", "due", "refreshed", "seconds", "per second", "AWS/conn", "Zoho/conn")
	for i, r := range runs {
		if i > 0 {
			if err := makeDue(ctx, store, ids); err != nil {
				return err
			}
		}
		counter.take()
		sim.ResetRequests()
		svc := &refresh.Service{
			Connections: store, Tokens: vault, OAuth: oauth, Limiter: refresh.NewPacer(r.wps), Log: log,
			Workers: r.workers, Window: 30 * time.Minute,
		}
		start := time.Now()
		sum, err := svc.Run(ctx)
		el := time.Since(start)
		if err != nil {
			return err
		}
		ops := counter.take()
		total := 0
		for _, v := range ops {
			total += v
		}
		zohoCalls := len(sim.Requests())
		per := func(x int) float64 { return float64(x) / float64(max(sum.Refreshed, 1)) }
		fmt.Printf("%-28s %8d %9d %10.2f %12.1f %12.2f  %.2f\n", r.name, sum.Due, sum.Refreshed, el.Seconds(),
			float64(sum.Refreshed)/el.Seconds(), per(total), per(zohoCalls))
		if sum.Refreshed != n {
			fmt.Printf("  (summary %+v)\n", sum)
		}
		fmt.Printf("  AWS calls: %s\n", describe(ops))
	}
	return nil
}

// setup makes n connections the way the callback does, with real refresh
// tokens from the simulator, each due in five minutes.
func setup(ctx context.Context, n int, sim *zohosim.Server, clientID string, oauth *oauthclient.Source, store *awsstore.ConnectionStore, vault *awsstore.TokenVault) ([]string, error) {
	conf, err := oauth.Config(ctx)
	if err != nil {
		return nil, err
	}
	dcs := []string{"us", "eu", "in", "au", "jp", "ca"}
	ids := make([]string, n)
	jobs := make(chan int)
	var (
		wg    sync.WaitGroup
		fails atomic.Int64
		first atomic.Value
	)
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				if err := setupOne(ctx, i, dcs[i%len(dcs)], sim, clientID, conf, store, vault, ids); err != nil {
					fails.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if fails.Load() > 0 {
		return nil, fmt.Errorf("%d connections could not be set up; first: %v", fails.Load(), first.Load())
	}
	return ids, nil
}

func setupOne(ctx context.Context, i int, location string, sim *zohosim.Server, clientID string, conf *zoho.Config, store *awsstore.ConnectionStore, vault *awsstore.TokenVault, ids []string) error {
	u := sim.AddUser(zohosim.User{Email: fmt.Sprintf("bench%d@example.com", i), Location: location, Orgs: []zohosim.Org{{}}})
	code, err := sim.IssueCode(clientID, u.Email, u.Orgs[0].ID)
	if err != nil {
		return err
	}
	dc, err := zoho.ByLocation(location)
	if err != nil {
		return err
	}
	tok, err := conf.Exchange(ctx, dc, zoho.Secret(code))
	if err != nil {
		return err
	}
	id := connection.ID(location, zoho.Production, u.Orgs[0].ID)
	if err := vault.PutRefreshToken(ctx, id, tok.RefreshToken.Reveal()); err != nil {
		return err
	}
	if err := vault.PutAccessToken(ctx, id, connection.AccessToken{Token: tok.AccessToken, APIDomain: tok.APIDomain, ExpiresAt: tok.Expiry}); err != nil {
		return err
	}
	now := time.Now().UTC()
	_, err = store.Update(ctx, id, func(c *connection.Connection) error {
		c.Location, c.AccountsServer, c.APIDomain = location, dc.AccountsURL(), dc.APIURL(zoho.Production)
		c.Environment, c.OrgID, c.OrgName = "production", u.Orgs[0].ID, u.Orgs[0].Name
		c.TokenExpiresAt = now.Add(5 * time.Minute)
		c.SetStatus(connection.Active, "", now)
		return nil
	})
	ids[i] = id
	return err
}

// makeDue sets every connection's expiry five minutes ahead again.
func makeDue(ctx context.Context, store *awsstore.ConnectionStore, ids []string) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	jobs := make(chan string)
	for range 16 {
		wg.Go(func() {
			for id := range jobs {
				_, err := store.Update(ctx, id, func(c *connection.Connection) error {
					c.TokenExpiresAt = time.Now().Add(5 * time.Minute)
					return nil
				})
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}
		})
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	return first
}

func describe(ops map[string]int) string {
	var keys []string
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		name := k
		if i := strings.LastIndex(k, "."); i >= 0 {
			name = k[i+1:]
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, ops[k]))
	}
	return strings.Join(parts, ", ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
