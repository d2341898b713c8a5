// Package syncfn builds the SyncFunction (POST
// /connections/{connection_id}/submissions and the retries of the
// submission queue): its Config from the environment, its adapters
// (DynamoDB, Secrets Manager for access tokens only, SQS, Lambda for the
// on-demand refresh, Zoho's CRM) and the submission handler. The same
// builder serves Lambda (functions/sync), the tests and local runs.
package syncfn

import (
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/formpost"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstore"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
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
		Tokens:      tokentable.Open(cfg.Tokens, aws, cfg.TokenSecretPrefix, 0),
		Keys:        &connection.KeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: oauthclient.SecretCacheTTL}},
		Refresher:   &refreshinvoke.Client{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.RefreshFunctionName},
		NewCRM:      NewCRM(hc),
		Idempotency: &submissionstore.IdempotencyStore{DB: db, Table: cfg.IdempotencyTable},
		Queue:       &submissionstore.SubmissionQueue{SQS: sqs.NewFromConfig(aws), URL: cfg.QueueURL},
		Limiter:     submission.Limiter{Slots: &submissionstore.SlotStore{DB: db, Table: cfg.ConcurrencyTable}},
		RateLimit: submission.RateLimit{
			Counter:   &submissionstore.RateCounter{DB: db, Table: cfg.IdempotencyTable},
			PerMinute: cfg.SubmissionsPerMinute,
		},
		Log: log,
	}
	if cfg.ProductAPIKeySecretID != "" {
		svc.ProductKey = &awsstore.ProductKeys{SM: sm, ID: cfg.ProductAPIKeySecretID}
	}
	h := &submission.Handler{Service: svc, Log: log, MaxBodyBytes: cfg.MaxBodyBytes,
		Metrics: &metrics.Emitter{Log: log, Stage: cfg.Stage}}
	if cfg.FormsTable != "" {
		if h.Forms, err = newForms(cfg, db, svc, log); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// newForms builds the public forms' handler (/f/{form_id}): the forms
// table read only, the one CAPTCHA client, the submission rate counter,
// and the same submission service.
func newForms(cfg Config, db *dynamodb.Client, svc *submission.Service, log *slog.Logger) (*formpost.Handler, error) {
	hc, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: cfg.CaptchaEndpointOverride})
	if err != nil {
		return nil, err
	}
	if cfg.CaptchaEndpointOverride != "" {
		log.Warn("CAPTCHA_ENDPOINT_OVERRIDE is set: every CAPTCHA check goes to "+cfg.CaptchaEndpointOverride+" instead of the providers", "override", cfg.CaptchaEndpointOverride)
	}
	return &formpost.Handler{
		Forms:        &formstore.Store{DB: db, Table: cfg.FormsTable},
		Submit:       svc,
		Captcha:      &captcha.Verifier{HTTP: hc},
		Counter:      &submissionstore.RateCounter{DB: db, Table: cfg.IdempotencyTable},
		MaxBodyBytes: cfg.MaxBodyBytes,
		Log:          log.With("route", "form"),
		Metrics:      &metrics.Emitter{Log: log, Stage: cfg.Stage},
	}, nil
}

// NewCRM makes CRM clients for the sync function, sharing one HTTP client.
func NewCRM(hc *http.Client) func(zoho.DataCenter, zoho.Environment, *zoho.Token) submission.CRM {
	return func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) submission.CRM {
		return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc)
	}
}
