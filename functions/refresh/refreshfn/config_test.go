package refreshfn

import (
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestLoadConfig(t *testing.T) {
	for _, k := range []string{"REFRESH_WINDOW_SECONDS", "REFRESH_WORKERS", "SECRET_WRITES_PER_SECOND", "LEASE_SECONDS", "MAX_CONSECUTIVE_FAILURES", zoho.EndpointOverrideEnv, "LOG_LEVEL"} {
		t.Setenv(k, "")
	}
	t.Setenv("CONNECTIONS_TABLE", "")
	t.Setenv("ZOHO_CLIENT_SECRET_ID", "")
	t.Setenv("TOKEN_SECRET_PREFIX", "")
	_, err := LoadConfig()
	for _, name := range []string{"CONNECTIONS_TABLE", "ZOHO_CLIENT_SECRET_ID", "TOKEN_SECRET_PREFIX"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s not reported: %v", name, err)
		}
	}
	t.Setenv("CONNECTIONS_TABLE", "conns")
	t.Setenv("ZOHO_CLIENT_SECRET_ID", "arn:secret")
	t.Setenv("TOKEN_SECRET_PREFIX", "zohoconnect/dev/")
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != 30*time.Minute || c.Workers != 8 || c.SecretWritesPerSecond != 20 || c.Lease != time.Minute || c.MaxConsecutiveFailures != 5 || c.LogLevel != "info" {
		t.Errorf("defaults: %+v", c)
	}
	t.Setenv("REFRESH_WORKERS", "zero")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "REFRESH_WORKERS") {
		t.Errorf("bad REFRESH_WORKERS: %v", err)
	}
}
