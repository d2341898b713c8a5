package captcha_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/captcha/captchasim"
)

func simVerifier(t *testing.T) (*captchasim.Server, *captcha.Verifier) {
	t.Helper()
	sim := captchasim.New()
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	hc, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return sim, &captcha.Verifier{HTTP: hc}
}

func TestVerifyEachProvider(t *testing.T) {
	sim, v := simVerifier(t)
	ctx := context.Background()
	for _, p := range captcha.Providers {
		sim.Secret(p, "secret-"+string(p))
		if err := v.Verify(ctx, p, "secret-"+string(p), captchasim.PassToken(p, "1"), "203.0.113.9"); err != nil {
			t.Errorf("%s: a pass token: %v", p, err)
		}
		if err := v.Verify(ctx, p, "secret-"+string(p), captchasim.FailToken("1"), ""); !errors.Is(err, captcha.ErrFailed) {
			t.Errorf("%s: a fail token: %v, want ErrFailed", p, err)
		}
		if err := v.Verify(ctx, p, "wrong", captchasim.PassToken(p, "2"), ""); !errors.Is(err, captcha.ErrFailed) {
			t.Errorf("%s: a wrong secret: %v, want ErrFailed", p, err)
		}
		if err := v.Verify(ctx, p, "secret-"+string(p), "", ""); !errors.Is(err, captcha.ErrFailed) {
			t.Errorf("%s: no token: %v, want ErrFailed", p, err)
		}
	}
	// Another provider's pass token does not pass.
	if err := v.Verify(ctx, captcha.HCaptcha, "secret-hcaptcha", captchasim.PassToken(captcha.Turnstile, "x"), ""); !errors.Is(err, captcha.ErrFailed) {
		t.Errorf("a turnstile token at hcaptcha: %v", err)
	}
	calls := sim.Calls()
	if len(calls) != 10 { // the empty tokens never leave
		t.Fatalf("calls %d, want 10: %+v", len(calls), calls)
	}
	hosts := map[string]bool{}
	for _, c := range calls {
		hosts[c.Host] = true
	}
	for _, h := range []string{"challenges.cloudflare.com", "api.hcaptcha.com", "www.google.com"} {
		if !hosts[h] {
			t.Errorf("no call reached %s (Host kept by the override): %v", h, hosts)
		}
	}
	if calls[0].RemoteIP != "203.0.113.9" {
		t.Errorf("remoteip %q", calls[0].RemoteIP)
	}
}

func TestClientRefusesOtherHosts(t *testing.T) {
	hc, err := captcha.NewHTTPClient(captcha.HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://example.com/siteverify",
		"http://challenges.cloudflare.com/turnstile/v0/siteverify",
		"https://challenges.cloudflare.com:8443/turnstile/v0/siteverify",
		"https://www.google.com.evil.test/recaptcha/api/siteverify",
	} {
		req, _ := http.NewRequest(http.MethodPost, u, nil)
		if _, err := hc.Do(req); !errors.Is(err, captcha.ErrNotProviderHost) {
			t.Errorf("%s: %v, want ErrNotProviderHost", u, err)
		}
	}
}

func TestOverrideMustBeLocal(t *testing.T) {
	for _, o := range []string{"http://203.0.113.5:8089", "http://captcha.example.com", "http://127.0.0.1:1/path", "127.0.0.1:80"} {
		if _, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: o}); err == nil {
			t.Errorf("%s accepted", o)
		}
	}
	for _, o := range []string{"http://127.0.0.1:8089", "http://10.0.0.2:1", "http://localhost:9"} {
		if _, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: o}); err != nil {
			t.Errorf("%s refused: %v", o, err)
		}
	}
}

func TestSimulatorRefusesUnknownHostsAndPaths(t *testing.T) {
	sim := captchasim.New()
	for _, c := range []struct{ host, path string }{
		{"example.com", "/siteverify"},
		{"api.hcaptcha.com", "/turnstile/v0/siteverify"},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://"+c.host+c.path, nil)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s%s: %d", c.host, c.path, w.Code)
		}
	}
}
