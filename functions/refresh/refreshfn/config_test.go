package refreshfn

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestLoadConfig(t *testing.T) {
	for _, k := range []string{"IDLE_AFTER_HOURS", "REFRESH_FUNCTION_NAME", "REFRESH_WINDOW_SECONDS", "REFRESH_WORKERS", "SECRET_WRITES_PER_SECOND", "LEASE_SECONDS", "MAX_CONSECUTIVE_FAILURES", zoho.EndpointOverrideEnv, "LOG_LEVEL"} {
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
	if c.IdleAfter != 24*time.Hour || c.FunctionName != "" {
		t.Errorf("idle after %v, function name %q", c.IdleAfter, c.FunctionName)
	}
	t.Setenv("IDLE_AFTER_HOURS", "0")
	t.Setenv("REFRESH_FUNCTION_NAME", "stack-refresh")
	if c, err := LoadConfig(); err != nil || c.IdleAfter != 0 || c.FunctionName != "stack-refresh" {
		t.Errorf("IDLE_AFTER_HOURS=0, REFRESH_FUNCTION_NAME: %+v %v", c, err)
	}
	t.Setenv("IDLE_AFTER_HOURS", "-1")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "IDLE_AFTER_HOURS") {
		t.Errorf("bad IDLE_AFTER_HOURS: %v", err)
	}
	t.Setenv("IDLE_AFTER_HOURS", "")
	t.Setenv("REFRESH_WORKERS", "zero")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "REFRESH_WORKERS") {
		t.Errorf("bad REFRESH_WORKERS: %v", err)
	}
}

// With its own name the function fans out through Lambda, each worker
// paced at its share of the deployment's rate; without, a run stays in
// one process at the whole rate.
func TestNewFansOutOnlyWithItsOwnName(t *testing.T) {
	cfg := Config{ConnectionsTable: "conns", ClientSecretID: "arn:secret", TokenSecretPrefix: "zohoconnect/dev/",
		Workers: 8, SecretWritesPerSecond: 20, IdleAfter: 24 * time.Hour}
	h, err := New(cfg, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h.Workers != nil || h.Service.Workers != 8 || h.Service.IdleAfter != 24*time.Hour {
		t.Errorf("in one process: workers %v, pool %d, idle after %v", h.Workers, h.Service.Workers, h.Service.IdleAfter)
	}
	cfg.FunctionName = "stack-refresh"
	if h, err = New(cfg, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if c, ok := h.Workers.(*refreshinvoke.Client); !ok || c.FunctionName != "stack-refresh" || h.Service.Workers != 7 {
		t.Errorf("fanned out: workers %#v, pool %d", h.Workers, h.Service.Workers)
	}
}
