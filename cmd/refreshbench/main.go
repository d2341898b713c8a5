// Command refreshbench measures the refresh run with each token store on
// the same machine, in one run, against the local stack (DynamoDB Local
// and moto's Secrets Manager and KMS; source .cache/localstack.env first)
// and the Zoho simulator answering its token endpoint after a latency: it
// makes N due connections with real refresh tokens, kept in both stores,
// runs a refresh on the Secrets Manager store (paced at
// SECRET_WRITES_PER_SECOND, PutSecretValue's share of the account's 50/s),
// makes them due again and runs on the DynamoDB store (paced at the
// tokens table's rate, tokentable.DefaultWritesPerSecond), each with the
// template's worker pool and a cold store, as a fresh Lambda instance has.
// It prints connections refreshed per second of each and their ratio, the
// AWS calls per refreshed connection by service and operation, and the
// KMS calls per 1,000 refreshes.
//
//	scripts/localstack.sh start && . .cache/localstack.env
//	go run ./cmd/refreshbench                       # 10,000 connections, 20 ms (about 10 minutes)
//	go run ./cmd/refreshbench -n 1000 -latency 50ms
//
// Its tables, keys and secrets are made from template.yaml
// (KeepDynamoDBTokenStore=true: both stores) under a fresh prefix and
// deleted at the end.
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
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/benchstack"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

func main() {
	n := flag.Int("n", 10000, "due connections")
	workers := flag.Int("workers", envInt("REFRESH_WORKERS", refresh.DefaultWorkers), "worker pool of each run")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulator latency of each token request")
	wps := flag.Int("secret-writes-per-second", envInt("SECRET_WRITES_PER_SECOND", awsstore.DefaultSecretWritesPerSecond), "the Secrets Manager store's PutSecretValue pacing")
	stores := flag.String("stores", "SecretsManager,DynamoDB", "the stores to run, in order")
	verbose := flag.Bool("v", false, "log the runs' lines")
	flag.Parse()
	if err := bench(*n, *workers, *latency, *wps, strings.Split(*stores, ","), *verbose); err != nil {
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

// services names the AWS service of an X-Amz-Target's prefix.
var services = map[string]string{"DynamoDB_20120810": "DynamoDB", "secretsmanager": "SecretsManager", "TrentService": "KMS"}

func service(target string) string {
	prefix, _, _ := strings.Cut(target, ".")
	if s, ok := services[prefix]; ok {
		return s
	}
	return prefix
}

// result is one store's run.
type result struct {
	store     string
	sum       refresh.Summary
	seconds   float64
	ops       map[string]int
	zohoCalls int
}

func (r result) perSecond() float64 { return float64(r.sum.Refreshed) / r.seconds }

func bench(n, workers int, latency time.Duration, wps int, stores []string, verbose bool) error {
	ctx := context.Background()
	stack, err := benchstack.Open(ctx)
	if err != nil {
		return err
	}
	cfg, eps := stack.Config, stack.Endpoints
	counter := &awsCounter{base: http.DefaultTransport, ops: map[string]int{}}
	cfg.HTTPClient = &http.Client{Transport: counter}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(eps.DynamoDB)
		o.DisableValidateResponseChecksum = true
	})
	// moto answers 500 now and then under concurrent writes (its secrets
	// dict changes while another request iterates it): retry, unthrottled.
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(eps.SecretsManager)
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(func(so *retry.StandardOptions) { so.RateLimiter = ratelimit.None }), 10)
	})
	km := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(eps.KMS) })

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

	d, err := stack.Deploy(ctx, samtemplate.Local{DynamoDB: db, SecretsManager: sm, KMS: km},
		benchstack.Options{Stage: "b" + randomHex(4), ClientID: client.ID, ClientSecret: client.Secret,
			Params: map[string]string{"KeepDynamoDBTokenStore": "true"}})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\ncleaning up (deleting the secrets takes a while)...")
		if err := d.CloseWithin(15 * time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "refreshbench: cleanup:", err)
		}
	}()
	store := awsstore.NewConnectionStore(db, d.Tables["ConnectionsTable"])
	tableStore := config.TokenStore{Store: config.TokenStoreDynamoDB, Table: d.Tables["TokensTable"],
		AccessKeyID: d.KeyARNs["AccessTokenKey"], RefreshKeyID: d.KeyARNs["RefreshTokenKey"]}
	// A fresh vault per run: the run starts cold, as a new Lambda
	// instance does (no data key cached).
	vaults := map[string]func() tokentable.Vault{
		config.TokenStoreSecretsManager: func() tokentable.Vault {
			return &awsstore.TokenVault{SM: sm, Prefix: d.TokenSecretPrefix, WriteRate: wps}
		},
		config.TokenStoreDynamoDB: func() tokentable.Vault {
			s := tokentable.New(tableStore, db, km)
			s.Reseal = true // as RefreshFunction's store (refreshfn)
			return s
		},
	}
	for _, s := range stores {
		if vaults[s] == nil {
			return fmt.Errorf("-stores: %q is not SecretsManager or DynamoDB", s)
		}
	}
	oauth := &oauthclient.Source{Secret: &awsstore.CachedSecret{SM: sm, ID: d.Secrets[localstack.ClientSecretLogicalID], TTL: time.Hour}, HTTP: hc}

	fmt.Printf("setting up %d due connections (code exchange, tokens in both stores, one item each)...\n", n)
	t0 := time.Now()
	// The callback's side: the stores run, neither resealing.
	var writers []tokentable.Vault
	for _, s := range stores {
		if s == config.TokenStoreDynamoDB {
			writers = append(writers, tokentable.New(tableStore, db, km))
		} else {
			writers = append(writers, vaults[s]())
		}
	}
	ids, err := setup(ctx, n, sim, client.ID, oauth, store, writers)
	if err != nil {
		return err
	}
	fmt.Printf("set up in %.1fs\n\n", time.Since(t0).Seconds())
	sim.Inject(zohosim.Fault{Path: "/oauth/v2/token", Latency: latency})

	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = logging.New(os.Stderr, "info")
	}
	fmt.Printf("%d due connections, %d workers, Zoho answering each token request after %s\n\n", n, workers, latency)
	fmt.Printf("%-16s %8s %8s %9s %9s %10s %10s %10s\n", "store", "paced/s", "due", "refreshed", "seconds", "per second", "AWS/conn", "Zoho/conn")
	var results []result
	for i, name := range stores {
		if i > 0 {
			if err := makeDue(ctx, store, ids); err != nil {
				return err
			}
		}
		vault := vaults[name]()
		counter.take()
		sim.ResetRequests()
		svc := &refresh.Service{
			Connections: store, Tokens: vault, OAuth: oauth, Limiter: refresh.NewPacer(vault.WritesPerSecond()), Log: log,
			Workers: workers, Window: 30 * time.Minute,
		}
		start := time.Now()
		sum, err := svc.Run(ctx)
		el := time.Since(start)
		if err != nil {
			return err
		}
		r := result{store: name, sum: sum, seconds: el.Seconds(), ops: counter.take(), zohoCalls: len(sim.Requests())}
		results = append(results, r)
		total := 0
		for _, v := range r.ops {
			total += v
		}
		fmt.Printf("%-16s %8d %8d %9d %9.2f %10.1f %10.2f %10.2f\n", name, vault.WritesPerSecond(), sum.Due, sum.Refreshed, r.seconds,
			r.perSecond(), per(total, sum.Refreshed), per(r.zohoCalls, sum.Refreshed))
		if sum.Refreshed != n {
			fmt.Printf("  (summary %+v)\n", sum)
		}
	}
	fmt.Println()
	for _, r := range results {
		bySvc := map[string]int{}
		for op, c := range r.ops {
			bySvc[service(op)] += c
		}
		var parts []string
		for _, s := range sortedKeys(bySvc) {
			parts = append(parts, fmt.Sprintf("%s %.2f", s, per(bySvc[s], r.sum.Refreshed)))
		}
		fmt.Printf("%s: AWS calls per refreshed connection: %s\n", r.store, strings.Join(parts, ", "))
		fmt.Printf("  by operation: %s\n", describe(r.ops))
		fmt.Printf("  KMS calls per 1,000 refreshes: %.2f\n", 1000*per(bySvc["KMS"], r.sum.Refreshed))
	}
	if len(results) == 2 && results[0].perSecond() > 0 {
		fmt.Printf("\n%s / %s: %.1f times the connections per second\n", results[1].store, results[0].store, results[1].perSecond()/results[0].perSecond())
	}
	return nil
}

