package zoho

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Environment is the kind of CRM org a token belongs to. Zoho binds every
// token to one org in one environment in one data center.
type Environment int

const (
	// Production is a customer's live org (Zoho's default environment).
	Production Environment = iota + 1
	// Sandbox is one of the org's sandboxes.
	Sandbox
	// Developer is a developer edition org.
	Developer
)

// Environments lists every environment, in Zoho's order.
var Environments = []Environment{Production, Sandbox, Developer}

// ErrUnknownEnvironment is returned for an environment name Zoho does not use.
var ErrUnknownEnvironment = errors.New("zoho: unknown environment")

// ParseEnvironment reads an environment name as our API or Zoho's
// Organization API (`type`) spells it, in any case.
func ParseEnvironment(s string) (Environment, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "production":
		return Production, nil
	case "sandbox":
		return Sandbox, nil
	case "developer":
		return Developer, nil
	}
	return 0, fmt.Errorf("%w %q (want production, sandbox or developer)", ErrUnknownEnvironment, s)
}

// String returns the lower-case name: production, sandbox or developer.
func (e Environment) String() string {
	switch e {
	case Production:
		return "production"
	case Sandbox:
		return "sandbox"
	case Developer:
		return "developer"
	}
	return fmt.Sprintf("Environment(%d)", int(e))
}

