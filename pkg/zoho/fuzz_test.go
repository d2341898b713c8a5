package zoho_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// FuzzVerifyCallbackServer checks the one promise that keeps the client
// secret safe: whatever arrives from the browser, a DC comes back only
// when the accounts-server names exactly that DC's accounts host and the
// location names that DC. The check here is written independently of the
// package's parser: after undoing the documented encodings (up to two
// rounds of percent-encoding, a trailing "&", spaces), the value must be
// the host, with an optional "https://" before and "/" after it.
func FuzzVerifyCallbackServer(f *testing.F) {
	for _, dc := range zoho.DataCenters() {
		f.Add(dc.Location, dc.AccountsURL())
		f.Add(dc.Location, url.QueryEscape(dc.AccountsURL())+"&")
	}
	for _, s := range []struct{ loc, server string }{
		{"eu", "https%253A%252F%252Faccounts.zoho.eu"},
		{"eu", "https://accounts.zoho.eu.evil.com"},
		{"eu", "https://accounts.zoho.eu@evil.com"},
		{"eu", "https://evil.com@accounts.zoho.eu"},
		{"eu", "https://evil.com/?accounts.zoho.eu"},
		{"eu", "https://accounts.zoho.eu:443"},
		{"eu", "http://accounts.zoho.eu"},
		{"EU&", "HTTPS://ACCOUNTS.ZOHO.EU/"},
		{"us", "https://accounts.zoho.eu"},
		{"ca", "https://accounts.zoho.ca"},
		{"%65u", "https://accounts%2Ezoho.eu"},
		{"eu", "accounts.zoho.eu/"},
		{"", ""},
	} {
		f.Add(s.loc, s.server)
	}
	f.Fuzz(func(t *testing.T, location, server string) {
		dc, err := zoho.VerifyCallbackServer(location, server)
		if err != nil {
			if dc != (zoho.DataCenter{}) {
				t.Fatalf("error %v came with a DC %+v", err, dc)
			}
			return
		}
		known, kerr := zoho.ByLocation(dc.Location)
		if kerr != nil || known != dc {
			t.Fatalf("returned DC %+v is not a row of the table", dc)
		}
		if loc := decodeCallbackValue(location); !strings.EqualFold(loc, dc.Location) {
			t.Fatalf("location %q (decoded %q) accepted as %q", location, loc, dc.Location)
		}
		host := strings.ToLower(decodeCallbackValue(server))
		host = strings.TrimSuffix(strings.TrimPrefix(host, "https://"), "/")
		if host != dc.AccountsHost {
			t.Fatalf("server %q (host %q) accepted as %s's %q", server, host, dc.Location, dc.AccountsHost)
		}
	})
}

// decodeCallbackValue undoes what Zoho's redirects are documented to do
// to a value.
func decodeCallbackValue(v string) string {
	v = strings.TrimSpace(v)
	for range 2 {
		if !strings.Contains(v, "%") {
			break
		}
		d, err := url.QueryUnescape(v)
		if err != nil {
			break
		}
		v = d
	}
	return strings.TrimSpace(strings.TrimRight(v, "&"))
}
