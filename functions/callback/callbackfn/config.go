package callbackfn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Config is the callback function's settings, from template.yaml.
type Config struct {
	ConnectionsTable string
	StatesTable      string
	SessionsTable    string
	// AllowAnonymous (ALLOW_ANONYMOUS_CONNECT) lets /connect start without
	// a connect session.
	AllowAnonymous        bool
	RefreshFunctionName   string
	ClientSecretID        string
	SubmissionKeySecretID string
	TokenSecretPrefix     string
	// Tokens is where tokens are kept (TOKEN_STORE): both keys, to write both.
	Tokens   config.TokenStore
	Scopes   []string
	StateTTL time.Duration
	// PublicBaseURL is the API's address under a custom domain; empty:
	// the domain API Gateway reports (see connect.Handler.CallbackURL).
	PublicBaseURL string
	// Stage (STAGE) is the Stage dimension of every metric.
	Stage            string
	EndpointOverride string
	LogLevel         string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		ConnectionsTable:      r.String("CONNECTIONS_TABLE"),
		StatesTable:           r.String("STATES_TABLE"),
		SessionsTable:         r.String("SESSIONS_TABLE"),
		AllowAnonymous:        r.Bool("ALLOW_ANONYMOUS_CONNECT", false),
		RefreshFunctionName:   r.String("REFRESH_FUNCTION_NAME"),
		ClientSecretID:        r.String("ZOHO_CLIENT_SECRET_ID"),
		SubmissionKeySecretID: r.String("SUBMISSION_KEY_SECRET_ID"),
		TokenSecretPrefix:     r.String("TOKEN_SECRET_PREFIX"),
		Tokens:                r.TokenStore(true),
		Scopes:                oauthclient.ParseScopes(r.Optional("ZOHO_SCOPES", "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.settings.fields.READ")),
		StateTTL:              r.Seconds("STATE_TTL_SECONDS", connect.DefaultStateTTL),
		PublicBaseURL:         r.Optional("PUBLIC_BASE_URL", ""),
		Stage:                 r.Optional("STAGE", metrics.LocalStage),
		EndpointOverride:      r.Optional(zoho.EndpointOverrideEnv, ""),
		LogLevel:              r.Optional("LOG_LEVEL", "info"),
	}
	err := r.Err()
	if perr := checkBaseURL(c.PublicBaseURL); perr != nil {
		err = errors.Join(err, perr)
	}
	return c, err
}

// checkBaseURL accepts an origin: https (http only on a loopback host, for
// local runs), no path, query or fragment.
func checkBaseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	bad := err != nil || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != ""
	if !bad && u.Scheme != "https" {
		ip := net.ParseIP(u.Hostname())
		bad = u.Scheme != "http" || !(u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())
	}
	if bad {
		return fmt.Errorf("PUBLIC_BASE_URL=%q is not an https origin such as https://api.example.com", s)
	}
	return nil
}
