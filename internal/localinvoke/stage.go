// Package localinvoke is a local stage for invoking the template's
// functions as Lambda runs them: every function's real bootstrap, built
// for this machine, under the Lambda Runtime Interface Emulator
// (internal/lambdarun), with the environment template.yaml gives it,
// pointed at a private slice of the local stack (DynamoDB Local and moto,
// scripts/localstack.sh: tables, the connections stream, secrets, queues,
// the event bus) and at the Zoho simulator. It is what `make invoke` and
// `make invoke-test` stand on.
//
// The stage runs with AllowAnonymousConnect=true, so that both kinds of
// connect have sample events, ReturnUrlOrigins=https://app.example.com
// (ReturnURL's origin), and the TokenStore Options name (SecretsManager
// by default; DynamoDB makes the tokens table and the template's KMS
// keys in moto's KMS).
//
// The sample events in events/ are made real before they are sent
// (Prepare): what an event refers to is first made to exist, through the
// functions themselves, and the event is filled in with it.
//
//   - GET /connect?session=...: a session the product API opened
//     (POST /connect/sessions through ProductApiFunction, with the stage's
//     product API key); an anonymous /connect is sent as it is.
//   - GET /oauth/callback: a fresh state from GET /connect, the cookie
//     /connect set for it (the event's cookies, as API Gateway's payload
//     2.0 carries them), and Zoho's answer to the consent for the EU
//     sandbox org "Acme Europe UAT Sandbox" (a grant code, or
//     error=access_denied) from the simulator, exactly as Zoho's redirect
//     carries them. An event whose name says "session" comes back from a
//     consent started through a connect session for the tenant
//     SessionTenant, with ReturnURL (the request itself cannot tell).
//   - POST /connect/sessions: the stage's product API key as the Bearer.
//   - POST /connections/{connection_id}/submissions: a connected org (the
//     EU sandbox org "Acme Europe QA Sandbox", connected through GET
//     /connect, the simulator's consent and GET /oauth/callback), its
//     submission key as the Bearer key, or the body signed with it; the
//     event names it (zc_4ecc0cf74921ac6cf47e4ff4).
//   - SQS records: a submission stored queued (posted while the simulated
//     CRM answers 503) and the message sync sent for it.
//   - DynamoDB stream records: the stream record the connections table
//     really wrote when SessionTenant connected the EU sandbox org "Acme
//     Europe QA Sandbox" through a session (read from DynamoDB Local's
//     stream); sent again, the same record, as a stream delivers a record
//     twice.
//   - {"connection_id": ...} (sync's on-demand refresh): the connected
//     org, and its stored token's expiry as the rejected token's.
//   - A scheduled event: a connected org whose token is due.
//   - POST /f/{form_id} and its OPTIONS preflight: a public form on the
//     connected org "Acme Europe QA Sandbox" (POST
//     /connections/{connection_id}/forms through ProductApiFunction) that
//     allows FormOrigin and sends a browser on to FormRedirectURL; the
//     event's Origin is sent as written, so an event from another origin
//     is refused.
//
// The simulator issues 20-minute access tokens, inside the template's
// 30-minute refresh window, so a token just issued is due for the
// scheduled refresh. Functions invoke each other through LambdaAPI
// (AWS_ENDPOINT_URL_LAMBDA): sync's on-demand refresh, the callback's
// revocation of a replaced token (an Event invocation) and the product
// API's on disconnect reach the RefreshFunction bootstrap by the name the
// template gives it. What reaches the bus is read through a rule with an
// SQS target (WaitEvent).
package localinvoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/lambdarun"
	"github.com/zohoconnect/zohoconnect/internal/localrun/buswatch"
	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// Options configure a stage. Every field has a default.
type Options struct {
	// ModuleDir holds go.mod, template.yaml and functions/; default: found
	// above the working directory.
	ModuleDir string
	// Emulator is aws-lambda-rie; default lambdarun.FindEmulator.
	Emulator string
	// BuildDir receives <LogicalId>/bootstrap; default
	// <ModuleDir>/.cache/invoke/linux-<GOARCH>.
	BuildDir string
	// Functions limits the stage to these logical ids; default every
	// function of the template.
	Functions []string
	// Output gets every line the emulators and functions print, each
	// after its function's logical id; default discarded.
	Output io.Writer
	// TokenStore is the template's TokenStore parameter: SecretsManager
	// (the default) or DynamoDB, whose tokens table and KMS keys (moto's
	// KMS) the stage then makes too.
	TokenStore string
}

