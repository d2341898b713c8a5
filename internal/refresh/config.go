package refresh

import (
	"time"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Config is the refresh function's settings, from template.yaml.
type Config struct {
	ConnectionsTable  string
	ClientSecretID    string
	TokenSecretPrefix string
	// Window: refresh access tokens that expire within it.
	Window  time.Duration
	Workers int
	// SecretWritesPerSecond paces PutSecretValue (the account shares 50/s).
	SecretWritesPerSecond int
	// Lease is how long a run holds a connection while refreshing it.
	Lease time.Duration
	// MaxConsecutiveFailures flags a connection after this many failures.
	MaxConsecutiveFailures int
	EndpointOverride       string
	LogLevel               string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:       r.String("CONNECTIONS_TABLE"),
		ClientSecretID:         r.String("ZOHO_CLIENT_SECRET_ID"),
		TokenSecretPrefix:      r.String("TOKEN_SECRET_PREFIX"),
		Window:                 time.Duration(r.Int("REFRESH_WINDOW_SECONDS", 1800)) * time.Second,
		Workers:                r.Int("REFRESH_WORKERS", 8),
		SecretWritesPerSecond:  r.Int("SECRET_WRITES_PER_SECOND", 20),
		Lease:                  time.Duration(r.Int("LEASE_SECONDS", 60)) * time.Second,
		MaxConsecutiveFailures: r.Int("MAX_CONSECUTIVE_FAILURES", 5),
		EndpointOverride:       r.Optional(zoho.EndpointOverrideEnv, ""),
		LogLevel:               r.Optional("LOG_LEVEL", "info"),
	}
	return c, r.Err()
}
