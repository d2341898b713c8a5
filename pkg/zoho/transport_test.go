package zoho_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

type seenRequest struct {
	host, path, rawQuery, body, auth string
	tls                              bool
}

func recorder(t *testing.T) (*httptest.Server, chan seenRequest) {
	t.Helper()
	seen := make(chan seenRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{host: r.Host, path: r.URL.Path, rawQuery: r.URL.RawQuery, body: string(b), auth: r.Header.Get("Authorization"), tls: r.TLS != nil}
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestEndpointOverride(t *testing.T) {
	srv, seen := recorder(t)
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://sandbox.zohoapis.eu/crm/v8/users?type=CurrentUser&x=a%2Fb",
		"https://accounts.zohocloud.ca/oauth/v2/token/revoke?token=1000.abc",
		"https://ACCOUNTS.ZOHO.COM/oauth/v2/auth",
		"https://developer.zohoapis.com.cn/crm/v8/Leads/upsert",
	} {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("a=1"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		got := <-seen
		want := req.URL
		if got.host != strings.ToLower(want.Host) {
			t.Errorf("%s: Host = %q, want %q", u, got.host, strings.ToLower(want.Host))
		}
		if got.path != want.Path || got.rawQuery != want.RawQuery || got.body != "a=1" || got.tls {
			t.Errorf("%s: got %+v", u, got)
		}
	}
}

// countingTransport counts requests that reached the network layer.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("must not be called")
}

func TestNonZohoHostsRefused(t *testing.T) {
	for _, override := range []string{"", "http://127.0.0.1:1"} {
		base := &countingTransport{}
		hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: override, Base: base})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{
			"https://accounts.zoho.eu.evil.com/oauth/v2/token",
			"https://evil.com/?h=accounts.zoho.eu",
			"http://accounts.zoho.eu/oauth/v2/token",
			"https://accounts.zoho.eu:8443/oauth/v2/token",
			"https://127.0.0.1/crm/v8/org",
			"https://zohoapis.eu/crm/v8/org",
			"https://crm.zoho.eu/crm/v8/org",
		} {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("client_secret=s3cret"))
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s (override %q): no error", u, override)
				continue
			}
			if !errors.Is(err, zoho.ErrNotZohoHost) {
				t.Errorf("%s: err = %v, want ErrNotZohoHost", u, err)
			}
		}
		if n := base.n.Load(); n != 0 {
			t.Errorf("override %q: %d requests reached the transport", override, n)
		}
	}
}

func TestBadEndpointOverride(t *testing.T) {
	for _, v := range []string{"127.0.0.1:8088", "localhost", "ftp://127.0.0.1", "http://", "http://127.0.0.1:8088/prefix", "://x", "http://127.0.0.1:8088?x=1", "http://user:pw@127.0.0.1:8088", "http://127.0.0.1:8088#f",
		// Not this machine or a private network: secrets would travel in clear text.
		"https://sim.internal", "http://203.0.113.7:8088", "http://attacker.example", "http://8.8.8.8"} {
		if _, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: v}); err == nil {
			t.Errorf("EndpointOverride %q accepted", v)
		} else if !strings.Contains(err.Error(), zoho.EndpointOverrideEnv) {
			t.Errorf("error %q does not name %s", err, zoho.EndpointOverrideEnv)
		}
	}
	for _, v := range []string{"http://127.0.0.1:8088", "http://127.0.0.1:8088/", "http://localhost:9", "http://[::1]:8088",
		"http://10.0.0.5:8088", "http://192.168.1.2", "http://host.docker.internal:8088"} {
		if _, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: v}); err != nil {
			t.Errorf("EndpointOverride %q: %v", v, err)
		}
	}
}

func TestNoRedirectsFollowed(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "https://accounts.zoho.eu/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	hc, _ := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	resp, err := hc.Get("https://www.zohoapis.com/crm/v8/org")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits.Load() != 1 {
		t.Errorf("status %d after %d requests, want the 302 itself", resp.StatusCode, hits.Load())
	}
}

func TestUnconfirmedAPIHostsRefused(t *testing.T) {
	for _, override := range []string{"", "http://127.0.0.1:1"} {
		base := &countingTransport{}
		hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: override, Base: base})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"https://www.zohoapis.uk/crm/v8/org", "https://sandbox.zohoapis.uk/crm/v8/Leads", "https://DEVELOPER.zohoapis.uk/crm/v8/org"} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Zoho-oauthtoken "+testAccess)
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: no error", u)
				continue
			}
			if !errors.Is(err, zoho.ErrUnconfirmedDataCenter) || errors.Is(err, zoho.ErrNotZohoHost) {
				t.Errorf("%s: err = %v, want ErrUnconfirmedDataCenter", u, err)
			}
		}
		if n := base.n.Load(); n != 0 {
			t.Errorf("override %q: %d requests reached the transport", override, n)
		}
	}

	srv, seen := recorder(t)
	for _, tc := range []struct {
		allow bool
		url   string
		sent  bool
	}{
		{false, "https://accounts.zoho.uk/oauth/v2/token", true}, // the accounts server is a listed one
		{false, "https://www.zohoapis.eu/crm/v8/org", true},
		{false, "https://www.zohoapis.uk/crm/v8/org", false},
		{true, "https://www.zohoapis.uk/crm/v8/org", true},
		{true, "https://sandbox.zohoapis.uk/crm/v8/org", true},
		{true, "https://www.zohoapis.uk.evil.example/crm/v8/org", false},
	} {
		hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL, AllowUnconfirmed: tc.allow})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(tc.url)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tc.sent {
			t.Errorf("allow %v, %s: err = %v, want sent %v", tc.allow, tc.url, err, tc.sent)
		}
		if tc.sent {
			if got, want := <-seen, mustParse(t, tc.url).Host; got.host != want {
				t.Errorf("%s: Host %s", tc.url, got.host)
			}
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
