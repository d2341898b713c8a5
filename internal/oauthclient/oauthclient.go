// Package oauthclient builds the zoho.Config from the OAuth client secret
// in Secrets Manager, read lazily and cached, for the functions that talk
// to Zoho's accounts servers.
package oauthclient

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// SecretValue reads a secret's current value.
type SecretValue interface {
	Value(ctx context.Context) (string, error)
}

// Source makes a zoho.Config from the client secret.
type Source struct {
	Secret SecretValue
	Scopes []string
	HTTP   *http.Client

	mu   sync.Mutex
	raw  string
	conf *zoho.Config
}

// Config returns the OAuth client's config, rebuilt only when the secret
// changed.
func (s *Source) Config(ctx context.Context) (*zoho.Config, error) {
	raw, err := s.Secret.Value(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conf != nil && raw == s.raw {
		return s.conf, nil
	}
	cc, err := awsstore.ParseClientCredentials(raw)
	if err != nil {
		return nil, err
	}
	s.raw = raw
	s.conf = &zoho.Config{
		ClientID: cc.ClientID, ClientSecret: cc.ClientSecret, ClientSecrets: cc.ClientSecrets,
		RedirectURL: cc.RedirectURI, Scopes: s.Scopes, HTTPClient: s.HTTP,
	}
	return s.conf, nil
}

// ParseScopes splits a comma-separated scope list.
func ParseScopes(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// HTTPClient makes the one Zoho HTTP client of a process (zoho.NewHTTPClient)
// and logs the one warning at start that the endpoint override asks for.
func HTTPClient(override string, log *slog.Logger) (*http.Client, error) {
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: override})
	if err != nil {
		return nil, err
	}
	if override != "" {
		log.Warn("ZOHO_ENDPOINT_OVERRIDE is set: every Zoho request goes to "+override+" instead of Zoho", "override", override)
	}
	return hc, nil
}

// SecretCacheTTL bounds how stale a cached client or master secret may be.
const SecretCacheTTL = 5 * time.Minute
