// Package captcha verifies the tokens of a page's CAPTCHA widget at its
// provider (Cloudflare Turnstile, hCaptcha, Google reCAPTCHA), server to
// server, through one HTTP client that only ever reaches the providers'
// siteverify hosts, over HTTPS; like pkg/zoho's, the client is the one
// place a secret can leave from, so "the secret never reaches another
// host" is a property of its structure. It imports nothing from AWS.
//
// CAPTCHA_ENDPOINT_OVERRIDE=http://127.0.0.1:PORT sends every request for a
// provider's host to that address over plain HTTP instead, with the path
// unchanged and the Host header still naming the provider's host, so a
// simulator (captchasim) can tell the providers apart. It is refused
// unless it names this machine or a private network: it carries the
// secret in clear text.
package captcha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// EndpointOverrideEnv names the variable of HTTPOptions.EndpointOverride.
const EndpointOverrideEnv = "CAPTCHA_ENDPOINT_OVERRIDE"

// Provider is a CAPTCHA service.
type Provider string

// The providers.
const (
	Turnstile Provider = "turnstile"
	HCaptcha  Provider = "hcaptcha"
	ReCAPTCHA Provider = "recaptcha"
)

// Providers lists them, in a stable order.
var Providers = []Provider{Turnstile, HCaptcha, ReCAPTCHA}

// providerInfo is a provider's row: where its siteverify is, which form
// field carries the widget's token, and what a page includes.
type providerInfo struct {
	VerifyURL  string
	TokenField string
	Script     string // the widget's script
	WidgetCSS  string // the class of the widget's div
	// Hosts are every host the provider's siteverify is served at.
	Hosts []string
}

var table = map[Provider]providerInfo{
	Turnstile: {
		VerifyURL: "https://challenges.cloudflare.com/turnstile/v0/siteverify", TokenField: "cf-turnstile-response",
		Script: "https://challenges.cloudflare.com/turnstile/v0/api.js", WidgetCSS: "cf-turnstile",
		Hosts: []string{"challenges.cloudflare.com"},
	},
	HCaptcha: {
		VerifyURL: "https://api.hcaptcha.com/siteverify", TokenField: "h-captcha-response",
		Script: "https://js.hcaptcha.com/1/api.js", WidgetCSS: "h-captcha",
		Hosts: []string{"api.hcaptcha.com", "hcaptcha.com"},
	},
	ReCAPTCHA: {
		VerifyURL: "https://www.google.com/recaptcha/api/siteverify", TokenField: "g-recaptcha-response",
		Script: "https://www.google.com/recaptcha/api.js", WidgetCSS: "g-recaptcha",
		Hosts: []string{"www.google.com", "www.recaptcha.net"},
	},
}

