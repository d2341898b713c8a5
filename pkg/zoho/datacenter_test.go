package zoho_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// hostTable is zoho-facts.md's table, spelled out: a typo in the code's
// table must not be mirrored here by a pattern.
var hostTable = []struct {
	location, accounts, production, sandbox, developer string
	unconfirmed                                        bool
}{
	{"us", "https://accounts.zoho.com", "https://www.zohoapis.com", "https://sandbox.zohoapis.com", "https://developer.zohoapis.com", false},
	{"eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://sandbox.zohoapis.eu", "https://developer.zohoapis.eu", false},
	{"in", "https://accounts.zoho.in", "https://www.zohoapis.in", "https://sandbox.zohoapis.in", "https://developer.zohoapis.in", false},
	{"au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://sandbox.zohoapis.com.au", "https://developer.zohoapis.com.au", false},
	{"cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://sandbox.zohoapis.com.cn", "https://developer.zohoapis.com.cn", false},
	{"jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://sandbox.zohoapis.jp", "https://developer.zohoapis.jp", false},
	{"ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://sandbox.zohoapis.ca", "https://developer.zohoapis.ca", false},
	{"sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://sandbox.zohoapis.sa", "https://developer.zohoapis.sa", false},
	{"uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk", "https://sandbox.zohoapis.uk", "https://developer.zohoapis.uk", true},
}

func TestDataCenterHosts(t *testing.T) {
	dcs := zoho.DataCenters()
	if len(dcs) != len(hostTable) {
		t.Fatalf("DataCenters() has %d entries, the facts table %d", len(dcs), len(hostTable))
	}
	if dcs[0].Location != "us" {
		t.Errorf("DataCenters()[0] = %q, want us first", dcs[0].Location)
	}
	for _, want := range hostTable {
		t.Run(want.location, func(t *testing.T) {
			dc, err := zoho.ByLocation(want.location)
			if err != nil {
				t.Fatal(err)
			}
			if got := dc.AccountsURL(); got != want.accounts {
				t.Errorf("AccountsURL() = %q, want %q", got, want.accounts)
			}
			if got := "https://" + dc.AccountsHost; got != want.accounts {
				t.Errorf("AccountsHost = %q", dc.AccountsHost)
			}
			for env, wantURL := range map[zoho.Environment]string{
				zoho.Production: want.production, zoho.Sandbox: want.sandbox, zoho.Developer: want.developer,
			} {
				if got := dc.APIURL(env); got != wantURL {
					t.Errorf("APIURL(%s) = %q, want %q", env, got, wantURL)
				}
				if got := dc.APIHost(env); got != strings.TrimPrefix(wantURL, "https://") {
					t.Errorf("APIHost(%s) = %q, want %q", env, got, wantURL)
				}
				gotDC, gotEnv, err := zoho.ByAPIDomain(wantURL)
				if err != nil || gotDC.Location != want.location || gotEnv != env {
					t.Errorf("ByAPIDomain(%q) = %q, %v, %v", wantURL, gotDC.Location, gotEnv, err)
				}
				h, hEnv, ok := zoho.ByHost(strings.ToUpper(strings.TrimPrefix(wantURL, "https://")))
				if !ok || h.Location != want.location || hEnv != env {
					t.Errorf("ByHost(%q) = %q, %v, %v", wantURL, h.Location, hEnv, ok)
				}
			}
			if dc.Unconfirmed != want.unconfirmed {
				t.Errorf("Unconfirmed = %v, want %v", dc.Unconfirmed, want.unconfirmed)
			}
			wantAuth := "accounts.zoho.com"
			if want.location == "cn" {
				wantAuth = "accounts.zoho.com.cn"
			}
			if got := dc.AuthorizationHost(); got != wantAuth {
				t.Errorf("AuthorizationHost() = %q, want %q", got, wantAuth)
			}
			byServer, err := zoho.ByAccountsServer(want.accounts)
			if err != nil || byServer != dc {
				t.Errorf("ByAccountsServer(%q) = %+v, %v", want.accounts, byServer, err)
			}
			h, env, ok := zoho.ByHost(dc.AccountsHost)
			if !ok || h != dc || env != 0 {
				t.Errorf("ByHost(%q) = %+v, %v, %v", dc.AccountsHost, h, env, ok)
			}
		})
	}
}