// Stage is a running local stage.
type Stage struct {
	Template *samtemplate.Template
	Deploy   *samtemplate.Deployment
	// Sim is the Zoho simulator at SimURL.
	Sim    *zohosim.Server
	SimURL string
	// Bootstraps maps a function's logical id to its bootstrap.
	Bootstraps map[string]string
	// Lambda serves Lambda's Invoke API at LambdaURL for the functions.
	Lambda    *lambdarun.LambdaAPI
	LambdaURL string
	// ClientID and ClientSecret are the OAuth client's (in the template's
	// ZohoClientSecret and registered with the simulator).
	ClientID, ClientSecret string
	// ProductAPIKey is the value generated for ProductApiKeySecret.
	ProductAPIKey string

	opts      Options
	emulator  string
	endpoints localstack.Endpoints
	local     samtemplate.Local
	db        *dynamodb.Client
	streams   *dynamodbstreams.Client
	watch     *buswatch.Watch
	zohoHTTP  *http.Client
	tokenPfx  string
	simSrv    *http.Server
	lambdaSrv *http.Server

	mu        sync.Mutex
	functions map[string]*lambdarun.Function
	calls     []Call
	conn      *Connection
	tenant    *Connection // SessionTenant's connection (SessionConnected)
	form      *Form       // the seed connection's public form (Form)
	stream    []byte      // the stream event of its INSERT
	queued    []*QueuedSubmission
	secrets   []string
}

// Call is one invocation the stage made, seeds included.
type Call struct {
	Function string
	// What describes the event ("GET /connect", "events/sqs-retry.json").
	What       string
	Invocation *lambdarun.Invocation
}

// The orgs of the simulator's demo data (Eva Schmidt's, EU data center,
// sandboxes) the stage connects: SeedOrg for what submissions, refreshes
// and retries need, CallbackOrg for the callback events, so that a
// callback event connects an org anew (and shows its key) the first
// time and reconnects it after.
const (
	SeedOrgID       = "20071000202"
	SeedOrgName     = "Acme Europe QA Sandbox"
	CallbackOrgID   = "20071000203"
	CallbackOrgName = "Acme Europe UAT Sandbox"
)

// Start builds the bootstraps, makes the template's tables, secrets and
// queues under a fresh prefix in the local stack (its endpoints from the
// environment, as scripts/localstack.sh writes them), starts the
// simulator, the Lambda API and one emulator per function. Close undoes
// all of it.
func Start(ctx context.Context, opts Options) (_ *Stage, err error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("localinvoke: bootstraps are linux executables; this is %s", runtime.GOOS)
	}
	if opts.ModuleDir == "" {
		if opts.ModuleDir, err = lambdarun.ModuleDir(); err != nil {
			return nil, err
		}
	}
	if opts.BuildDir == "" {
		opts.BuildDir = filepath.Join(opts.ModuleDir, ".cache", "invoke", "linux-"+runtime.GOARCH)
	}
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	switch opts.TokenStore {
	case "", TokenStoreSecretsManager, TokenStoreDynamoDB:
	default:
		return nil, fmt.Errorf("localinvoke: TokenStore %q: want %s or %s", opts.TokenStore, TokenStoreSecretsManager, TokenStoreDynamoDB)
	}
	s := &Stage{opts: opts, functions: map[string]*lambdarun.Function{}, Lambda: &lambdarun.LambdaAPI{}}
	if s.emulator = opts.Emulator; s.emulator == "" {
		if s.emulator, err = lambdarun.FindEmulator(opts.ModuleDir); err != nil {
			return nil, err
		}
	}
	if s.endpoints, err = localstack.EndpointsFromEnv(); err != nil {
		return nil, fmt.Errorf("localinvoke: the local stack: %w", err)
	}
	if s.Template, err = samtemplate.Load(filepath.Join(opts.ModuleDir, "template.yaml")); err != nil {
		return nil, err
	}
	fns, err := s.selectFunctions(opts.Functions)
	if err != nil {
		return nil, err
	}

	// Build first: the slowest step, and nothing to clean up if it fails.
	pkgs := map[string]string{}
	for _, fn := range fns {
		pkgs[fn.LogicalID] = "./" + strings.TrimPrefix(filepath.ToSlash(filepath.Clean(fn.CodeUri)), "./")
	}
	if s.Bootstraps, err = lambdarun.Build(ctx, opts.ModuleDir, opts.BuildDir, runtime.GOARCH, pkgs); err != nil {
		return nil, err
	}

	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	if err := s.startSimulator(); err != nil {
		return nil, err
	}
	if err := s.deploy(ctx); err != nil {
		return nil, err
	}
	if err := s.startLambdaAPI(); err != nil {
		return nil, err
	}
	for _, fn := range fns {
		if err := s.startFunction(ctx, fn.LogicalID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stage) selectFunctions(only []string) ([]samtemplate.Function, error) {
	if len(only) == 0 {
		return s.Template.Functions, nil
	}
	var out []samtemplate.Function
	for _, id := range only {
		fn, ok := s.Template.Function(id)
		if !ok {
			var ids []string
			for _, f := range s.Template.Functions {
				ids = append(ids, f.LogicalID)
			}
			return nil, fmt.Errorf("localinvoke: no function %s in the template (it has %s)", id, strings.Join(ids, ", "))
		}
		out = append(out, fn)
	}
	return out, nil
}

func (s *Stage) startSimulator() error {
	s.ClientID, s.ClientSecret = "1000."+randomHex(12), randomHex(20)
	s.Sim = zohosim.New(zohosim.Options{
		Clients: []zohosim.Client{{ID: s.ClientID, Secret: s.ClientSecret, RedirectURIs: []string{redirectURI}}},
		Limits:  zohosim.Limits{AccessTokenTTL: 20 * time.Minute, GrantCodesPer10Min: -1},
	})
	for _, u := range zohosim.DemoUsers() {
		s.Sim.AddUser(u)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.SimURL = "http://" + ln.Addr().String()
	s.simSrv = &http.Server{Handler: s.Sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.simSrv.Serve(ln) }()
	s.zohoHTTP, err = zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: s.SimURL})
	return err
}

