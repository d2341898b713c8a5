package zoho

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/hostclient"
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
		base = hostclient.DefaultTransport(hostclient.Timeouts{Dial: 5 * time.Second, TLSHandshake: 5 * time.Second,
			ResponseHeader: 15 * time.Second, MaxIdleConnsPerHost: 32})
	}
	rt := &zohoTransport{allowUnconfirmed: opts.AllowUnconfirmed}
	rt.Transport = hostclient.Transport{Base: base, Allow: rt.allow, Refuse: refuseHost}
	if opts.EndpointOverride != "" {
		u, err := hostclient.ParseOverride("zoho", EndpointOverrideEnv, "client secrets and tokens", opts.EndpointOverride)
		if err != nil {
			return nil, err
		}
		rt.Override = u
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	// Zoho's APIs do not redirect: the client follows none.
	return hostclient.Client(rt, timeout), nil
}

// zohoTransport refuses non-Zoho hosts and unconfirmed API hosts, and
// applies the endpoint override (hostclient's discipline).
type zohoTransport struct {
	hostclient.Transport
	allowUnconfirmed bool
}

func (t *zohoTransport) allow(host string) error {
	dc, env, ok := ByHost(host)
	if !ok {
		return refuseHost("https", host)
	}
	if env != 0 && dc.Unconfirmed && !t.allowUnconfirmed {
		return fmt.Errorf("%w: %s", ErrUnconfirmedDataCenter, host)
	}
	return nil
}

func refuseHost(scheme, hostport string) error {
	return fmt.Errorf("%w: %s://%s", ErrNotZohoHost, scheme, hostport)
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
