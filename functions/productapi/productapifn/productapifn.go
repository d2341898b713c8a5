// Package productapifn builds the ProductApiFunction (the product API: connect
// sessions, connections, submission keys): its Config from the
// environment, its adapters (DynamoDB, Secrets Manager for the product's
// key and the submission-key master, Lambda to have RefreshFunction
// revoke) and the product handler. The same builder serves Lambda
// (functions/api), the tests and local runs.
package productapifn

import (
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstore"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/product"
	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"
)

// Config is the product API function's settings, from template.yaml.
type Config struct {
	ConnectionsTable      string
	SessionsTable         string
	ProductAPIKeySecretID string
	SubmissionKeySecretID string
	RefreshFunctionName   string
	ReturnURLOrigins      []string
	SessionTTL            time.Duration
	PublicBaseURL         string
	// FormsTable (FORMS_TABLE, optional) serves the forms routes.
	FormsTable string
	LogLevel   string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:      r.String("CONNECTIONS_TABLE"),
		SessionsTable:         r.String("SESSIONS_TABLE"),
		ProductAPIKeySecretID: r.String("PRODUCT_API_KEY_SECRET_ID"),
		SubmissionKeySecretID: r.String("SUBMISSION_KEY_SECRET_ID"),
		RefreshFunctionName:   r.String("REFRESH_FUNCTION_NAME"),
		SessionTTL:            r.Seconds("CONNECT_SESSION_TTL_SECONDS", connection.DefaultSessionTTL),
		PublicBaseURL:         r.Optional("PUBLIC_BASE_URL", ""),
		FormsTable:            r.Optional("FORMS_TABLE", ""),
		LogLevel:              r.Optional("LOG_LEVEL", "info"),
	}
	for _, o := range strings.Split(r.Optional("RETURN_URL_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.ReturnURLOrigins = append(c.ReturnURLOrigins, o)
		}
	}
	return c, r.Err()
}

// New builds the product API's handler.
func New(cfg Config, aws aws.Config, log *slog.Logger) (*product.Handler, error) {
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	svc := &product.Service{
		Sessions:         &awsstore.SessionStore{DB: db, Table: cfg.SessionsTable},
		Connections:      awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Keys:             &connection.KeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: oauthclient.SecretCacheTTL}},
		Revoker:          &refreshinvoke.Client{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.RefreshFunctionName},
		ReturnURLOrigins: cfg.ReturnURLOrigins,
		SessionTTL:       cfg.SessionTTL,
		Log:              log,
	}
	h := &product.Handler{
		Service: svc, Log: log, PublicBaseURL: cfg.PublicBaseURL,
		Keys: &awsstore.ProductKeys{SM: sm, ID: cfg.ProductAPIKeySecretID},
	}
	if cfg.FormsTable != "" {
		h.Forms = &forms.Admin{Forms: &formstore.Store{DB: db, Table: cfg.FormsTable}, Connections: svc.Connections, Log: log}
	}
	return h, nil
}