// redirectURI is the OAuth client's registered callback (the simulator
// sends the browser back there; the stage reads the redirect instead).
const redirectURI = "https://local.execute-api.us-east-1.amazonaws.com/oauth/callback"

// What the stage's connect sessions name: the product's tenant, and where
// the browser goes back to (its origin is the stage's ReturnUrlOrigins).
const (
	SessionTenant = "acme-gmbh"
	ReturnURL     = "https://app.example.com/zoho/connected"
	returnOrigin  = "https://app.example.com"
)

// WaitEvent waits for the next event of detailType about the connection
// on the stage's bus (the ones before it are dropped).
func (s *Stage) WaitEvent(ctx context.Context, detailType, connectionID string) (productevents.Detail, error) {
	if s.watch == nil {
		return productevents.Detail{}, errors.New("localinvoke: the stage has no event bus")
	}
	for {
		var d productevents.Detail
		ev, err := s.watch.Next(ctx)
		if err != nil {
			return d, err
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return d, fmt.Errorf("localinvoke: an event whose detail is not the product's: %w", err)
		}
		if ev.DetailType == detailType && d.ConnectionID == connectionID {
			return d, nil
		}
	}
}

func (s *Stage) deploy(ctx context.Context) error {
	cfg, err := localstack.NewConfig(ctx, s.endpoints)
	if err != nil {
		return err
	}
	s.db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.endpoints.DynamoDB)
		o.DisableValidateResponseChecksum = true // DynamoDB Local's error responses carry a wrong CRC
	})
	s.streams = dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(s.endpoints.DynamoDB) })
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.endpoints.SQS) })
	eb := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(s.endpoints.EventBridge) })
	s.local = samtemplate.Local{
		DynamoDB:       s.db,
		SecretsManager: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(s.endpoints.SecretsManager) }),
		SQS:            q,
		EventBridge:    eb,
		KMS:            kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(s.endpoints.KMS) }),
	}
	id := "inv" + randomHex(4)
	clientSecret, _ := json.Marshal(map[string]string{"client_id": s.ClientID, "client_secret": s.ClientSecret, "redirect_uri": redirectURI})
	s.Deploy, err = s.local.Deploy(ctx, s.Template, samtemplate.DeployOptions{
		Prefix: id,
		Vars: map[string]string{
			"Stage": id, "AWS::Region": s.endpoints.Region, "AWS::StackName": "zohoconnect-" + id,
			"ZohoEndpointOverride":  s.SimURL,
			"AllowAnonymousConnect": "true",
			"ReturnUrlOrigins":      returnOrigin,
			"TokenStore":            s.TokenStore(),
		},
		SecretStrings: map[string]string{localstack.ClientSecretLogicalID: string(clientSecret)},
		Queues:        true,
	})
	if err != nil {
		return err
	}
	s.ProductAPIKey = s.Deploy.SecretValues["ProductApiKeySecret"]
	s.addSecret(s.ProductAPIKey)
	if bus := s.Deploy.EventBuses["EventBus"]; bus != "" {
		if s.watch, err = buswatch.Start(ctx, eb, q, bus, id+"-watch", `{"source":["`+productevents.Source+`"]}`); err != nil {
			return err
		}
	}
	for _, fn := range s.Template.Functions {
		if v, ok := fn.Environment["TOKEN_SECRET_PREFIX"]; ok {
			s.tokenPfx, _ = v.Resolve(s.Deploy.Vars)
			break
		}
	}
	return nil
}

