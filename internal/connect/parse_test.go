package connect

import (
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestParseConnectQuery(t *testing.T) {
	tests := []struct {
		raw       string
		env       zoho.Environment
		startHost string
		wantErr   string
	}{
		{"", 0, "accounts.zoho.com", ""},
		{"environment=sandbox", zoho.Sandbox, "accounts.zoho.com", ""},
		{"environment=PRODUCTION&dc=eu", zoho.Production, "accounts.zoho.com", ""},
		{"environment=Developer&dc=CN", zoho.Developer, "accounts.zoho.com.cn", ""},
		{"dc=cn", 0, "accounts.zoho.com.cn", ""},
		{"environment=staging", 0, "", "environment must be"},
		{"dc=mars", 0, "", "dc \"mars\""},
		{"dc=cn&dc=us", 0, "", "more than once"},
		{"environment=%zz", 0, "", "not valid URL encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			r, err := ParseConnectQuery(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Environment != tt.env || r.Start.AuthorizationHost() != tt.startHost {
				t.Fatalf("got env %v start %s, want %v %s", r.Environment, r.Start.AuthorizationHost(), tt.env, tt.startHost)
			}
		})
	}
}

func TestParseCallbackQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want Redirect
		err  bool
	}{
		{"state=s1&code=1000.abc&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu&",
			Redirect{Code: "1000.abc", Location: "eu", AccountsServer: "https://accounts.zoho.eu", State: "s1"}, false},
		{"location=us&code=c&accounts-server=https://accounts.zoho.com&state=x",
			Redirect{Code: "c", Location: "us", AccountsServer: "https://accounts.zoho.com", State: "x"}, false},
		{"error=access_denied&state=x", Redirect{Error: "access_denied", State: "x"}, false},
		{"code=a&code=b&state=x", Redirect{}, true},
		{"accounts-server=https://accounts.zoho.eu&accounts-server=https://evil.example", Redirect{}, true},
		{strings.Repeat("a", maxQuery+1), Redirect{}, true},
	}
	for _, tt := range tests {
		got, err := ParseCallbackQuery(tt.raw)
		if (err != nil) != tt.err {
			t.Fatalf("%q: err = %v", tt.raw, err)
		}
		if got != tt.want {
			t.Fatalf("%q: got %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

// FuzzParseCallbackQuery checks that whatever a browser sends, the parser
// never panics, and that a redirect it accepts can only name a DC through
// the allowlist: when the pair verifies, the server is that DC's own.
func FuzzParseCallbackQuery(f *testing.F) {
	f.Add("state=s1&code=1000.abc&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu&")
	f.Add("code=x&location=ca&accounts-server=https%253A%252F%252Faccounts.zohocloud.ca")
	f.Add("code=x&location=eu&accounts-server=https://accounts.zoho.eu.evil.com")
	f.Add("error=access_denied&state=")
	f.Add("code=%00&location=%2F&accounts-server=https://accounts.zoho.com:443")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ParseCallbackQuery(raw)
		if err != nil {
			return
		}
		dc, err := zoho.VerifyCallbackServer(r.Location, r.AccountsServer)
		if err != nil {
			return
		}
		if !strings.Contains(strings.ToLower(r.AccountsServer), dc.AccountsHost) && !strings.Contains(strings.ToLower(r.AccountsServer), "%") {
			t.Fatalf("accepted server %q for %s", r.AccountsServer, dc.AccountsHost)
		}
		if !strings.EqualFold(strings.TrimSpace(strings.TrimRight(r.Location, "&")), dc.Location) && !strings.Contains(r.Location, "%") {
			t.Fatalf("accepted location %q as %s", r.Location, dc.Location)
		}
	})
}
