// Package syncfn builds the SyncFunction (POST
// /connections/{connection_id}/submissions and the retries of the
// submission queue): its Config from the environment, its adapters
// (DynamoDB, Secrets Manager for access tokens only, SQS, Lambda for the
// on-demand refresh, Zoho's CRM) and the submission handler. The same
// builder serves Lambda (functions/sync), the tests and local runs.
package syncfn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// New builds the sync function's handler: submissions from API Gateway
// and retries from the submission queue.
func New(cfg Config, aws aws.Config, log *slog.Logger) (*submission.Handler, error) {
	hc, err := oauthclient.HTTPClient(cfg.EndpointOverride, log)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	svc := &submission.Service{
		Connections: awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Tokens:      &awsstore.TokenVault{SM: sm, Prefix: cfg.TokenSecretPrefix},
		Keys:        &connection.KeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: oauthclient.SecretCacheTTL}},
		Refresher:   &LambdaRefresher{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.RefreshFunctionName},
		NewCRM:      NewCRM(hc),
		Idempotency: &submissionstore.IdempotencyStore{DB: db, Table: cfg.IdempotencyTable},
		Queue:       &submissionstore.SubmissionQueue{SQS: sqs.NewFromConfig(aws), URL: cfg.QueueURL},
		Log:         log,
	}
	if cfg.ProductAPIKeySecretID != "" {
		svc.ProductKey = &awsstore.ProductKeys{SM: sm, ID: cfg.ProductAPIKeySecretID}
	}
	return &submission.Handler{Service: svc, Log: log, MaxBodyBytes: cfg.MaxBodyBytes,
		Metrics: &metrics.Emitter{Log: log, Stage: cfg.Stage}}, nil
}

// NewCRM makes CRM clients for the sync function, sharing one HTTP client.
func NewCRM(hc *http.Client) func(zoho.DataCenter, zoho.Environment, *zoho.Token) submission.CRM {
	return func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) submission.CRM {
		return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc)
	}
}

// LambdaInvoker is the part of the Lambda client the refresher uses.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaRefresher refreshes one connection on demand by invoking the
// RefreshFunction with an ondemand.Request: the refresh happens there,
// under the lease the scheduled refresh uses, and sync never needs to read
// a refresh token.
type LambdaRefresher struct {
	Lambda       LambdaInvoker
	FunctionName string
}

// RefreshConnection invokes the refresh and reads its answer
// (ondemand.ReadAnswer).
func (r *LambdaRefresher) RefreshConnection(ctx context.Context, id string, rejected time.Time) error {
	payload, err := json.Marshal(ondemand.NewRequest(id, rejected))
	if err != nil {
		return err
	}
	out, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: &r.FunctionName, Payload: payload})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", r.FunctionName, err)
	}
	if out.FunctionError != nil {
		return fmt.Errorf("invoke %s: function error %s", r.FunctionName, *out.FunctionError)
	}
	return ondemand.ReadAnswer(out.Payload)
}