func TestDataCentersIsACopy(t *testing.T) {
	dcs := zoho.DataCenters()
	dcs[0].AccountsHost = "evil.example"
	if dc, _ := zoho.ByLocation("us"); dc.AccountsHost != "accounts.zoho.com" {
		t.Fatalf("DataCenters() exposes the table: %q", dc.AccountsHost)
	}
}

func TestCanadaHostsDiffer(t *testing.T) {
	// Canada's accounts server is zohocloud.ca but its API is zohoapis.ca.
	if _, err := zoho.ByAccountsServer("https://accounts.zoho.ca"); !errors.Is(err, zoho.ErrUnknownAccountsServer) {
		t.Errorf("accounts.zoho.ca: err = %v, want ErrUnknownAccountsServer", err)
	}
	if _, _, err := zoho.ByAPIDomain("https://www.zohocloud.ca"); !errors.Is(err, zoho.ErrUnknownAPIDomain) {
		t.Errorf("www.zohocloud.ca: err = %v, want ErrUnknownAPIDomain", err)
	}
	dc, env, err := zoho.ByAPIDomain("www.zohoapis.ca")
	if err != nil || dc.Location != "ca" || env != zoho.Production || dc.AccountsHost != "accounts.zohocloud.ca" {
		t.Errorf("ByAPIDomain(www.zohoapis.ca) = %+v, %v, %v", dc, env, err)
	}
}

