// Package callbackfn builds the CallbackFunction (GET /connect and GET
// /oauth/callback): its Config from the environment, its adapters
// (DynamoDB, Secrets Manager, Zoho) and the connect handler. The same
// builder serves Lambda (functions/callback), the tests and local runs.
package callbackfn

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// New builds the callback function's handler.
func New(cfg Config, aws aws.Config, log *slog.Logger) (*connect.Handler, error) {
	hc, err := oauthclient.HTTPClient(cfg.EndpointOverride, log)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	svc := &connect.Service{
		States:         &awsstore.StateStore{DB: db, Table: cfg.StatesTable},
		Sessions:       &awsstore.SessionStore{DB: db, Table: cfg.SessionsTable},
		Revoker:        &refreshinvoke.Client{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.RefreshFunctionName},
		AllowAnonymous: cfg.AllowAnonymous,
		Connections:    awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Tokens:         tokentable.Open(cfg.Tokens, aws, cfg.TokenSecretPrefix, 0),
		OAuth: &oauthclient.Source{
			Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.ClientSecretID, TTL: oauthclient.SecretCacheTTL},
			Scopes: cfg.Scopes, HTTP: hc,
		},
		Keys: &connection.KeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: oauthclient.SecretCacheTTL}},
		NewCRM: func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) connect.CRM {
			return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc)
		},
		Log:      log,
		StateTTL: cfg.StateTTL,
	}
	return &connect.Handler{Service: svc, Log: log, PublicBaseURL: cfg.PublicBaseURL,
		Metrics: &metrics.Emitter{Log: log, Stage: cfg.Stage}}, nil
}
