// Package app wires the functions: it builds each use case from its Config
// and the AWS clients, the same way for Lambda, the tests and `make dev`.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/callback"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// secretCacheTTL bounds how stale a cached client or master secret may be.
const secretCacheTTL = 5 * time.Minute

// ZohoHTTPClient makes the one Zoho HTTP client of a process, and logs the
// one warning interface.md asks for when the endpoint override is set.
func ZohoHTTPClient(override string, log *slog.Logger) (*http.Client, error) {
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: override})
	if err != nil {
		return nil, err
	}
	if override != "" {
		log.Warn("ZOHO_ENDPOINT_OVERRIDE is set: every Zoho request goes to "+override+" instead of Zoho", "override", override)
	}
	return hc, nil
}

// SubmissionKeySource builds the submission-key minter from its secret.
type SubmissionKeySource struct {
	Secret *awsstore.CachedSecret

	mu   sync.Mutex
	raw  string
	keys *connection.SubmissionKeys
}

// Keys returns the minter for the current master secret.
func (s *SubmissionKeySource) Keys(ctx context.Context) (*connection.SubmissionKeys, error) {
	raw, err := s.Secret.Value(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil || raw != s.raw {
		k, err := connection.NewSubmissionKeys([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Secret.ID, err)
		}
		s.raw, s.keys = raw, k
	}
	return s.keys, nil
}

// CRMFactory makes CRM clients for a token, sharing one HTTP client.
func CRMFactory(hc *http.Client) func(zoho.DataCenter, zoho.Environment, *zoho.Token) callback.CRM {
	return func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) callback.CRM {
		return zoho.NewClient(dc, env, zoho.StaticTokenSource(tok), hc)
	}
}

// NewCallback builds the callback function's handler.
func NewCallback(cfg callback.Config, aws aws.Config, log *slog.Logger) (*callback.Handler, error) {
	hc, err := ZohoHTTPClient(cfg.EndpointOverride, log)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	svc := &callback.Service{
		States:      &awsstore.StateStore{DB: db, Table: cfg.StatesTable},
		Connections: awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Tokens:      &awsstore.TokenVault{SM: sm, Prefix: cfg.TokenSecretPrefix},
		OAuth: &oauthclient.Source{
			Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.ClientSecretID, TTL: secretCacheTTL},
			Scopes: cfg.Scopes, HTTP: hc,
		},
		Keys:     &SubmissionKeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.SubmissionKeySecretID, TTL: secretCacheTTL}},
		NewCRM:   CRMFactory(hc),
		Log:      log,
		StateTTL: cfg.StateTTL,
	}
	return &callback.Handler{Service: svc, Log: log}, nil
}
