// Package localstack reaches the local stack (DynamoDB Local and moto,
// started by scripts/localstack.sh): the endpoints from the environment,
// refused unless they are on this machine, an aws.Config for them, and the
// project's template.yaml. The test harness (internal/testenv), the local
// runs (make dev, make demo) and the bench commands share it; it does not
// link the testing package.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// The environment variables that name the local endpoints (written by
// scripts/localstack.sh into .cache/localstack.env, sourced by the Makefile).
const (
	EnvDynamoDB       = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvSecretsManager = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
	EnvSQS            = "AWS_ENDPOINT_URL_SQS"
	EnvEventBridge    = "AWS_ENDPOINT_URL_EVENTBRIDGE"
	// EnvKMS is moto's KMS: the DynamoDB token store's keys.
	EnvKMS = "AWS_ENDPOINT_URL_KMS"
)

// Logical ids of the template resources the harness fills in.
const (
	ClientSecretLogicalID        = "ZohoClientSecret"
	SubmissionKeySecretLogicalID = "SubmissionKeySecret"
)

// ClientSecret is the OAuth client secret's JSON value (README.md, "Deploy").
type ClientSecret struct {
	ClientID      string            `json:"client_id"`
	ClientSecret  string            `json:"client_secret"`
	RedirectURI   string            `json:"redirect_uri"`
	ClientSecrets map[string]string `json:"client_secrets,omitempty"`
}

// Endpoints are the local service endpoints. DynamoDB Local also serves
// the DynamoDB Streams API, at the DynamoDB endpoint.
type Endpoints struct {
	DynamoDB, SecretsManager, SQS, EventBridge, KMS string
	Region                                          string
}

// EndpointsFromEnv reads the endpoints and checks that they are on this
// machine, so a test can never reach real AWS.
func EndpointsFromEnv() (Endpoints, error) {
	e := Endpoints{
		DynamoDB:       os.Getenv(EnvDynamoDB),
		SecretsManager: os.Getenv(EnvSecretsManager),
		SQS:            os.Getenv(EnvSQS),
		EventBridge:    os.Getenv(EnvEventBridge),
		KMS:            os.Getenv(EnvKMS),
		Region:         os.Getenv("AWS_REGION"),
	}
	if e.Region == "" {
		e.Region = "us-east-1"
	}
	for name, v := range map[string]string{EnvDynamoDB: e.DynamoDB, EnvSecretsManager: e.SecretsManager, EnvSQS: e.SQS, EnvEventBridge: e.EventBridge, EnvKMS: e.KMS} {
		if v == "" {
			return e, fmt.Errorf("%s is not set: run `make test`, which starts the local stack "+
				"(or `make stack-up` and `. .cache/localstack.env` before go test -tags integration)", name)
		}
		u, err := url.Parse(v)
		if err != nil || u.Hostname() == "" {
			return e, fmt.Errorf("%s=%q is not a URL", name, v)
		}
		if !isLoopback(u.Hostname()) {
			return e, fmt.Errorf("%s=%q is not a loopback address: integration tests only talk to the local stack", name, v)
		}
	}
	return e, nil
}

// quietLogger drops the SDK's warning about DynamoDB Local's error
// responses, whose x-amz-crc32 header does not match their body: every
// ConditionalCheckFailed would print one.
type quietLogger struct{ next logging.Logger }

func (l quietLogger) Logf(c logging.Classification, format string, v ...any) {
	if strings.Contains(format, "expected checksum") || strings.Contains(fmt.Sprintf(format, v...), "expected checksum") {
		return
	}
	l.next.Logf(c, format, v...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewConfig is an aws.Config for the local stack: static dummy
// credentials, the endpoints' region, and endpoint resolution from the
// AWS_ENDPOINT_URL_* variables.
func NewConfig(ctx context.Context, e Endpoints) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(e.Region),
		config.WithLogger(quietLogger{logging.NewStandardLogger(os.Stderr)}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		// Don't let a developer's ~/.aws profile steer the tests.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
}

var (
	templateOnce sync.Once
	template     *samtemplate.Template
	templateErr  error
)

// Template is the project's template.yaml, parsed once.
func Template() (*samtemplate.Template, error) {
	templateOnce.Do(func() {
		var path string
		path, templateErr = findTemplate()
		if templateErr == nil {
			template, templateErr = samtemplate.Load(path)
		}
	})
	return template, templateErr
}

// findTemplate walks up from the working directory (a package directory
// under go test) to the module root holding template.yaml.
func findTemplate() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "template.yaml")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localstack: no template.yaml beside a go.mod above the working directory")
		}
		dir = parent
	}
}
