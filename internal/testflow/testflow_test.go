package testflow

import (
	"strings"
	"testing"
)

// The checker every integration suite relies on must itself find leaks.
func TestLeaks(t *testing.T) {
	token := "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
	key := "zsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefg"
	tests := []struct {
		name, text string
		want       string // "" none, else the start of the one description
	}{
		{"nothing", `{"msg":"connected","connection_id":"zc_0123"}`, ""},
		{"whole token", `{"msg":"x","t":"` + token + `"}`, "a secret (70 characters"},
		{"one half of the token", `{"sig":"fedcba9876543210fedcba9876543210"}`, "part of a secret"},
		{"24 characters inside a half", `…456789abcdef0123456789ab…`, "part of a secret"},
		{"the key without its prefix", `AbCdEfGhIjKlMnOpQrSt`, "part of a secret"},
		{"a short secret whole", `client_secret=s3cr3t-eu`, "a secret (9 characters"},
		{"15 characters of a long piece", `0123456789abcde`, ""},
		{"the token's client prefix", `1000.`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Leaks(tt.text, []string{token, key, "s3cr3t-eu", "", "short"})
			switch {
			case tt.want == "" && len(got) != 0:
				t.Fatalf("found %q", got)
			case tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.want)):
				t.Fatalf("found %q, want one %q", got, tt.want)
			}
		})
	}
}

func TestLeaksShowsOnlyTheStart(t *testing.T) {
	got := Leaks("s3cr3t-eu-value", []string{"s3cr3t-eu-value"})
	if len(got) != 1 || strings.Contains(got[0], "-eu-") || !strings.Contains(got[0], `"s3cr"`) {
		t.Fatalf("%q", got)
	}
}
