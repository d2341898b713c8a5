package logging

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	smithylog "github.com/aws/smithy-go/logging"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The secrets are typed, as the code holds them; the names no longer
// matter.
func TestSecretsAreRedacted(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, "debug")
	log.Info("x", "access_token", zoho.Secret("AT-1"), "refresh_token", zoho.Secret("RT-1"), "code", zoho.Secret("GC-1"),
		"client_secret", zoho.Secret("CS-1"), "submission_key", zoho.Secret("SK-1"), "Authorization", "AH-1",
		"state", zoho.Secret("ST-1"), "x_signature", zoho.Secret("SG-1"),
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

// What names alone used to hide: Zoho's refusal codes, states, key ids.
func TestNamesDecideNothing(t *testing.T) {
	var b bytes.Buffer
	New(&b, "debug").Info("Zoho refused the submission", "zoho_code", "INVALID_DATA", "error_code", "grant_expired",
		"state", "done", "state_hash", "5e1f00", "submission_key_id", "0f3a9c", "session_id", "cs_0042", "reason", "invalid_code",
		"token_expires_at", "2026")
	out := b.String()
	for _, kept := range []string{`"zoho_code":"INVALID_DATA"`, `"error_code":"grant_expired"`, `"state":"done"`, `"state_hash":"5e1f00"`,
		`"submission_key_id":"0f3a9c"`, `"session_id":"cs_0042"`, `"reason":"invalid_code"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %s: %s", kept, out)
		}
	}
}

// A secret stays redacted wherever it sits: given directly, inside a
// struct or a map given to slog.Any, in an error built with %v, in a
// group, in the logger's own attributes.
func TestTypedSecretsAreRedactedEverywhere(t *testing.T) {
	const secret = "1000.the-grant-code-itself"
	s := zoho.Secret(secret)
	type pending struct {
		ConnectionID string
		Code         zoho.Secret
		Token        *zoho.Token
	}
	var b bytes.Buffer
	log := New(&b, "debug").With("nonce", s)
	log.Info("x", "value", s,
		slog.Any("struct", pending{ConnectionID: "zc_struct", Code: s, Token: &zoho.Token{AccessToken: s, RefreshToken: s, APIDomain: "https://www.zohoapis.eu"}}),
		slog.Any("map", map[string]any{"code": s, "connection_id": "zc_map"}),
		"err", fmt.Errorf("exchange with %v failed", s),
		slog.Group("g", "inner", s))
	out := b.String()
	if strings.Contains(out, "the-grant-code") {
		t.Errorf("log contains the secret: %s", out)
	}
	for _, kept := range []string{`"ConnectionID":"zc_struct"`, `"connection_id":"zc_map"`, `"APIDomain":"https://www.zohoapis.eu"`,
		`"err":"exchange with [redacted] failed"`, `"value":"[redacted]"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %s: %s", kept, out)
		}
	}
}

// The net behind the types: a token or key of its exact shape that lost
// its type, and the headers that carry credentials.
func TestSecretShapesAndCredentialHeaders(t *testing.T) {
	const token = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
	keys, err := connection.NewSubmissionKeys([]byte(strings.Repeat("m", 32)))
	if err != nil {
		t.Fatal(err)
	}
	minted, _, _, err := keys.New("zc_1")
	if err != nil {
		t.Fatal(err)
	}
	key := minted.Reveal()
	var b bytes.Buffer
	log := New(&b, "debug")
	log.Info("x", "plain", token, "quoted", "Zoho said "+token+" twice: "+token, "key", key,
		"err", errors.New("refused "+key), "near_miss", "1000.short.abc",
		slog.Group("request", "authorization", "Bearer product-api-key", "Cookie", "__Host-zc_1=nonce-value"),
		slog.Any("headers", map[string]string{"Authorization": "Bearer product-api-key", "content-type": "application/json", "x-echo": token}),
		slog.Any("http", http.Header{"Set-Cookie": {"__Host-zc_1=nonce-value"}, "Accept": {"application/json"}}))
	out := b.String()
	for _, leak := range []string{"0123456789abcdef", key[4:20], "product-api-key", "nonce-value"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %s: %s", leak, out)
		}
	}
	for _, kept := range []string{`"quoted":"Zoho said [redacted] twice: [redacted]"`, `"err":"refused [redacted]"`,
		`"near_miss":"1000.short.abc"`, `"content-type":"application/json"`, `"Accept":["application/json"]`} {
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

func TestSDKLinesAreJSON(t *testing.T) {
	var b bytes.Buffer
	sdk := SDK{Log: New(&b, "debug")}
	sdk.Logf(smithylog.Warn, "failed to discard remaining HTTP response body, %v", "EOF")
	sdk.Logf(smithylog.Debug, "request %d", 1)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], `"msg":"failed to discard remaining HTTP response body, EOF"`) ||
		!strings.Contains(lines[0], `"source":"aws-sdk"`) || !strings.Contains(lines[1], `"level":"DEBUG"`) {
		t.Fatalf("%s", b.String())
	}
}
