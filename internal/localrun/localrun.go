// Package localrun runs the whole bundle on this machine: the template's
// tables, secrets and queues in the local stack (DynamoDB Local and moto),
// the Zoho simulator on a loopback port, and the three functions' real
// handlers, configured from the environment template.yaml gives them. It is
// what `make demo` and `make dev` stand on.
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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/internal/submission"
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
	// RedirectURI is the callback URL registered with the simulated Zoho;
	// default http://127.0.0.1/oauth/callback.
	RedirectURI string
	// Params override template parameters (e.g. RefreshWindowSeconds).
	Params map[string]string
	// Logs receives the functions' and the simulator's JSON logs; default
	// discarded.
	Logs io.Writer
	// SimAddr is where the simulator listens; default 127.0.0.1:0.
	SimAddr string
}

// Bundle is a running local deployment.
type Bundle struct {
	Sim      *zohosim.Server
	SimURL   string
	Template *samtemplate.Template
	Deploy   *samtemplate.Deployment
	AWS      aws.Config
	Callback *connect.Handler
	Refresh  *refresh.Handler
	Sync     *submission.Handler

	local       samtemplate.Local
	db          *dynamodb.Client
	sm          *secretsmanager.Client
	tokenPrefix string
	simServer   *http.Server
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

	b.db = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(eps.DynamoDB) })
	b.sm = secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(eps.SecretsManager) })
	b.local = samtemplate.Local{
		DynamoDB:       b.db,
		SecretsManager: b.sm,
		SQS:            sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(eps.SQS) }),
	}
	clientSecret, _ := json.Marshal(map[string]string{"client_id": ClientID, "client_secret": ClientSecret, "redirect_uri": opts.RedirectURI})
	vars := map[string]string{"Stage": opts.Prefix, "AWS::Region": eps.Region, "AWS::StackName": "zohoconnect-" + opts.Prefix,
		"ZohoEndpointOverride": b.SimURL}
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
	if err := b.buildHandlers(log); err != nil {
		b.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return b, nil
}

// buildHandlers sets each function's template environment and builds its
// handler exactly as its main.go does.
func (b *Bundle) buildHandlers(log *slog.Logger) error {
	for _, fn := range []string{"CallbackFunction", "RefreshFunction", "SyncFunction"} {
		env, err := b.Deploy.FunctionEnvironment(b.Template, fn)
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
	// No Lambda service here: sync's on-demand refresh invokes the
	// refresh handler in-process, with the same payload and answer.
	b.Sync.Service.Refresher = InProcessRefresher{Handler: b.Refresh}
	return nil
}

// InProcessRefresher stands in for the Lambda invoke of RefreshFunction.
type InProcessRefresher struct {
	Handler *refresh.Handler
}

// RefreshConnection invokes the refresh handler as Lambda would, with the
// payload refreshinvoke.Client sends.
func (r InProcessRefresher) RefreshConnection(ctx context.Context, id string, rejected time.Time) error {
	payload, _ := json.Marshal(ondemand.NewRequest(id, rejected))
	out, err := r.Handler.Handle(ctx, payload)
	if err != nil {
		return err
	}
	answer, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return ondemand.ReadAnswer(answer)
}

// Connections is the store over the bundle's connections table.
func (b *Bundle) Connections() *awsstore.ConnectionStore {
	return awsstore.NewConnectionStore(b.db, b.Deploy.Tables["ConnectionsTable"])
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

// Close deletes the resources and stops the simulator.
func (b *Bundle) Close(ctx context.Context) error {
	var errs []error
	if b.simServer != nil {
		errs = append(errs, b.simServer.Shutdown(ctx))
	}
	if b.Deploy != nil {
		errs = append(errs, b.local.Teardown(ctx, b.Deploy))
	}
	if b.tokenPrefix != "" {
		errs = append(errs, b.local.DeleteSecretsUnder(ctx, b.tokenPrefix))
	}
	return errors.Join(errs...)
}