// ParseProvider reads a provider's name.
func ParseProvider(s string) (Provider, error) {
	p := Provider(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := table[p]; !ok {
		return "", fmt.Errorf("captcha: unknown provider %q (turnstile, hcaptcha or recaptcha)", s)
	}
	return p, nil
}

// TokenField is the form field the provider's widget puts its token in.
func (p Provider) TokenField() string { return table[p].TokenField }

// VerifyURL is the provider's siteverify endpoint.
func (p Provider) VerifyURL() string { return table[p].VerifyURL }

// Script is the URL of the provider's widget script.
func (p Provider) Script() string { return table[p].Script }

// WidgetClass is the class of the div the provider's script turns into its widget.
func (p Provider) WidgetClass() string { return table[p].WidgetCSS }

// ByHost is the provider a siteverify host belongs to.
func ByHost(host string) (Provider, bool) {
	host = strings.ToLower(host)
	for p, info := range table {
		for _, h := range info.Hosts {
			if h == host {
				return p, true
			}
		}
	}
	return "", false
}

// TokenFields lists every provider's token field.
func TokenFields() []string {
	out := make([]string, 0, len(Providers))
	for _, p := range Providers {
		out = append(out, p.TokenField())
	}
	return out
}

// ErrNotProviderHost: a request addressed to a host outside the table;
// nothing was sent.
var ErrNotProviderHost = errors.New("captcha: refusing to send a request to a host that is not a CAPTCHA provider's")

// MinRecaptchaScore is the lowest reCAPTCHA v3 score let through
// (Google's suggested default threshold); a v2 answer has no score.
const MinRecaptchaScore = 0.5

// ErrFailed: the provider did not confirm the token (or there was none).
var ErrFailed = errors.New("captcha: the token was not confirmed")

// HTTPOptions configure NewHTTPClient; the zero value is right for production.
type HTTPOptions struct {
	// EndpointOverride (CAPTCHA_ENDPOINT_OVERRIDE), e.g. "http://127.0.0.1:8089".
	EndpointOverride string
	// Timeout bounds a whole request (default 5 s).
	Timeout time.Duration
	// Base is the transport requests go through (default: a clone of
	// http.DefaultTransport).
	Base http.RoundTripper
}

// NewHTTPClient returns the one HTTP client CAPTCHA checks use: only the
// providers' hosts, over HTTPS on the default port, no redirects, bounded
// timeouts, and the endpoint override. Make one per process.
func NewHTTPClient(opts HTTPOptions) (*http.Client, error) {
	base := opts.Base
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 3 * time.Second
		t.ResponseHeaderTimeout = 5 * time.Second
		t.MaxIdleConnsPerHost = 16
		base = t
	}
	rt := &transport{base: base}
	if opts.EndpointOverride != "" {
		u, err := url.Parse(opts.EndpointOverride)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("captcha: %s=%q is not an origin like http://127.0.0.1:8089", EndpointOverrideEnv, opts.EndpointOverride)
		}
		if !localHost(u.Hostname()) {
			return nil, fmt.Errorf("captcha: %s=%q is not a local address: the override carries CAPTCHA secrets over plain HTTP, so it may only name this machine or a private network (a simulator)", EndpointOverrideEnv, opts.EndpointOverride)
		}
		rt.override = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// localHost: loopback, private or link-local, localhost, or Docker's name
// for the host machine (the same rule as pkg/zoho's override).
func localHost(host string) bool {
	switch h := strings.ToLower(host); {
	case h == "localhost", strings.HasSuffix(h, ".localhost"), h == "host.docker.internal":
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast())
}

type transport struct {
	base     http.RoundTripper
	override *url.URL
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Hostname())
	if _, ok := ByHost(host); !ok || req.URL.Port() != "" || req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s://%s", ErrNotProviderHost, req.URL.Scheme, req.URL.Host)
	}
	if t.override == nil {
		return t.base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = t.override.Scheme
	out.URL.Host = t.override.Host
	out.Host = host
	return t.base.RoundTrip(out)
}

// Verifier checks tokens at the providers.
type Verifier struct {
	// HTTP is the client of NewHTTPClient (nil: a default one, no override).
	HTTP *http.Client
}

// Verify asks provider whether token is a solved challenge: a form POST of
// secret, response and remoteip (when known) to its siteverify. A missing
// token, or "success": false, is ErrFailed; an unreachable provider or an
// answer that is not its JSON is another error (the caller refuses the
// post either way: an unverified token is never let through).
func (v *Verifier) Verify(ctx context.Context, provider Provider, secret, token, remoteIP string) error {
	info, ok := table[provider]
	if !ok {
		return fmt.Errorf("captcha: unknown provider %q", provider)
	}
	if token == "" {
		return ErrFailed
	}
	if len(token) > 4096 {
		return ErrFailed
	}
	hc := v.HTTP
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return err
		}
		v.HTTP = hc
	}
	form := url.Values{"secret": {secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, info.VerifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("captcha: %s siteverify: %w", provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("captcha: %s siteverify: %w", provider, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("captcha: %s siteverify answered %d", provider, resp.StatusCode)
	}
	var ans struct {
		Success    *bool    `json:"success"`
		ErrorCodes []string `json:"error-codes"`
		// Score is reCAPTCHA v3's (1.0 a person, 0.0 a bot), whose
		// success is true for a bot's valid token too.
		Score *float64 `json:"score"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		return fmt.Errorf("captcha: %s siteverify: not its JSON answer", provider)
	}
	if !*ans.Success {
		return fmt.Errorf("%w (%s)", ErrFailed, strings.Join(ans.ErrorCodes, ","))
	}
	if provider == ReCAPTCHA && ans.Score != nil && *ans.Score < MinRecaptchaScore {
		return fmt.Errorf("%w (reCAPTCHA v3 score %.1f, below %.1f)", ErrFailed, *ans.Score, MinRecaptchaScore)
	}
	return nil
}