func TestLookupErrorsNameTheValue(t *testing.T) {
	tests := []struct {
		name   string
		call   func() error
		target error
		value  string
	}{
		{"location", func() error { _, err := zoho.ByLocation("xx"); return err }, zoho.ErrUnknownLocation, `"xx"`},
		{"empty location", func() error { _, err := zoho.ByLocation(""); return err }, zoho.ErrUnknownLocation, `""`},
		{"server", func() error { _, err := zoho.ByAccountsServer("https://accounts.zoho.xx"); return err }, zoho.ErrUnknownAccountsServer, "accounts.zoho.xx"},
		{"server with path", func() error { _, err := zoho.ByAccountsServer("https://accounts.zoho.eu/x"); return err }, zoho.ErrUnknownAccountsServer, "accounts.zoho.eu/x"},
		{"server http", func() error { _, err := zoho.ByAccountsServer("http://accounts.zoho.eu"); return err }, zoho.ErrUnknownAccountsServer, "http://accounts.zoho.eu"},
		{"api domain", func() error { _, _, err := zoho.ByAPIDomain("https://crm.zoho.eu"); return err }, zoho.ErrUnknownAPIDomain, "crm.zoho.eu"},
		{"api domain accounts", func() error { _, _, err := zoho.ByAPIDomain("https://accounts.zoho.eu"); return err }, zoho.ErrUnknownAPIDomain, "accounts.zoho.eu"},
		{"environment", func() error { _, err := zoho.ParseEnvironment("Bigin"); return err }, zoho.ErrUnknownEnvironment, `"Bigin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q does not name %s", err, tt.value)
			}
		})
	}
}

func TestByLocationCase(t *testing.T) {
	for _, in := range []string{"EU", " eu ", "Eu"} {
		if dc, err := zoho.ByLocation(in); err != nil || dc.Location != "eu" {
			t.Errorf("ByLocation(%q) = %q, %v", in, dc.Location, err)
		}
	}
}

func TestByAccountsServerForms(t *testing.T) {
	ok := []string{"accounts.zoho.eu", "https://accounts.zoho.eu", "https://accounts.zoho.eu/", "HTTPS://ACCOUNTS.ZOHO.EU", " https://accounts.zoho.eu "}
	for _, s := range ok {
		if dc, err := zoho.ByAccountsServer(s); err != nil || dc.Location != "eu" {
			t.Errorf("ByAccountsServer(%q) = %q, %v", s, dc.Location, err)
		}
	}
	bad := []string{
		"", "https://", "http://accounts.zoho.eu", "https://accounts.zoho.eu:443", "https://accounts.zoho.eu:",
		"https://accounts.zoho.eu/oauth", "https://accounts.zoho.eu?x=1", "https://accounts.zoho.eu/?", "https://accounts.zoho.eu#f",
		"https://accounts.zoho.eu#", "https://user@accounts.zoho.eu", "https://accounts.zoho.eu@evil.com", "https://accounts.zoho.eu.evil.com",
		"https://evil.com/?accounts.zoho.eu", "https://evil.com#accounts.zoho.eu", "ftp://accounts.zoho.eu", "//accounts.zoho.eu",
		"https://accounts.zoho.eu.", "https://xaccounts.zoho.eu", "https://www.zohoapis.eu", "https://accounts.zoho.eu\\.evil.com",
	}
	for _, s := range bad {
		if dc, err := zoho.ByAccountsServer(s); err == nil {
			t.Errorf("ByAccountsServer(%q) = %q, want an error", s, dc.Location)
		}
	}
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		in   string
		want zoho.Environment
	}{
		{"production", zoho.Production}, {"Production", zoho.Production}, {"PRODUCTION", zoho.Production}, {" production ", zoho.Production},
		{"sandbox", zoho.Sandbox}, {"SandBox", zoho.Sandbox},
		{"developer", zoho.Developer}, {"Developer", zoho.Developer},
		{"", 0}, {"prod", 0}, {"Bigin", 0}, {"www", 0}, {"sandbox1", 0},
	}
	for _, tt := range tests {
		got, err := zoho.ParseEnvironment(tt.in)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("ParseEnvironment(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.want == 0 && !errors.Is(err, zoho.ErrUnknownEnvironment) {
			t.Errorf("ParseEnvironment(%q): err = %v, want ErrUnknownEnvironment", tt.in, err)
		}
	}
}

func TestEnvironmentText(t *testing.T) {
	for _, env := range zoho.Environments {
		b, err := env.MarshalText()
		if err != nil || string(b) != env.String() {
			t.Errorf("%v.MarshalText() = %q, %v", env, b, err)
		}
		var back zoho.Environment
		if err := back.UnmarshalText(b); err != nil || back != env {
			t.Errorf("UnmarshalText(%q) = %v, %v", b, back, err)
		}
	}
	if _, err := zoho.Environment(0).MarshalText(); !errors.Is(err, zoho.ErrUnknownEnvironment) {
		t.Errorf("Environment(0).MarshalText(): err = %v", err)
	}
	if s := zoho.Environment(9).String(); s != "Environment(9)" {
		t.Errorf("String() = %q", s)
	}
}

func TestVerifyCallbackServer(t *testing.T) {
	once := url.QueryEscape
	twice := func(s string) string { return url.QueryEscape(url.QueryEscape(s)) }
	tests := []struct {
		name, location, server string
		want                   string // location of the DC, "" for an error
		err                    error
	}{
		{"plain", "eu", "https://accounts.zoho.eu", "eu", nil},
		{"encoded once", "eu", once("https://accounts.zoho.eu"), "eu", nil},
		{"encoded twice", "eu", twice("https://accounts.zoho.eu"), "eu", nil},
		{"trailing ampersand", "eu&", "https%3A%2F%2Faccounts.zoho.eu&", "eu", nil},
		{"trailing slash", "in", "https://accounts.zoho.in/", "in", nil},
		{"mixed case", "Eu", "HTTPS://Accounts.Zoho.EU", "eu", nil},
		{"spaces", " au ", " https://accounts.zoho.com.au ", "au", nil},
		{"bare host", "jp", "accounts.zoho.jp", "jp", nil},
		{"canada", "ca", once("https://accounts.zohocloud.ca"), "ca", nil},
		{"china", "cn", "https://accounts.zoho.com.cn", "cn", nil},
		{"us", "us", "https://accounts.zoho.com", "us", nil},
		{"unconfirmed uk", "uk", "https://accounts.zoho.uk", "uk", nil},

		{"forged suffix", "eu", "https://accounts.zoho.eu.evil.com", "", zoho.ErrUnknownAccountsServer},
		{"forged suffix encoded", "eu", once("https://accounts.zoho.eu.evil.com"), "", zoho.ErrUnknownAccountsServer},
		{"forged prefix", "eu", "https://evilaccounts.zoho.eu", "", zoho.ErrUnknownAccountsServer},
		{"forged in query", "eu", "https://evil.com/?h=accounts.zoho.eu", "", zoho.ErrUnknownAccountsServer},
		{"forged in fragment", "eu", "https://evil.com#accounts.zoho.eu", "", zoho.ErrUnknownAccountsServer},
		{"userinfo", "eu", "https://accounts.zoho.eu@evil.com", "", zoho.ErrUnknownAccountsServer},
		{"userinfo before", "eu", "https://evil.com@accounts.zoho.eu", "", zoho.ErrUnknownAccountsServer},
		{"userinfo encoded", "eu", once("https://accounts.zoho.eu@evil.com"), "", zoho.ErrUnknownAccountsServer},
		{"http", "eu", "http://accounts.zoho.eu", "", zoho.ErrUnknownAccountsServer},
		{"javascript", "eu", "javascript:alert(1)", "", zoho.ErrUnknownAccountsServer},
		{"port", "eu", "https://accounts.zoho.eu:8443", "", zoho.ErrUnknownAccountsServer},
		{"port 443", "eu", "https://accounts.zoho.eu:443", "", zoho.ErrUnknownAccountsServer},
		{"empty port", "eu", "https://accounts.zoho.eu:", "", zoho.ErrUnknownAccountsServer},
		{"path", "eu", "https://accounts.zoho.eu/oauth/v2/token", "", zoho.ErrUnknownAccountsServer},
		{"encoded path", "eu", once("https://accounts.zoho.eu/x"), "", zoho.ErrUnknownAccountsServer},
		{"trailing dot", "eu", "https://accounts.zoho.eu.", "", zoho.ErrUnknownAccountsServer},
		{"encoded three times", "eu", url.QueryEscape(twice("https://accounts.zoho.eu")), "", zoho.ErrUnknownAccountsServer},
		{"api host", "eu", "https://www.zohoapis.eu", "", zoho.ErrUnknownAccountsServer},
		{"canada wrong domain", "ca", "https://accounts.zoho.ca", "", zoho.ErrUnknownAccountsServer},

		{"mismatch", "us", "https://accounts.zoho.eu", "", zoho.ErrServerMismatch},
		{"mismatch cn", "cn", "https://accounts.zoho.com", "", zoho.ErrServerMismatch},
		{"mismatch ca", "us", "https://accounts.zohocloud.ca", "", zoho.ErrServerMismatch},

		{"unknown location", "xx", "https://accounts.zoho.eu", "", zoho.ErrUnknownLocation},
		{"location is a host", "accounts.zoho.eu", "https://accounts.zoho.eu", "", zoho.ErrUnknownLocation},
		{"missing location", "", "https://accounts.zoho.eu", "", zoho.ErrUnknownLocation},
		{"missing server", "eu", "", "", zoho.ErrUnknownAccountsServer},
		{"only ampersand", "eu", "&", "", zoho.ErrUnknownAccountsServer},
		{"missing both", "", "", "", zoho.ErrUnknownLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc, err := zoho.VerifyCallbackServer(tt.location, tt.server)
			if tt.want != "" {
				if err != nil || dc.Location != tt.want {
					t.Fatalf("VerifyCallbackServer(%q, %q) = %q, %v; want %q", tt.location, tt.server, dc.Location, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyCallbackServer(%q, %q) = %q, want an error", tt.location, tt.server, dc.Location)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if dc != (zoho.DataCenter{}) {
				t.Errorf("a DC came back with the error: %+v", dc)
			}
		})
	}
}
