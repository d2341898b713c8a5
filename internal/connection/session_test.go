package connection

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestSessionTokenOpensOnlyItsSession(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s, token, err := NewSession("tenant-1", now, DefaultSessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, ok := ParseSessionToken(token)
	if !ok || id != s.ID || strings.Contains(s.SecretHash, secret.Reveal()) {
		t.Fatalf("token %q parsed as %q %v; session %+v", token.Reveal(), id, ok, s)
	}
	if err := s.Open(secret, now.Add(29*time.Minute)); err != nil {
		t.Fatalf("open within its life: %v", err)
	}
	if err := s.Open(secret, now.Add(30*time.Minute)); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("open after its life: %v", err)
	}
	_, other, _ := NewSession("tenant-1", now, DefaultSessionTTL)
	_, otherSecret, _ := ParseSessionToken(other)
	if err := s.Open(otherSecret, now); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("another session's secret: %v", err)
	}
	s.Status = SessionCompleted
	if err := s.Open(secret, now); !errors.Is(err, ErrSessionCompleted) {
		t.Fatalf("completed: %v", err)
	}
	for _, bad := range []zoho.Secret{"", token + "x", zoho.Secret(strings.Replace(token.Reveal(), ".", "", 1)), "cs_zz" + token[5:], token[:len(token)-1] + "!"} {
		if _, _, ok := ParseSessionToken(bad); ok {
			t.Errorf("%q parsed", bad.Reveal())
		}
	}
}

func TestSessionInputs(t *testing.T) {
	for s, want := range map[string]bool{"t": true, "Acme.Inc:eu@x-1_2": true, "": false, strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false, "a b": false, "a/b": false, "é": false} {
		if ValidTenantID(s) != want {
			t.Errorf("ValidTenantID(%q) != %v", s, want)
		}
	}
	if err := CheckMetadata(map[string]string{"plan": "pro"}); err != nil {
		t.Error(err)
	}
	if err := CheckMetadata(map[string]string{"big": strings.Repeat("x", MaxMetadataBytes)}); err == nil {
		t.Error("oversized metadata accepted")
	}
	allowed := []string{"https://app.example.com", "http://localhost:3000 "}
	for raw, ok := range map[string]bool{
		"https://app.example.com/settings?x=1": true, "https://APP.example.com/": true, "http://localhost:3000/cb": true,
		"http://app.example.com/": false, "https://evil.example.com/": false, "https://app.example.com.evil.com/": false,
		"https://user@app.example.com/": false, "/relative": false, "javascript:alert(1)": false, "http://localhost:4000/": false,
	} {
		if err := CheckReturnURL(raw, allowed); (err == nil) != ok {
			t.Errorf("CheckReturnURL(%q) = %v", raw, err)
		}
	}
}

func TestValidateFieldNames(t *testing.T) {
	if err := ValidateFieldNames([]string{"Lead_Source", "Custom_Field__c1"}); err != nil {
		t.Error(err)
	}
	if err := ValidateFieldNames([]string{"Lead_Source", "lower", "$sys", ""}); err == nil || !strings.Contains(err.Error(), `"lower"`) || !strings.Contains(err.Error(), `"$sys"`) {
		t.Errorf("bad names: %v", err)
	}
}
