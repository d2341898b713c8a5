package syncfn

import (
	"fmt"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// MaxBodyLimit caps MAX_BODY_BYTES: a queued record (at most about twice
// its body once JSON-escaped) must fit a DynamoDB item (400 KB).
const MaxBodyLimit = 128 << 10

// Config is the sync function's settings, from template.yaml.
type Config struct {
	ConnectionsTable string
	IdempotencyTable string
	// ConcurrencyTable keeps every org's CRM concurrency slots.
	ConcurrencyTable      string
	SubmissionKeySecretID string
	// ProductAPIKeySecretID (optional) lets the product's API key submit.
	ProductAPIKeySecretID string
	TokenSecretPrefix     string
	// Tokens is where tokens are kept (TOKEN_STORE): the access key only.
	Tokens              config.TokenStore
	QueueURL            string
	RefreshFunctionName string
	MaxBodyBytes        int
	// SubmissionsPerMinute (SUBMISSIONS_PER_CONNECTION_PER_MINUTE) is each
	// connection's limit of accepted submissions a minute; 0: none.
	SubmissionsPerMinute int
	// FormsTable (FORMS_TABLE, optional) serves public forms' posts,
	// /f/{form_id}; CaptchaEndpointOverride (CAPTCHA_ENDPOINT_OVERRIDE)
	// sends their CAPTCHA checks to a simulator.
	FormsTable              string
	CaptchaEndpointOverride string
	// Stage (STAGE) is the Stage dimension of every metric.
	Stage            string
	EndpointOverride string
	LogLevel         string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:        r.String("CONNECTIONS_TABLE"),
		IdempotencyTable:        r.String("IDEMPOTENCY_TABLE"),
		ConcurrencyTable:        r.String("CONCURRENCY_TABLE"),
		SubmissionKeySecretID:   r.String("SUBMISSION_KEY_SECRET_ID"),
		ProductAPIKeySecretID:   r.Optional("PRODUCT_API_KEY_SECRET_ID", ""),
		TokenSecretPrefix:       r.String("TOKEN_SECRET_PREFIX"),
		Tokens:                  r.TokenStore(false),
		QueueURL:                r.String("SUBMISSION_QUEUE_URL"),
		RefreshFunctionName:     r.String("REFRESH_FUNCTION_NAME"),
		MaxBodyBytes:            r.Int("MAX_BODY_BYTES", 65536),
		SubmissionsPerMinute:    r.NonNegativeInt("SUBMISSIONS_PER_CONNECTION_PER_MINUTE", 60),
		FormsTable:              r.Optional("FORMS_TABLE", ""),
		CaptchaEndpointOverride: r.Optional(captcha.EndpointOverrideEnv, ""),
		Stage:                   r.Optional("STAGE", metrics.LocalStage),
		EndpointOverride:        r.Optional(zoho.EndpointOverrideEnv, ""),
		LogLevel:                r.Optional("LOG_LEVEL", "info"),
	}
	err := r.Err()
	if c.MaxBodyBytes > MaxBodyLimit {
		e := fmt.Errorf("MAX_BODY_BYTES=%d is over %d (a queued record must fit one DynamoDB item)", c.MaxBodyBytes, MaxBodyLimit)
		if err != nil {
			e = fmt.Errorf("%w; %v", err, e)
		}
		return c, e
	}
	return c, err
}
