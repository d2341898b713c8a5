// Package benchstack gives a benchmark command (cmd/refreshbench,
// cmd/syncbench, cmd/formbench) its own resources in the local stack:
// template.yaml's tables and secrets (and queues) under a fresh stage,
// deleted again at the end; and its Meter, which counts the AWS calls and
// times the round trips to AWS, Zoho and the CAPTCHA providers apart.
// Tests use testenv, which does the same per test.
package benchstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// Stack is the local stack as scripts/localstack.sh left it in the
// environment: its endpoints, and an aws.Config for them (to instrument
// before making clients); with the template to deploy.
type Stack struct {
	Endpoints localstack.Endpoints
	Template  *samtemplate.Template
	Config    aws.Config
}

// Open finds the local stack and reads template.yaml.
func Open(ctx context.Context) (*Stack, error) {
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		return nil, err
	}
	tpl, err := localstack.Template()
	if err != nil {
		return nil, err
	}
	cfg, err := localstack.NewConfig(ctx, eps)
	if err != nil {
		return nil, err
	}
	return &Stack{Endpoints: eps, Template: tpl, Config: cfg}, nil
}

// Options say what Deploy makes.
type Options struct {
	// Stage names everything made ("bench-<Stage>-...") and is the
	// template's Stage, so TOKEN_SECRET_PREFIX is "zohoconnect/<Stage>/".
	Stage string
	// ClientID and ClientSecret are the OAuth client secret's value, with
	// the redirect URI https://bench.example/oauth/callback.
	ClientID, ClientSecret string
	// Params are more template parameters, such as ZohoEndpointOverride.
	Params map[string]string
	// Queues also makes the template's queues (clients.SQS must be set).
	Queues bool
}

// Deployment is what Deploy made; Close deletes it.
type Deployment struct {
	*samtemplate.Deployment
	// TokenSecretPrefix is the functions' TOKEN_SECRET_PREFIX: Close also
	// deletes the token secrets made under it.
	TokenSecretPrefix string

	clients samtemplate.Local
}

// Deploy makes the template's tables and secrets (and queues) with
// clients. When it fails it deletes what it made.
func (s *Stack) Deploy(ctx context.Context, clients samtemplate.Local, o Options) (*Deployment, error) {
	vars := map[string]string{"Stage": o.Stage, "AWS::Region": s.Endpoints.Region, "AWS::StackName": "zohoconnect-" + o.Stage}
	for k, v := range o.Params {
		vars[k] = v
	}
	secretJSON := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"redirect_uri":"https://bench.example/oauth/callback"}`, o.ClientID, o.ClientSecret)
	d, err := clients.Deploy(ctx, s.Template, samtemplate.DeployOptions{
		Prefix:        "bench-" + o.Stage,
		Vars:          vars,
		SecretStrings: map[string]string{localstack.ClientSecretLogicalID: secretJSON},
		Queues:        o.Queues,
	})
	dep := &Deployment{Deployment: d, TokenSecretPrefix: "zohoconnect/" + o.Stage + "/", clients: clients}
	if err != nil {
		return nil, errors.Join(err, dep.Close())
	}
	return dep, nil
}

// Close deletes the deployment and every secret under TokenSecretPrefix.
// It goes on past errors and returns them joined.
func (d *Deployment) Close() error { return d.CloseWithin(2 * time.Minute) }

// CloseWithin is Close given timeout (tens of thousands of token secrets
// take moto minutes to delete).
func (d *Deployment) CloseWithin(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if d.Deployment != nil {
		errs = append(errs, d.clients.Teardown(ctx, d.Deployment))
	}
	errs = append(errs, d.clients.DeleteSecretsUnder(ctx, d.TokenSecretPrefix))
	return errors.Join(errs...)
}