// TokenStore is the stage's TokenStore parameter (Options.TokenStore,
// SecretsManager when unset).
func (s *Stage) TokenStore() string {
	if s.opts.TokenStore == "" {
		return TokenStoreSecretsManager
	}
	return s.opts.TokenStore
}

// The template's TokenStore values.
const (
	TokenStoreSecretsManager = "SecretsManager"
	TokenStoreDynamoDB       = "DynamoDB"
)

func (s *Stage) startLambdaAPI() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.LambdaURL = "http://" + ln.Addr().String()
	s.lambdaSrv = &http.Server{Handler: s.Lambda, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.lambdaSrv.Serve(ln) }()
	return nil
}

// FunctionName is the name a function has in this stage (what
// AWS_LAMBDA_FUNCTION_NAME says and what other functions invoke it by).
func (s *Stage) FunctionName(logicalID string) string {
	return s.Deploy.Vars[logicalID]
}

// Env is the environment a function's bootstrap gets: the template's
// variables resolved against this stage, the AWS SDK's region and dummy
// credentials, and endpoints for the local stack: DynamoDB Local,
// moto for Secrets Manager, SQS and (AWS_ENDPOINT_URL) every other
// service), moto's EventBridge, and LambdaAPI for Lambda.
func (s *Stage) Env(logicalID string) (map[string]string, error) {
	env, err := s.Deploy.FunctionEnvironment(s.Template, logicalID)
	if err != nil {
		return nil, err
	}
	moto := os.Getenv("MOTO_ENDPOINT")
	if moto == "" {
		moto = s.endpoints.SecretsManager
	}
	for k, v := range map[string]string{
		"AWS_REGION":                       s.endpoints.Region,
		"AWS_DEFAULT_REGION":               s.endpoints.Region,
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
		"AWS_SESSION_TOKEN":                "test",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL":                 moto,
		"AWS_ENDPOINT_URL_DYNAMODB":        s.endpoints.DynamoDB,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.endpoints.SecretsManager,
		"AWS_ENDPOINT_URL_SQS":             s.endpoints.SQS,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     s.endpoints.EventBridge,
		"AWS_ENDPOINT_URL_KMS":             s.endpoints.KMS,
		"AWS_ENDPOINT_URL_LAMBDA":          s.LambdaURL,
	} {
		env[k] = v
	}
	return env, nil
}

func (s *Stage) startFunction(ctx context.Context, logicalID string) error {
	fn, _ := s.Template.Function(logicalID)
	env, err := s.Env(logicalID)
	if err != nil {
		return err
	}
	mem, err := intSetting(fn.MemorySize, s.Deploy.Vars, 128)
	if err != nil {
		return fmt.Errorf("localinvoke: %s MemorySize: %w", logicalID, err)
	}
	timeout, err := intSetting(fn.Timeout, s.Deploy.Vars, 3)
	if err != nil {
		return fmt.Errorf("localinvoke: %s Timeout: %w", logicalID, err)
	}
	f, err := lambdarun.Start(ctx, lambdarun.Options{
		Emulator:  s.emulator,
		Bootstrap: s.Bootstraps[logicalID],
		Env:       env,
		Name:      s.FunctionName(logicalID),
		MemoryMB:  mem,
		Timeout:   time.Duration(timeout) * time.Second,
		Output:    s.opts.Output,
		Label:     logicalID, // names carry the stage's random prefix
	})
	if err != nil {
		return fmt.Errorf("localinvoke: %s: %w", logicalID, err)
	}
	s.mu.Lock()
	old := s.functions[logicalID]
	s.functions[logicalID] = f
	s.mu.Unlock()
	s.Lambda.Add(s.FunctionName(logicalID), viaLambdaAPI{stage: s, logicalID: logicalID})
	if old != nil {
		old.Close()
	}
	return nil
}

