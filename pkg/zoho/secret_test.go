package zoho_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

const secretValue = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"

func TestSecretNeverPrintsItself(t *testing.T) {
	s := zoho.Secret(secretValue)
	tok := &zoho.Token{AccessToken: s, RefreshToken: s, APIDomain: "https://www.zohoapis.eu"}
	cfg := zoho.Config{ClientID: "1000.ID", ClientSecret: s, ClientSecrets: map[string]zoho.Secret{"eu": s}}
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	text, _ := s.MarshalText()
	outputs := map[string]string{
		"%v":              fmt.Sprintf("%v", s),
		"%s":              fmt.Sprintf("%s", s),
		"%q":              fmt.Sprintf("%q", s),
		"%#v":             fmt.Sprintf("%#v", s),
		"%x":              fmt.Sprintf("%x", s),
		"%+v of a token":  fmt.Sprintf("%+v", tok),
		"%#v of a token":  fmt.Sprintf("%#v", *tok),
		"%+v of a config": fmt.Sprintf("%+v", cfg),
		"an error's %v":   fmt.Errorf("refresh with %v failed", s).Error(),
		"JSON":            jsonOf(s),
		"JSON of a token": jsonOf(tok),
		"JSON of a map":   jsonOf(map[string]any{"t": s, "m": map[string]zoho.Secret{"key": s}}),
		"text":            string(text),
	}
	for what, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(out, "0123456789abcdef") || strings.Contains(out, hexOf(secretValue)[:32]) {
			t.Errorf("%s shows the secret: %s", what, out)
		}
		if !strings.Contains(out, "[redacted]") && !strings.Contains(out, hexOf("[redacted]")) {
			t.Errorf("%s does not say [redacted]: %s", what, out)
		}
	}
	if s.Reveal() != secretValue {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

func TestSecretLogsRedacted(t *testing.T) {
	s := zoho.Secret(secretValue)
	type holder struct {
		ConnectionID string
		Token        zoho.Secret
	}
	var b bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("x", "token", s, slog.Any("holder", holder{"zc_1", s}), slog.Any("map", map[string]zoho.Secret{"k": s}),
		slog.Any("tok", &zoho.Token{AccessToken: s}), "err", fmt.Errorf("wrapped: %v", s), slog.Group("g", "inner", s))
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("x", "token", s, slog.Any("holder", holder{"zc_1", s}))
	for _, out := range []string{b.String(), text.String()} {
		if strings.Contains(out, "0123456789abcdef") {
			t.Errorf("log shows the secret: %s", out)
		}
		if !strings.Contains(out, "zc_1") {
			t.Errorf("log lost the rest: %s", out)
		}
	}
}

func TestSecretDecodes(t *testing.T) {
	var v struct {
		Token zoho.Secret `json:"token"`
	}
	if err := json.Unmarshal([]byte(`{"token":"`+secretValue+`"}`), &v); err != nil || v.Token.Reveal() != secretValue {
		t.Fatalf("decoded %v %v", v.Token.Reveal() == secretValue, err)
	}
	var e error = fmt.Errorf("%w: %s", errors.New("x"), v.Token)
	if strings.Contains(e.Error(), secretValue) {
		t.Fatal("the decoded secret prints itself")
	}
}
