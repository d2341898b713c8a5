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
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/hostclient"
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
		base = hostclient.DefaultTransport(hostclient.Timeouts{Dial: 3 * time.Second, TLSHandshake: 3 * time.Second,
			ResponseHeader: 5 * time.Second, MaxIdleConnsPerHost: 16})
	}
	rt := &hostclient.Transport{Base: base, Allow: allowHost, Refuse: refuseHost}
	if opts.EndpointOverride != "" {
		u, err := hostclient.ParseOverride("captcha", EndpointOverrideEnv, "CAPTCHA secrets", opts.EndpointOverride)
		if err != nil {
			return nil, err
		}
		rt.Override = u
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	return hostclient.Client(rt, timeout), nil
}

func allowHost(host string) error {
	if _, ok := ByHost(host); !ok {
		return refuseHost("https", host)
	}
	return nil
}

func refuseHost(scheme, hostport string) error {
	return fmt.Errorf("%w: %s://%s", ErrNotProviderHost, scheme, hostport)
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