// viaLambdaAPI is a function as the Lambda API reaches it: the stage's
// current emulator of it, each invocation recorded in Calls like the
// stage's own.
type viaLambdaAPI struct {
	stage     *Stage
	logicalID string
}

func (v viaLambdaAPI) Invoke(ctx context.Context, payload []byte) (*lambdarun.Invocation, error) {
	return v.stage.Invoke(ctx, v.logicalID, "through the Lambda API", payload)
}

func intSetting(v samtemplate.Value, vars map[string]string, def int) (int, error) {
	if v.IsZero() {
		return def, nil
	}
	s, err := v.Resolve(vars)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

// Restart gives a function a new execution environment: its next
// invocation is a cold start.
func (s *Stage) Restart(ctx context.Context, logicalID string) error {
	s.mu.Lock()
	_, ok := s.functions[logicalID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("localinvoke: %s is not running in this stage", logicalID)
	}
	return s.startFunction(ctx, logicalID)
}

// Functions lists the logical ids running in this stage, sorted.
func (s *Stage) Functions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.functions))
	for id := range s.functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Invoke sends event to the function, as Lambda would, and records the
// call (what describes it in Calls).
func (s *Stage) Invoke(ctx context.Context, logicalID, what string, event []byte) (*lambdarun.Invocation, error) {
	s.mu.Lock()
	f := s.functions[logicalID]
	s.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("localinvoke: %s is not running in this stage", logicalID)
	}
	inv, err := f.Invoke(ctx, event)
	if inv != nil {
		s.mu.Lock()
		s.calls = append(s.calls, Call{Function: logicalID, What: what, Invocation: inv})
		s.mu.Unlock()
	}
	return inv, err
}

// Calls is every invocation made so far, in order.
func (s *Stage) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Secrets is every secret the stage has met, for a log check: the OAuth
// client secret, the submission-key master, submission keys, and the
// codes and tokens the simulator saw.
func (s *Stage) Secrets() []string {
	s.mu.Lock()
	out := append([]string{s.ClientSecret}, s.secrets...)
	s.mu.Unlock()
	if s.Deploy != nil {
		out = append(out, s.Deploy.SecretValues[localstack.SubmissionKeySecretLogicalID])
	}
	for _, r := range s.Sim.Requests() {
		out = append(out, r.Form.Get("code"), r.Form.Get("refresh_token"), r.Form.Get("client_secret"),
			r.Query.Get("code"), r.Query.Get("refresh_token"), r.Query.Get("token"),
			strings.TrimPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken "))
	}
	var nonEmpty []string
	for _, v := range out {
		if v != "" {
			nonEmpty = append(nonEmpty, v)
		}
	}
	return nonEmpty
}

func (s *Stage) addSecret(v string) {
	s.mu.Lock()
	s.secrets = append(s.secrets, v)
	s.mu.Unlock()
}

// Close stops the emulators, the Lambda API and the simulator, and
// deletes what the stage made in the local stack, the functions' token
// secrets included.
func (s *Stage) Close(ctx context.Context) error {
	var errs []error
	if s.Lambda != nil {
		s.Lambda.Wait() // the Event invocations in flight
	}
	s.mu.Lock()
	fns := s.functions
	s.functions = map[string]*lambdarun.Function{}
	s.mu.Unlock()
	for _, f := range fns {
		errs = append(errs, f.Close())
	}
	if s.watch != nil {
		errs = append(errs, s.watch.Close(ctx))
	}
	for _, srv := range []*http.Server{s.lambdaSrv, s.simSrv} {
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
		}
	}
	if s.Deploy != nil {
		errs = append(errs, s.local.Teardown(ctx, s.Deploy))
	}
	if s.tokenPfx != "" {
		errs = append(errs, s.local.DeleteSecretsUnder(ctx, s.tokenPfx))
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
