// Package localrun runs the whole bundle on this machine: the template's
// tables (with the connections table's stream), secrets, queues and event
// bus in the local stack (DynamoDB Local and moto), the Zoho simulator on a
// loopback port, and every function's real handler, configured from the
// environment template.yaml gives it. What AWS does between the functions
// is done here too: RefreshFunction is invoked in process where the others
// would invoke it through Lambda (sync's on-demand refresh, the callback's
// and the product API's revocations), the connections table's stream is
// delivered to EventsFunction as Lambda's event source mapping would
// (package ddbstream), and what reaches the bus is read through a rule
// with an SQS target (package buswatch), as a product would subscribe. It
// is what `make demo` and `make dev` stand on.
package localrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/functions/events/eventsfn"
	"github.com/zohoconnect/zohoconnect/functions/productapi/productapifn"
	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstore"
	"github.com/zohoconnect/zohoconnect/internal/localrun/buswatch"
	"github.com/zohoconnect/zohoconnect/internal/localrun/ddbstream"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/product"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/captcha/captchasim"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// The OAuth client the simulator and the local client secret share.
const (
	ClientID     = "1000.LOCALDEMOCLIENT"
	ClientSecret = "local-demo-client-secret"
)

// Options configure a local bundle.
type Options struct {
	// Prefix names the local resources; default "local-<random>".
	Prefix string
	// BaseURL is where the API is served (make dev's address, e.g.
	// http://127.0.0.1:8080): the template's PublicBaseUrl, so the product
	// API's connect_url and the callback's redirect URI name it. Empty:
	// neither is served (make demo calls the handlers).
	BaseURL string
	// RedirectURI is the callback URL registered with the simulated Zoho;
	// default BaseURL + /oauth/callback, or http://127.0.0.1/oauth/callback.
	RedirectURI string
	// Params override template parameters (e.g. RefreshWindowSeconds,
	// AllowAnonymousConnect, ReturnUrlOrigins).
	Params map[string]string
	// Logs receives the functions' and the simulator's JSON logs; default
	// discarded.
	Logs io.Writer
	// SimAddr is where the simulator listens; default 127.0.0.1:0.
	SimAddr string
}

// Bundle is a running local deployment.
type Bundle struct {
	Sim    *zohosim.Server
	SimURL string
	// Captcha stands in for the CAPTCHA providers (CaptchaEndpointOverride).
	Captcha    *captchasim.Server
	CaptchaURL string
	Template   *samtemplate.Template
	Deploy     *samtemplate.Deployment
	AWS        aws.Config
	// The functions' handlers, one per function of the template.
	Callback   *connect.Handler
	Refresh    *refresh.Handler
	Sync       *submission.Handler
	ProductAPI *product.Handler
	Events     *productevents.Handler
	// ProductAPIKey is the product's API key: the value generated for the
	// template's ProductApiKeySecret.
	ProductAPIKey string
	// EventBus is the name of the template's EventBus here.
	EventBus string

	local       samtemplate.Local
	db          *dynamodb.Client
	sm          *secretsmanager.Client
	sqs         *sqs.Client
	eb          *eventbridge.Client
	streams     *dynamodbstreams.Client
	tokenPrefix string
	simServer   *http.Server
	// captchaServer serves Captcha.
	captchaServer *http.Server
	watch         *buswatch.Watch
	stopPollers   context.CancelFunc
	pollers       chan error
	running       int // pollers started
}

