// Package testenv is the integration-test harness: AWS clients pointed at
// the local stack (DynamoDB Local and moto, started by `make test` through
// scripts/localstack.sh) and, per test, fresh tables, secrets and queues
// made from template.yaml, deleted again when the test ends.
//
//	env := testenv.New(t)
//	store := awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
//
// Tests that use it carry the `integration` build tag. New fails the test
// (never skips it) when the local endpoints are not in the environment.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// Env is one test's slice of the local stack.
type Env struct {
	// Config reaches the local endpoints: clients built from it with
	// NewFromConfig (as the code under test does) resolve
	// AWS_ENDPOINT_URL_* like the Lambda runtime would.
	Config         aws.Config
	DynamoDB       *dynamodb.Client
	SecretsManager *secretsmanager.Client
	SQS            *sqs.Client
	// KMS is moto's: the template's keys (TokenStore=DynamoDB).
	KMS *kms.Client

	Template *samtemplate.Template
	// ID is unique to this test; every name below contains it.
	ID string
	// Tables maps a template table's logical id to this test's table.
	Tables map[string]string
	// ClientSecretID is the ARN of this test's OAuth client secret.
	ClientSecretID string
	ClientSecret   localstack.ClientSecret
	// SubmissionKeySecretID is the ARN of this test's submission-key master
	// secret; SubmissionKey is its value.
	SubmissionKeySecretID string
	SubmissionKey         string
	// TokenSecretPrefix is this test's TOKEN_SECRET_PREFIX, e.g.
	// "zohoconnect/t1a2b3c4d/". Secrets under it are deleted at cleanup.
	TokenSecretPrefix string
	// Queues maps a template queue's logical id to its URL (WithQueues only).
	Queues map[string]string
	// Deployment is everything made, and the values the template resolves
	// against.
	Deployment *samtemplate.Deployment
}

type options struct {
	queues       bool
	clientSecret *localstack.ClientSecret
	params       map[string]string
}

// Option changes what New makes.
type Option func(*options)

// WithQueues also makes the template's queues (SubmissionQueue and its
// dead-letter queue).
func WithQueues() Option { return func(o *options) { o.queues = true } }

// WithClientSecret sets the OAuth client secret's value instead of a
// generated one.
func WithClientSecret(cs localstack.ClientSecret) Option {
	return func(o *options) { o.clientSecret = &cs }
}

// WithParameter sets a template parameter (for example
// ZohoEndpointOverride, or RefreshWindowSeconds) for FunctionEnv.
func WithParameter(name, value string) Option {
	return func(o *options) { o.params[name] = value }
}

// WithZohoEndpoint sets ZOHO_ENDPOINT_OVERRIDE in FunctionEnv to the Zoho
// simulator's address.
func WithZohoEndpoint(baseURL string) Option {
	return WithParameter("ZohoEndpointOverride", baseURL)
}

// New makes this test's tables, secrets (and queues, WithQueues) from
// template.yaml and deletes them, and every secret under
// TokenSecretPrefix, when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := &options{params: map[string]string{}}
	for _, opt := range opts {
		opt(o)
	}
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	tpl, err := localstack.Template()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := localstack.NewConfig(ctx, eps)
	if err != nil {
		t.Fatalf("testenv: aws config: %v", err)
	}

	id := "t" + randomHex(4)
	e := &Env{
		Config: cfg,
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(eps.DynamoDB)
			o.DisableValidateResponseChecksum = true // see quietLogger
		}),
		SecretsManager: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.BaseEndpoint = aws.String(eps.SecretsManager)
		}),
		SQS:      sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(eps.SQS) }),
		KMS:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(eps.KMS) }),
		Template: tpl,
		ID:       id,
	}

	cs := localstack.ClientSecret{
		ClientID:     "1000." + randomHex(12),
		ClientSecret: randomHex(20),
		RedirectURI:  "http://127.0.0.1/oauth/callback",
	}
	if o.clientSecret != nil {
		cs = *o.clientSecret
	}
	csJSON, err := json.Marshal(cs)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	e.ClientSecret = cs

	vars := map[string]string{
		"Stage":          id,
		"AWS::Region":    eps.Region,
		"AWS::StackName": "zohoconnect-" + id,
	}
	for k, v := range o.params {
		vars[k] = v
	}
	// The template's event bus too (EventsFunction's EVENT_BUS_NAME).
	local := samtemplate.Local{DynamoDB: e.DynamoDB, SecretsManager: e.SecretsManager, SQS: e.SQS, KMS: e.KMS,
		EventBridge: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(eps.EventBridge) })}
	d, err := local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix:        "it-" + id,
		Vars:          vars,
		SecretStrings: map[string]string{localstack.ClientSecretLogicalID: string(csJSON)},
		Queues:        o.queues,
	})
	// Clean up whatever was made, even when Deploy failed half way.
	t.Cleanup(func() { e.cleanup(t, local, d) })
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}

	e.Deployment = d
	e.Tables = d.Tables
	e.Queues = d.Queues
	e.ClientSecretID = d.Secrets[localstack.ClientSecretLogicalID]
	e.SubmissionKeySecretID = d.Secrets[localstack.SubmissionKeySecretLogicalID]
	e.SubmissionKey = d.SecretValues[localstack.SubmissionKeySecretLogicalID]
	e.TokenSecretPrefix, err = resolveVar(tpl, d, "TOKEN_SECRET_PREFIX")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return e
}

// FunctionEnv is the environment the template gives a function
// ("CallbackFunction", "RefreshFunction", "SyncFunction"), pointing at this
// test's tables, secrets and prefix. SUBMISSION_QUEUE_URL needs WithQueues.
func (e *Env) FunctionEnv(t testing.TB, logicalID string) map[string]string {
	t.Helper()
	env, err := e.Deployment.FunctionEnvironment(e.Template, logicalID)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return env
}

// Setenv sets FunctionEnv(logicalID) in the process environment for the
// rest of the test (t.Setenv: not with t.Parallel).
func (e *Env) Setenv(t *testing.T, logicalID string) {
	t.Helper()
	for k, v := range e.FunctionEnv(t, logicalID) {
		t.Setenv(k, v)
	}
}

func (e *Env) cleanup(t testing.TB, local samtemplate.Local, d *samtemplate.Deployment) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d != nil {
		if err := local.Teardown(ctx, d); err != nil {
			t.Errorf("testenv cleanup: %v", err)
		}
	}
	if e.TokenSecretPrefix == "" {
		return
	}
	if err := local.DeleteSecretsUnder(ctx, e.TokenSecretPrefix); err != nil {
		t.Errorf("testenv cleanup: %v", err)
	}
}

// resolveVar resolves an environment variable that some function of the
// template has, the same for all.
func resolveVar(tpl *samtemplate.Template, d *samtemplate.Deployment, name string) (string, error) {
	for _, fn := range tpl.Functions {
		if v, ok := fn.Environment[name]; ok {
			return v.Resolve(d.Vars)
		}
	}
	return "", fmt.Errorf("no function of the template has %s", name)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
