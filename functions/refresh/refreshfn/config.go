package refreshfn

import (
	"time"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Config is the refresh function's settings, from template.yaml.
type Config struct {
	ConnectionsTable  string
	ClientSecretID    string
	TokenSecretPrefix string
	// Tokens is where tokens are kept (TOKEN_STORE).
	Tokens config.TokenStore
	// Window: refresh access tokens that expire within it.
	Window  time.Duration
	Workers int
	// SecretWritesPerSecond paces PutSecretValue (the account shares 50/s).
	SecretWritesPerSecond int
	// Lease is how long a run holds a connection while refreshing it.
	Lease time.Duration
	// MaxConsecutiveFailures flags a connection after this many failures.
	MaxConsecutiveFailures int
	// IdleAfter: a connection unused this long is checked once a day
	// instead of kept fresh (IDLE_AFTER_HOURS; 0: never idle).
	IdleAfter time.Duration
	// FunctionName is RefreshFunction's own name (REFRESH_FUNCTION_NAME):
	// a scheduled run starts its shard workers, and a worker its
	// continuation, by invoking it. Empty: a run stays in one process.
	FunctionName string
	// Stage (STAGE) is the Stage dimension of every metric.
	Stage            string
	EndpointOverride string
	LogLevel         string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:       r.String("CONNECTIONS_TABLE"),
		ClientSecretID:         r.String("ZOHO_CLIENT_SECRET_ID"),
		TokenSecretPrefix:      r.String("TOKEN_SECRET_PREFIX"),
		Tokens:                 r.TokenStore(true),
		Window:                 r.Seconds("REFRESH_WINDOW_SECONDS", refresh.DefaultWindow),
		Workers:                r.Int("REFRESH_WORKERS", refresh.DefaultWorkers),
		SecretWritesPerSecond:  r.Int("SECRET_WRITES_PER_SECOND", 20),
		Lease:                  r.Seconds("LEASE_SECONDS", refresh.DefaultLease),
		MaxConsecutiveFailures: r.Int("MAX_CONSECUTIVE_FAILURES", refresh.DefaultMaxFailures),
		IdleAfter:              time.Duration(r.NonNegativeInt("IDLE_AFTER_HOURS", int(refresh.DefaultIdleAfter/time.Hour))) * time.Hour,
		FunctionName:           r.Optional("REFRESH_FUNCTION_NAME", ""),
		Stage:                  r.Optional("STAGE", metrics.LocalStage),
		EndpointOverride:       r.Optional(zoho.EndpointOverrideEnv, ""),
		LogLevel:               r.Optional("LOG_LEVEL", "info"),
	}
	return c, r.Err()
}