// Start creates the resources, starts the simulator and builds the
// handlers. The local stack's endpoints come from the environment
// (scripts/localstack.sh writes them). Close undoes all of it.
func Start(ctx context.Context, opts Options) (*Bundle, error) {
	if opts.Prefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		opts.Prefix = "local-" + hex.EncodeToString(b[:])
	}
	if opts.RedirectURI == "" {
		opts.RedirectURI = "http://127.0.0.1/oauth/callback"
		if opts.BaseURL != "" {
			opts.RedirectURI = strings.TrimRight(opts.BaseURL, "/") + connect.CallbackPath
		}
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if opts.SimAddr == "" {
		opts.SimAddr = "127.0.0.1:0"
	}
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		return nil, fmt.Errorf("the local stack: %w", err)
	}
	awsCfg, err := localstack.NewConfig(ctx, eps)
	if err != nil {
		return nil, err
	}
	tpl, err := localstack.Template()
	if err != nil {
		return nil, err
	}
	b := &Bundle{Template: tpl, AWS: awsCfg}

	log := logging.New(opts.Logs, "info")
	b.Sim = zohosim.New(zohosim.Options{
		Clients: []zohosim.Client{{ID: ClientID, Secret: ClientSecret, RedirectURIs: []string{opts.RedirectURI}}},
		Logger:  log.With("component", "zohosim"),
	})
	for _, u := range zohosim.DemoUsers() {
		b.Sim.AddUser(u)
	}
	ln, err := net.Listen("tcp", opts.SimAddr)
	if err != nil {
		return nil, fmt.Errorf("the simulator cannot listen on %s: %w", opts.SimAddr, err)
	}
	b.SimURL = "http://" + ln.Addr().String()
	b.simServer = &http.Server{Handler: b.Sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.simServer.Serve(ln) }()

	b.Captcha = captchasim.New()
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("the CAPTCHA simulator cannot listen: %w", err)
	}
	b.CaptchaURL = "http://" + cln.Addr().String()
	b.captchaServer = &http.Server{Handler: b.Captcha, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.captchaServer.Serve(cln) }()

	b.db = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(eps.DynamoDB)
		o.DisableValidateResponseChecksum = true // DynamoDB Local's error responses carry a wrong CRC
	})
	b.sm = secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(eps.SecretsManager) })
	b.sqs = sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(eps.SQS) })
	b.eb = eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(eps.EventBridge) })
	b.streams = dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(eps.DynamoDB) })
	b.local = samtemplate.Local{DynamoDB: b.db, SecretsManager: b.sm, SQS: b.sqs, EventBridge: b.eb,
		KMS: kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(eps.KMS) })}
	clientSecret, _ := json.Marshal(map[string]string{"client_id": ClientID, "client_secret": ClientSecret, "redirect_uri": opts.RedirectURI})
	vars := map[string]string{"Stage": opts.Prefix, "AWS::Region": eps.Region, "AWS::StackName": "zohoconnect-" + opts.Prefix,
		"ZohoEndpointOverride": b.SimURL, "CaptchaEndpointOverride": b.CaptchaURL}
	if opts.BaseURL != "" {
		vars["PublicBaseUrl"] = strings.TrimRight(opts.BaseURL, "/")
	}
	for k, v := range opts.Params {
		vars[k] = v
	}
	b.Deploy, err = b.local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix: opts.Prefix, Vars: vars, Queues: true,
		SecretStrings: map[string]string{localstack.ClientSecretLogicalID: string(clientSecret)},
	})
	if err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	b.ProductAPIKey = b.Deploy.SecretValues["ProductApiKeySecret"]
	b.EventBus = b.Deploy.EventBuses["EventBus"]
	if err := b.buildHandlers(log); err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if b.watch, err = buswatch.Start(ctx, b.eb, b.sqs, b.EventBus, opts.Prefix+"-watch", `{"source":["`+productevents.Source+`"]}`); err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := b.startStreams(log); err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return b, nil
}

// buildHandlers sets each function's template environment and builds its
// handler exactly as its main.go does.
func (b *Bundle) buildHandlers(log *slog.Logger) error {
	for _, fn := range b.Template.Functions {
		env, err := b.Deploy.FunctionEnvironment(b.Template, fn.LogicalID)
		if err != nil {
			return err
		}
		for k, v := range env {
			os.Setenv(k, v)
		}
	}
	cc, err := callbackfn.LoadConfig()
	if err != nil {
		return err
	}
	b.tokenPrefix = cc.TokenSecretPrefix
	if b.Callback, err = callbackfn.New(cc, b.AWS, log.With("function", "callback")); err != nil {
		return err
	}
	rc, err := refreshfn.LoadConfig()
	if err != nil {
		return err
	}
	// No Lambda service here either for a run's shard workers: they run
	// as goroutines of one process (refresh.Service.Run).
	rc.FunctionName = ""
	if b.Refresh, err = refreshfn.New(rc, b.AWS, log.With("function", "refresh")); err != nil {
		return err
	}
	sc, err := syncfn.LoadConfig()
	if err != nil {
		return err
	}
	if b.Sync, err = syncfn.New(sc, b.AWS, log.With("function", "sync")); err != nil {
		return err
	}
	pc, err := productapifn.LoadConfig()
	if err != nil {
		return err
	}
	if b.ProductAPI, err = productapifn.New(pc, b.AWS, log.With("function", "productapi")); err != nil {
		return err
	}
	ec, err := eventsfn.LoadConfig()
	if err != nil {
		return err
	}
	if b.Events, err = eventsfn.New(ec, b.AWS, log.With("function", "events")); err != nil {
		return err
	}
	// No Lambda service here: what the functions ask RefreshFunction
	// through Lambda (sync's on-demand refresh, the product API's
	// revocation on disconnect, the callback's of a replaced token, which
	// Lambda would run asynchronously and runs here before the callback
	// answers) goes to the refresh handler in process, with the same
	// payloads and answers.
	inProcess := refresh.InProcess{Handler: b.Refresh}
	b.Sync.Service.Refresher = inProcess
	b.ProductAPI.Service.Revoker = inProcess
	b.Callback.Service.Revoker = inProcess
	return nil
}

// InProcessRefresher stands in for the Lambda invoke of RefreshFunction
// (refresh.InProcess, under its older name here).
type InProcessRefresher = refresh.InProcess