func per(x, n int) float64 { return float64(x) / float64(max(n, 1)) }

func sortedKeys(m map[string]int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setup makes n connections the way the callback does, with real refresh
// tokens from the simulator, each due in five minutes, their tokens in
// every vault.
func setup(ctx context.Context, n int, sim *zohosim.Server, clientID string, oauth *oauthclient.Source, store *awsstore.ConnectionStore, vaults []tokentable.Vault) ([]string, error) {
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
				if err := setupOne(ctx, i, dcs[i%len(dcs)], sim, clientID, conf, store, vaults, ids); err != nil {
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

func setupOne(ctx context.Context, i int, location string, sim *zohosim.Server, clientID string, conf *zoho.Config, store *awsstore.ConnectionStore, vaults []tokentable.Vault, ids []string) error {
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
	for _, vault := range vaults {
		if _, ok := vault.(*awsstore.TokenVault); ok {
			// One secret write at a time: moto's CreateSecret looks
			// through every secret, and fails when another is added
			// meanwhile.
			secretWrites.Lock()
		}
		err := vault.PutRefreshToken(ctx, id, tok.RefreshToken.Reveal())
		if err == nil {
			err = vault.PutAccessToken(ctx, id, connection.AccessToken{Token: tok.AccessToken, APIDomain: tok.APIDomain, ExpiresAt: tok.Expiry})
		}
		if _, ok := vault.(*awsstore.TokenVault); ok {
			secretWrites.Unlock()
		}
		if err != nil {
			return err
		}
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

var secretWrites sync.Mutex

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
