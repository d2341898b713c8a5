package syncfn

import (
	"strings"
	"testing"
)

func TestLoadConfigRateLimit(t *testing.T) {
	for k, v := range map[string]string{
		"CONNECTIONS_TABLE": "conns", "IDEMPOTENCY_TABLE": "idem", "CONCURRENCY_TABLE": "slots", "SUBMISSION_KEY_SECRET_ID": "arn:key",
		"TOKEN_SECRET_PREFIX": "zohoconnect/dev/", "SUBMISSION_QUEUE_URL": "http://127.0.0.1:1/q", "REFRESH_FUNCTION_NAME": "refresh",
		"SUBMISSIONS_PER_CONNECTION_PER_MINUTE": "",
	} {
		t.Setenv(k, v)
	}
	for v, want := range map[string]int{"": 60, "0": 0, "120": 120} {
		t.Setenv("SUBMISSIONS_PER_CONNECTION_PER_MINUTE", v)
		c, err := LoadConfig()
		if err != nil || c.SubmissionsPerMinute != want {
			t.Errorf("%q: %d %v, want %d", v, c.SubmissionsPerMinute, err, want)
		}
	}
	t.Setenv("SUBMISSIONS_PER_CONNECTION_PER_MINUTE", "-5")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "SUBMISSIONS_PER_CONNECTION_PER_MINUTE") {
		t.Errorf("-5: %v", err)
	}
}
