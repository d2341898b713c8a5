package callbackfn

import (
	"strings"
	"testing"
)

func TestPublicBaseURL(t *testing.T) {
	for _, k := range []string{"CONNECTIONS_TABLE", "STATES_TABLE", "SESSIONS_TABLE", "REFRESH_FUNCTION_NAME", "ZOHO_CLIENT_SECRET_ID", "SUBMISSION_KEY_SECRET_ID", "TOKEN_SECRET_PREFIX"} {
		t.Setenv(k, "x")
	}
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"", true},
		{"https://api.example.com", true},
		{"https://api.example.com/", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://api.example.com", false},
		{"https://api.example.com/prod", false},
		{"https://api.example.com?x=1", false},
		{"https://user@api.example.com", false},
		{"api.example.com", false},
		{"ftp://api.example.com", false},
	} {
		t.Setenv("PUBLIC_BASE_URL", tc.value)
		c, err := LoadConfig()
		if tc.ok && (err != nil || c.PublicBaseURL != tc.value) {
			t.Errorf("%q: %v", tc.value, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL")) {
			t.Errorf("%q accepted: %v", tc.value, err)
		}
	}
}
