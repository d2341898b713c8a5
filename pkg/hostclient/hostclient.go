// Package hostclient is the one discipline of every outbound HTTP client
// that carries a secret (pkg/zoho's, pkg/captcha's): requests leave only
// for the hosts a table names, over HTTPS on the default port, never
// following a redirect, with bounded timeouts; and an endpoint override
// (ZOHO_ENDPOINT_OVERRIDE, CAPTCHA_ENDPOINT_OVERRIDE) sends them to a
// simulator instead, over plain HTTP, with the path and query unchanged
// and the Host header still naming the real host. The override is refused
// unless it names this machine or a private network, since it carries the
// secrets in clear text. "A secret never leaves for the wrong host" is so a
// property of the structure, written once. It imports nothing from AWS.
package hostclient

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Allow decides whether a request for host (lower case, no port, HTTPS
// already checked) may leave: nil to send it, else the error returned with
// nothing sent.
type Allow func(host string) error

// Transport refuses what Allow refuses, and anything not HTTPS on the
// default port (with refuse's error), and applies the override.
type Transport struct {
	Base http.RoundTripper
	// Allow is the host table's rule.
	Allow Allow
	// Refuse builds the error for a request that is not HTTPS to the
	// default port (hostport as the URL has it).
	Refuse func(scheme, hostport string) error
	// Override, when set, is the simulator's origin.
	Override *url.URL
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Hostname())
	var err error
	if req.URL.Port() != "" || req.URL.Scheme != "https" {
		err = t.Refuse(req.URL.Scheme, req.URL.Host)
	} else {
		err = t.Allow(host)
	}
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if t.Override == nil {
		return t.Base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = t.Override.Scheme
	out.URL.Host = t.Override.Host
	out.Host = host
	return t.Base.RoundTrip(out)
}

// Timeouts tune the default transport and the client.
type Timeouts struct {
	Dial, TLSHandshake, ResponseHeader time.Duration
	// Request bounds a whole request, body included, when the context has
	// no earlier deadline.
	Request time.Duration
	// MaxIdleConnsPerHost bounds the connections kept for reuse.
	MaxIdleConnsPerHost int
}

// DefaultTransport is a clone of http.DefaultTransport with t's timeouts.
func DefaultTransport(t Timeouts) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.TLSHandshake
	tr.ResponseHeaderTimeout = t.ResponseHeader
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = t.MaxIdleConnsPerHost
	tr.IdleConnTimeout = 90 * time.Second
	return tr
}

// Client is the client of rt: no redirects (following one could carry a
// secret to another host), the request timeout.
func Client(rt http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ParseOverride reads an endpoint override: an origin (http or https, no
// path, query or user) naming a local address. env names its variable,
// and carries what it would carry in clear text, for the errors; prefix
// starts them ("zoho", "captcha").
func ParseOverride(prefix, env, carries, value string) (*url.URL, error) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%s: %s=%q is not an origin like http://127.0.0.1:8088", prefix, env, value)
	}
	if !LocalHost(u.Hostname()) {
		return nil, fmt.Errorf("%s: %s=%q is not a local address: the override carries %s over plain HTTP, so it may only name this machine or a private network (a simulator)", prefix, env, value, carries)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// LocalHost reports whether an override may name host: a loopback,
// private or link-local address, localhost, or Docker's name for the host
// machine (sam local invoke reaching a simulator on the host).
func LocalHost(host string) bool {
	switch h := strings.ToLower(host); {
	case h == "localhost", strings.HasSuffix(h, ".localhost"), h == "host.docker.internal":
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast())
}
