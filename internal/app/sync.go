package app

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// NewSync builds the sync function's handler: submissions from API
// Gateway and retries from the submission queue.
func NewSync(cfg submission.Config, aws aws.Config, log *slog.Logger) (*submission.Handler, error) {
	hc, err := ZohoHTTPClient(cfg.EndpointOverride, log)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	svc := &submission.Service{
		Connections: awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Tokens:      AccessTokens{Vault: &awsstore.TokenVault{SM: sm, Prefix: cfg.TokenSecretPrefix}},
		Keys:        &SubmissionKeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: secretCacheTTL}},
		Refresher:   &LambdaRefresher{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.RefreshFunctionName},
		NewCRM:      SyncCRMFactory(hc),
		Idempotency: &awsstore.IdempotencyStore{DB: db, Table: cfg.IdempotencyTable},
		Queue:       &awsstore.SubmissionQueue{SQS: sqs.NewFromConfig(aws), URL: cfg.QueueURL},
		Log:         log,
	}
	return &submission.Handler{Service: svc, Log: log, MaxBodyBytes: cfg.MaxBodyBytes}, nil
}

// SyncCRMFactory makes CRM clients for the sync function, sharing one
// HTTP client.
func SyncCRMFactory(hc *http.Client) func(zoho.DataCenter, zoho.Environment, *zoho.Token) submission.CRM {
	return func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) submission.CRM {
		return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc)
	}
}

// AccessTokens reads access tokens from the vault, telling "none stored"
// apart as submission.ErrNoToken.
type AccessTokens struct {
	Vault *awsstore.TokenVault
}

// AccessToken reads a connection's access token.
func (a AccessTokens) AccessToken(ctx context.Context, id string) (connection.AccessToken, error) {
	t, err := a.Vault.AccessToken(ctx, id)
	if errors.Is(err, awsstore.ErrNoSecret) {
		return t, fmt.Errorf("%w: %v", submission.ErrNoToken, err)
	}
	return t, err
}

// LambdaInvoker is the part of the Lambda client the refresher uses.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaRefresher refreshes one connection on demand by invoking the
// RefreshFunction with {"connection_id": "...", "rejected_token_expires_at":
// "<RFC 3339>"} (refresh.Request; the expiry only when a token was refused):
// the refresh happens there, under the lease the scheduled refresh uses,
// and sync never needs to read a refresh token.
type LambdaRefresher struct {
	Lambda       LambdaInvoker
	FunctionName string
}

// RefreshConnection invokes the refresh and reads its answer.
func (r *LambdaRefresher) RefreshConnection(ctx context.Context, id string, rejected time.Time) error {
	payload, err := json.Marshal(refresh.NewRequest(id, rejected))
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
	return ReadRefreshAnswer(out.Payload)
}

// ReadRefreshAnswer interprets RefreshFunction's answer for one connection
// (refresh.OneResult: {"connection_id","outcome"}): nil when the vault
// holds a token worth reading again, submission.ErrReauthRequired when
// the connection needs re-authorization, an error to try again later.
func ReadRefreshAnswer(b []byte) error {
	var a struct {
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("refresh answer is not JSON: %w", err)
	}
	switch a.Outcome {
	case "refreshed", "refreshed_by_another", "fresh":
		return nil
	case "reauth_required":
		return submission.ErrReauthRequired
	case "":
		return errors.New("refresh answer has no outcome")
	}
	return fmt.Errorf("refresh outcome %q", a.Outcome)
}