// hostPrefix is the first label of the environment's API host.
func (e Environment) hostPrefix() string {
	switch e {
	case Production:
		return "www"
	case Sandbox:
		return "sandbox"
	case Developer:
		return "developer"
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler.
func (e Environment) MarshalText() ([]byte, error) {
	if e.hostPrefix() == "" {
		return nil, fmt.Errorf("%w %d", ErrUnknownEnvironment, int(e))
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Environment) UnmarshalText(b []byte) error {
	v, err := ParseEnvironment(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// DataCenter is one Zoho data center: where an account lives, where its
// tokens are issued and which hosts serve its CRM orgs.
type DataCenter struct {
	// Location is Zoho's code for the DC, as sent in the callback's
	// `location` parameter: us, eu, in, au, cn, jp, ca, sa, uk.
	Location string
	// Name is for people: "United States", "Europe", ...
	Name string
	// AccountsHost serves OAuth for every environment of the DC.
	AccountsHost string
	// APIDomain is the suffix of the API hosts: www.{APIDomain},
	// sandbox.{APIDomain}, developer.{APIDomain}.
	APIDomain string
	// Unconfirmed marks a DC whose CRM API hosts no source names (they
	// follow the pattern of the others). Its accounts server is Zoho's
	// listed one and is used like any other, but no request, and so no
	// access token, goes to its API hosts unless the HTTP client was built
	// with HTTPOptions.AllowUnconfirmed; Exchange refuses such a DC up
	// front, so no refresh token is made that could not be used.
	Unconfirmed bool
}

// dataCenters is the static allowlist: the source of truth for which hosts
// may receive a client secret or a token. Adding a DC is one line.
//
// UK's accounts server is listed by Zoho Accounts' multi-DC page, but none
// of the official SDKs has UK and no source names a CRM API host for it, so
// it is Unconfirmed. UAE (zoho.ae, www.zohoapis.ae in WorkDrive's docs) is
// left out: its `location` code is undocumented too; add it as an
// Unconfirmed row once one source names it.
var dataCenters = []DataCenter{
	{Location: "us", Name: "United States", AccountsHost: "accounts.zoho.com", APIDomain: "zohoapis.com"},
	{Location: "eu", Name: "Europe", AccountsHost: "accounts.zoho.eu", APIDomain: "zohoapis.eu"},
	{Location: "in", Name: "India", AccountsHost: "accounts.zoho.in", APIDomain: "zohoapis.in"},
	{Location: "au", Name: "Australia", AccountsHost: "accounts.zoho.com.au", APIDomain: "zohoapis.com.au"},
	{Location: "cn", Name: "China", AccountsHost: "accounts.zoho.com.cn", APIDomain: "zohoapis.com.cn"},
	{Location: "jp", Name: "Japan", AccountsHost: "accounts.zoho.jp", APIDomain: "zohoapis.jp"},
	{Location: "ca", Name: "Canada", AccountsHost: "accounts.zohocloud.ca", APIDomain: "zohoapis.ca"},
	{Location: "sa", Name: "Saudi Arabia", AccountsHost: "accounts.zoho.sa", APIDomain: "zohoapis.sa"},
	{Location: "uk", Name: "United Kingdom", AccountsHost: "accounts.zoho.uk", APIDomain: "zohoapis.uk", Unconfirmed: true},
}

// DataCenters returns every known data center, US first.
func DataCenters() []DataCenter {
	return append([]DataCenter(nil), dataCenters...)
}

// Errors of the look-ups. Each is wrapped with the offending value.
var (
	ErrUnknownLocation       = errors.New("zoho: unknown data center location")
	ErrUnknownAccountsServer = errors.New("zoho: unknown accounts server")
	ErrUnknownAPIDomain      = errors.New("zoho: unknown API domain")
	// ErrServerMismatch means the accounts server is one of Zoho's, but not
	// the one of the given location.
	ErrServerMismatch = errors.New("zoho: accounts server does not match location")
)

// AccountsURL is the accounts server's origin, e.g. https://accounts.zoho.eu.
func (dc DataCenter) AccountsURL() string { return "https://" + dc.AccountsHost }

// APIHost is the CRM API host of the environment, e.g. sandbox.zohoapis.eu.
func (dc DataCenter) APIHost(env Environment) string {
	return env.hostPrefix() + "." + dc.APIDomain
}

// APIURL is the CRM API origin of the environment, e.g. https://sandbox.zohoapis.eu.
func (dc DataCenter) APIURL(env Environment) string { return "https://" + dc.APIHost(env) }

// AuthorizationHost is where the consent flow starts for a user of this DC:
// accounts.zoho.com for every DC but China, which has its own.
func (dc DataCenter) AuthorizationHost() string {
	if dc.Location == "cn" {
		return dc.AccountsHost
	}
	return "accounts.zoho.com"
}

// ByLocation finds a DC by its `location` code, in any case.
func ByLocation(location string) (DataCenter, error) {
	loc := strings.ToLower(strings.TrimSpace(location))
	for _, dc := range dataCenters {
		if dc.Location == loc {
			return dc, nil
		}
	}
	return DataCenter{}, fmt.Errorf("%w %q", ErrUnknownLocation, location)
}

// ByAccountsServer finds a DC by its accounts server, given as a bare host
// or an https origin ("https://accounts.zoho.eu", a trailing slash allowed).
// Anything with a path, query, port, user info or another scheme is refused.
func ByAccountsServer(server string) (DataCenter, error) {
	host, err := originHost(server)
	if err != nil {
		return DataCenter{}, fmt.Errorf("%w %q: %v", ErrUnknownAccountsServer, server, err)
	}
	for _, dc := range dataCenters {
		if dc.AccountsHost == host {
			return dc, nil
		}
	}
	return DataCenter{}, fmt.Errorf("%w %q", ErrUnknownAccountsServer, server)
}

// ByAPIDomain tells which DC and environment an API domain names, as the
// token response's api_domain spells it ("https://www.zohoapis.eu") or as
// a bare host ("sandbox.zohoapis.com.au").
func ByAPIDomain(domain string) (DataCenter, Environment, error) {
	host, err := originHost(domain)
	if err != nil {
		return DataCenter{}, 0, fmt.Errorf("%w %q: %v", ErrUnknownAPIDomain, domain, err)
	}
	for _, dc := range dataCenters {
		for _, env := range Environments {
			if dc.APIHost(env) == host {
				return dc, env, nil
			}
		}
	}
	return DataCenter{}, 0, fmt.Errorf("%w %q", ErrUnknownAPIDomain, domain)
}

// ByHost finds the DC that owns a host, accounts server or API host. The
// second result is the API environment, zero for an accounts server.
func ByHost(host string) (DataCenter, Environment, bool) {
	host = strings.ToLower(host)
	for _, dc := range dataCenters {
		if dc.AccountsHost == host {
			return dc, 0, true
		}
		for _, env := range Environments {
			if dc.APIHost(env) == host {
				return dc, env, true
			}
		}
	}
	return DataCenter{}, 0, false
}

// VerifyCallbackServer checks the `location` and `accounts-server` pair that
// Zoho's redirect carries through the browser, and returns the DC only when
// the location is known and the server is exactly that DC's accounts server.
// Values may arrive URL-encoded (once or twice), with surrounding space or
// a trailing "&", in any case. This is what keeps a forged accounts-server
// from ever receiving the client secret.
func VerifyCallbackServer(location, accountsServer string) (DataCenter, error) {
	loc := cleanCallbackValue(location)
	if loc == "" {
		return DataCenter{}, fmt.Errorf("%w: location is missing", ErrUnknownLocation)
	}
	dc, err := ByLocation(loc)
	if err != nil {
		return DataCenter{}, err
	}
	server := cleanCallbackValue(accountsServer)
	if server == "" {
		return DataCenter{}, fmt.Errorf("%w: accounts-server is missing", ErrUnknownAccountsServer)
	}
	byServer, err := ByAccountsServer(server)
	if err != nil {
		return DataCenter{}, err
	}
	if byServer.Location != dc.Location {
		return DataCenter{}, fmt.Errorf("%w: location %q, accounts-server %q", ErrServerMismatch, dc.Location, byServer.AccountsHost)
	}
	return dc, nil
}

// cleanCallbackValue undoes the encodings seen in Zoho's redirects: up to
// two rounds of percent-encoding and a trailing "&".
func cleanCallbackValue(v string) string {
	v = strings.TrimSpace(v)
	for range 2 {
		if !strings.Contains(v, "%") {
			break
		}
		d, err := url.QueryUnescape(v)
		if err != nil {
			return v // left as is; the look-up refuses it
		}
		v = d
	}
	return strings.TrimSpace(strings.TrimRight(v, "&"))
}

// originHost accepts "host" or "https://host[/]" and returns the lower-case
// host. It refuses ports, paths, queries, fragments, user info and any
// scheme but https, so "https://accounts.zoho.eu.evil.com" or
// "https://evil.com/?accounts.zoho.eu" can never match a Zoho host.
func originHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return "", fmt.Errorf("scheme %q is not https", u.Scheme)
	case u.User != nil:
		return "", errors.New("user info is not allowed")
	case u.Port() != "" || u.Host != u.Hostname():
		// Host != Hostname: an empty port ("host:") or a bracketed IP.
		return "", errors.New("a port is not allowed")
	case u.Path != "" && u.Path != "/":
		return "", errors.New("a path is not allowed")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#"):
		// An empty fragment ("host#") leaves no trace in u but "#".
		return "", errors.New("a query or fragment is not allowed")
	}
	return strings.ToLower(u.Hostname()), nil
}
