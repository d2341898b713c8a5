package hostclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

var errRefused = errors.New("refused")

func allowOnly(name string) Allow {
	return func(host string) error {
		if host != name {
			return errRefused
		}
		return nil
	}
}

func refuse(string, string) error { return errRefused }

type recorder struct{ got []*http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req)
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func TestTransportSendsOnlyWhatTheTableAllows(t *testing.T) {
	cases := []struct {
		url  string
		sent bool
	}{
		{"https://api.example.com/v1/x?y=1", true},
		{"https://API.Example.com/v1/x", true},
		{"http://api.example.com/v1/x", false},
		{"https://api.example.com:8443/v1/x", false},
		{"https://api.example.com.evil.test/v1/x", false},
		{"https://evil.test/v1/x", false},
	}
	for _, c := range cases {
		rec := &recorder{}
		hc := Client(&Transport{Base: rec, Allow: allowOnly("api.example.com"), Refuse: refuse}, 0)
		req, _ := http.NewRequest("POST", c.url, strings.NewReader("secret=s"))
		resp, err := hc.Do(req)
		if c.sent {
			if err != nil || len(rec.got) != 1 {
				t.Errorf("%s: err %v, sent %d; want sent once", c.url, err, len(rec.got))
				continue
			}
			resp.Body.Close()
		} else if !errors.Is(err, errRefused) || len(rec.got) != 0 {
			t.Errorf("%s: err %v, sent %d; want refused, nothing sent", c.url, err, len(rec.got))
		}
	}
}

func TestOverrideKeepsPathQueryAndHost(t *testing.T) {
	var host, uri string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, uri = r.Host, r.RequestURI
	}))
	defer srv.Close()
	u, err := ParseOverride("test", "TEST_OVERRIDE", "secrets", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	hc := Client(&Transport{Base: http.DefaultTransport, Allow: allowOnly("api.example.com"), Refuse: refuse, Override: u}, 0)
	resp, err := hc.Get("https://api.example.com/v1/x?y=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if host != "api.example.com" || uri != "/v1/x?y=1" {
		t.Errorf("the simulator saw Host %q, %q; want api.example.com, /v1/x?y=1", host, uri)
	}
	if _, err := hc.Get("https://evil.test/"); !errors.Is(err, errRefused) {
		t.Errorf("an override lets another host through: %v", err)
	}
}

func TestNoRedirectIsFollowed(t *testing.T) {
	rec := &recorder{}
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		rec.got = append(rec.got, req)
		h := http.Header{"Location": {"https://api.example.com/elsewhere"}}
		return &http.Response{StatusCode: 302, Header: h, Body: http.NoBody, Request: req}, nil
	})
	hc := Client(&Transport{Base: rt, Allow: allowOnly("api.example.com"), Refuse: refuse}, 0)
	resp, err := hc.Get("https://api.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || len(rec.got) != 1 {
		t.Errorf("status %d after %d requests; want the 302 itself, one request", resp.StatusCode, len(rec.got))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestParseOverride(t *testing.T) {
	for v, ok := range map[string]bool{
		"http://127.0.0.1:8088":            true,
		"http://localhost:8088/":           true,
		"http://10.1.2.3:80":               true,
		"http://host.docker.internal:8088": true,
		"http://[::1]:8088":                true,
		"https://sim.example.com":          false, // not local
		"http://8.8.8.8:80":                false,
		"http://127.0.0.1:8088/path":       false,
		"http://127.0.0.1:8088?q=1":        false,
		"http://user@127.0.0.1:8088":       false,
		"ftp://127.0.0.1":                  false,
		"127.0.0.1:8088":                   false,
	} {
		_, err := ParseOverride("test", "TEST_OVERRIDE", "secrets", v)
		if (err == nil) != ok {
			t.Errorf("ParseOverride(%q): err %v, want ok=%v", v, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "TEST_OVERRIDE") {
			t.Errorf("ParseOverride(%q): %v does not name the variable", v, err)
		}
	}
}
