package callbackfn

import (
	"time"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Config is the callback function's settings, from template.yaml.
type Config struct {
	ConnectionsTable      string
	StatesTable           string
	ClientSecretID        string
	SubmissionKeySecretID string
	TokenSecretPrefix     string
	Scopes                []string
	StateTTL              time.Duration
	EndpointOverride      string
	LogLevel              string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:      r.String("CONNECTIONS_TABLE"),
		StatesTable:           r.String("STATES_TABLE"),
		ClientSecretID:        r.String("ZOHO_CLIENT_SECRET_ID"),
		SubmissionKeySecretID: r.String("SUBMISSION_KEY_SECRET_ID"),
		TokenSecretPrefix:     r.String("TOKEN_SECRET_PREFIX"),
		Scopes:                oauthclient.ParseScopes(r.Optional("ZOHO_SCOPES", "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ")),
		StateTTL:              r.Seconds("STATE_TTL_SECONDS", connect.DefaultStateTTL),
		EndpointOverride:      r.Optional(zoho.EndpointOverrideEnv, ""),
		LogLevel:              r.Optional("LOG_LEVEL", "info"),
	}
	return c, r.Err()
}
