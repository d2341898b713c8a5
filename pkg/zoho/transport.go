package zoho

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// EndpointOverrideEnv names the variable that sends every Zoho request to a
// local simulator instead (see NewHTTPClient).
const EndpointOverrideEnv = "ZOHO_ENDPOINT_OVERRIDE"

// ErrNotZohoHost is returned when a request is addressed to a host that is
// not in the data-center table. The client never sends anything, let alone
// a secret or a token, anywhere else.
var ErrNotZohoHost = errors.New("zoho: refusing to send a request to a host that is not a Zoho host")

// ErrUnconfirmedDataCenter is returned for a request to the API host of a
// data center marked Unconfirmed (UK), and by Exchange and the CRM client
// for such a DC, unless the HTTP client allows unconfirmed DCs
// (HTTPOptions.AllowUnconfirmed). Nothing was sent. It is not retryable:
// it takes a change of configuration.
var ErrUnconfirmedDataCenter = errors.New("zoho: unconfirmed data center (no source names its CRM API hosts; HTTPOptions.AllowUnconfirmed enables it)")

// HTTPOptions configure NewHTTPClient. The zero value is right for
// production.
type HTTPOptions struct {
	// EndpointOverride, when set (e.g. "http://127.0.0.1:8088"), sends every
	// request for a Zoho host to that address over plain HTTP, with path and
	// query unchanged and the Host header still naming the Zoho host, so a
	// simulator can tell which DC and environment was addressed. Callers
	// pass os.Getenv(EndpointOverrideEnv) here.
	EndpointOverride string
	// Timeout bounds a whole request, including reading the body, when the
	// context has no earlier deadline. Default 20 s.
	Timeout time.Duration
	// Base is the transport requests go through (tests may wrap it).
	// Default: a tuned clone of http.DefaultTransport.
	Base http.RoundTripper
	// AllowUnconfirmed lets requests reach the API hosts of data centers
	// marked Unconfirmed (DataCenter.Unconfirmed: UK), whose hosts no
	// source names. Off, they are refused with ErrUnconfirmedDataCenter.
	AllowUnconfirmed bool
}

// NewHTTPClient returns the one HTTP client every Zoho call should use:
// connection reuse, bounded timeouts, only Zoho hosts, and the endpoint
// override. It is safe for concurrent use; make one per process.
func NewHTTPClient(opts HTTPOptions) (*http.Client, error) {
	base := opts.Base
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 5 * time.Second
		t.ResponseHeaderTimeout = 15 * time.Second
		t.MaxIdleConns = 100
		t.MaxIdleConnsPerHost = 32
		t.IdleConnTimeout = 90 * time.Second
		base = t
	}
	rt := &zohoTransport{base: base, allowUnconfirmed: opts.AllowUnconfirmed}
	if opts.EndpointOverride != "" {
		u, err := url.Parse(opts.EndpointOverride)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("zoho: %s=%q is not an origin like http://127.0.0.1:8088", EndpointOverrideEnv, opts.EndpointOverride)
		}
		if !localHost(u.Hostname()) {
			return nil, fmt.Errorf("zoho: %s=%q is not a local address: the override carries client secrets and tokens over plain HTTP, so it may only name this machine or a private network (a simulator)", EndpointOverrideEnv, opts.EndpointOverride)
		}
		rt.override = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		// Zoho's APIs do not redirect; following one could carry a token
		// to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// localHost reports whether an override may name host: a loopback,
// private or link-local address, localhost, or Docker's name for the host
// machine (sam local invoke reaching a simulator on the host).
func localHost(host string) bool {
	switch h := strings.ToLower(host); {
	case h == "localhost", strings.HasSuffix(h, ".localhost"), h == "host.docker.internal":
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast())
}

// zohoTransport refuses non-Zoho hosts and unconfirmed API hosts, and
// applies the endpoint override.
type zohoTransport struct {
	base             http.RoundTripper
	override         *url.URL
	allowUnconfirmed bool
}

func (t *zohoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Hostname())
	dc, env, ok := ByHost(host)
	if !ok || req.URL.Port() != "" || req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s://%s", ErrNotZohoHost, req.URL.Scheme, req.URL.Host)
	}
	if env != 0 && dc.Unconfirmed && !t.allowUnconfirmed {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s", ErrUnconfirmedDataCenter, host)
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

// allowsUnconfirmed reports whether hc would send requests to the API
// hosts of an Unconfirmed data center: only a client of NewHTTPClient with
// AllowUnconfirmed does. Any other client is held to the default.
func allowsUnconfirmed(hc *http.Client) bool {
	t, ok := hc.Transport.(*zohoTransport)
	return ok && t.allowUnconfirmed
}

// checkReachable refuses an Unconfirmed data center that hc would not
// reach, before anything is sent.
func checkReachable(hc *http.Client, dc DataCenter) error {
	if dc.Unconfirmed && !allowsUnconfirmed(hc) {
		return fmt.Errorf("%w: %s", ErrUnconfirmedDataCenter, dc.Location)
	}
	return nil
}

// refused reports whether a transport error is this package's own refusal
// to send (a host outside the table, an unconfirmed API host): nothing was
// sent, so it is not an outage.
func refused(err error) bool {
	return errors.Is(err, ErrNotZohoHost) || errors.Is(err, ErrUnconfirmedDataCenter)
}
