package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestSecretsAreRedacted(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, "debug")
	log.Info("x", "access_token", "AT-1", "refresh_token", "RT-1", "code", "GC-1", "client_secret", "CS-1",
		"submission_key", "SK-1", "Authorization", "AH-1", "state", "ST-1", "x_signature", "SG-1",
		"status_code", 200, "connection_id", "zc_1", "token_expires_at", "2026")
	out := b.String()
	for _, secret := range []string{"AT-1", "RT-1", "GC-1", "CS-1", "SK-1", "AH-1", "ST-1", "SG-1"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %s: %s", secret, out)
		}
	}
	for _, kept := range []string{`"status_code":200`, `"connection_id":"zc_1"`, `"token_expires_at":"2026"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %s: %s", kept, out)
		}
	}
}

func TestLevel(t *testing.T) {
	var b bytes.Buffer
	New(&b, "warn").Info("hidden")
	New(&b, "nonsense").Debug("hidden too")
	if b.Len() != 0 {
		t.Fatalf("logged below the level: %s", b.String())
	}
}