// startStreams delivers each table stream the template gives a function
// (a DynamoDB event: EventsFunction's, the connections table's) to that
// function's handler, with the event's settings, until Close.
func (b *Bundle) startStreams(log *slog.Logger) error {
	handlers := map[string]ddbstream.Handler{"EventsFunction": b.Events.Handle}
	ctx, cancel := context.WithCancel(context.Background())
	b.stopPollers = cancel
	b.pollers = make(chan error, len(b.Template.Functions))
	for _, fn := range b.Template.Functions {
		for _, ev := range fn.Events {
			if ev.Type != "DynamoDB" {
				continue
			}
			handler, ok := handlers[fn.LogicalID]
			if !ok {
				return fmt.Errorf("localrun: %s reads a DynamoDB stream, and this bundle has no handler for it", fn.LogicalID)
			}
			settings, err := ddbstream.SettingsFor(ev, b.Deploy.Vars)
			if err != nil {
				return err
			}
			arn, err := ev.Property("Stream").Resolve(b.Deploy.Vars)
			if err != nil {
				return fmt.Errorf("localrun: %s's stream: %w", fn.LogicalID, err)
			}
			p := &ddbstream.Poller{
				API: b.streams, StreamARN: arn, Handler: handler, Settings: settings,
				OnFailure: b.onFailure(settings.OnFailure),
				Log:       log.With("component", "stream", "function", fn.LogicalID),
			}
			b.running++
			go func() { b.pollers <- p.Run(ctx) }()
		}
	}
	return nil
}

// onFailure sends a batch whose retries are spent to the event's on-failure
// queue, as Lambda does (its coordinates, never its records).
func (b *Bundle) onFailure(queue string) func(context.Context, ddbstream.FailedBatch) error {
	url, ok := b.Deploy.Queues[queue]
	if !ok {
		return nil
	}
	return func(ctx context.Context, fb ddbstream.FailedBatch) error {
		body, err := json.Marshal(map[string]any{"DDBStreamBatchInfo": fb, "timestamp": time.Now().UTC().Format(time.RFC3339)})
		if err != nil {
			return err
		}
		_, err = b.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(body))})
		return err
	}
}

// BusEvent is one event that reached the bus.
type BusEvent struct {
	ID         string
	DetailType string
	Source     string
	Time       time.Time
	Detail     productevents.Detail
}

// NextEvent waits for the next event on the bus (through the bundle's rule
// and its queue); each event is read once, by one caller.
func (b *Bundle) NextEvent(ctx context.Context) (BusEvent, error) {
	ev, err := b.watch.Next(ctx)
	if err != nil {
		return BusEvent{}, err
	}
	out := BusEvent{ID: ev.ID, DetailType: ev.DetailType, Source: ev.Source, Time: ev.Time}
	if err := json.Unmarshal(ev.Detail, &out.Detail); err != nil {
		return out, fmt.Errorf("localrun: an event whose detail is not the product's: %w", err)
	}
	return out, nil
}

// WaitEvent waits for the next event of detailType about the connection
// (any connection when connectionID is ""); the events before it are
// dropped.
func (b *Bundle) WaitEvent(ctx context.Context, detailType, connectionID string) (BusEvent, error) {
	for {
		ev, err := b.NextEvent(ctx)
		if err != nil {
			return ev, err
		}
		if ev.DetailType == detailType && (connectionID == "" || ev.Detail.ConnectionID == connectionID) {
			return ev, nil
		}
	}
}

// Connections is the store over the bundle's connections table.
func (b *Bundle) Connections() *awsstore.ConnectionStore {
	return awsstore.NewConnectionStore(b.db, b.Deploy.Tables["ConnectionsTable"])
}

// Forms is the store over the bundle's forms table.
func (b *Bundle) Forms() *formstore.Store {
	return &formstore.Store{DB: b.db, Table: b.Deploy.Tables["FormsTable"]}
}

// AccessTokenVersions describes the versions of a connection's access-token
// secret and their stages, e.g. "AWSCURRENT, AWSPREVIOUS".
func (b *Bundle) AccessTokenVersions(ctx context.Context, id string) (string, error) {
	vault := awsstore.TokenVault{Prefix: b.tokenPrefix}
	out, err := b.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(vault.AccessSecretName(id))})
	if err != nil {
		return "", err
	}
	var stages []string
	for _, v := range out.Versions {
		if len(v.VersionStages) > 0 { // unstaged versions are on their way out
			stages = append(stages, strings.Join(v.VersionStages, "+"))
		}
	}
	sort.Strings(stages)
	return strings.Join(stages, ", "), nil
}

// Close stops the stream delivery and the simulator and deletes the
// resources.
func (b *Bundle) Close(ctx context.Context) error {
	var errs []error
	if b.stopPollers != nil {
		b.stopPollers()
		for range b.running {
			select {
			case <-b.pollers:
			case <-ctx.Done():
			}
		}
	}
	if b.watch != nil {
		errs = append(errs, b.watch.Close(ctx))
	}
	if b.simServer != nil {
		errs = append(errs, b.simServer.Shutdown(ctx))
	}
	if b.captchaServer != nil {
		errs = append(errs, b.captchaServer.Shutdown(ctx))
	}
	if b.Deploy != nil {
		errs = append(errs, b.local.Teardown(ctx, b.Deploy))
	}
	if b.tokenPrefix != "" {
		errs = append(errs, b.local.DeleteSecretsUnder(ctx, b.tokenPrefix))
	}
	return errors.Join(errs...)
}
