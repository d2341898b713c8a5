// Command zohosim serves the Zoho simulator (package zohosim) on a port,
// with the demo data set, for the local demo and for scripts. Point
// ZOHO_ENDPOINT_OVERRIDE at the printed URL.
//
// The first line on stdout is "listening on http://HOST:PORT", so scripts
// can start it with -addr 127.0.0.1:0 and read the port. Logs are JSON
// lines on stderr. A browser, which cannot set Host, reaches a Zoho host
// through the /_host/<zoho host>/ path prefix, e.g.
// http://127.0.0.1:8088/_host/accounts.zoho.com/oauth/v2/auth?...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// listFlag is a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "zohosim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("zohosim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8088", "address to listen on (\":0\" picks a free port)")
	clientID := fs.String("client-id", "1000.ZOHOSIMDEMOCLIENT", "OAuth client id the accounts servers accept")
	clientSecret := fs.String("client-secret", "zohosim-demo-secret", "OAuth client secret (same in every DC)")
	var redirects listFlag
	fs.Var(&redirects, "redirect-uri", "registered redirect URI (repeatable or comma separated; none: any is accepted)")
	demo := fs.Bool("demo", true, "load the demo users and orgs")
	legacy := fs.Bool("legacy-expiry", false, "token responses use expires_in_sec and expires_in in milliseconds")
	envDomain := fs.Bool("api-domain-env", false, "api_domain names the org's environment host instead of www")
	crmLatency := fs.Duration("crm-latency", 0, "how long each CRM call stays in flight (makes calls overlap and meet the orgs' concurrency limits)")
	invalidToken := fs.String("invalid-token-code", "INVALID_TOKEN", "code of the 401 for a bad access token: INVALID_TOKEN, AUTHENTICATION_FAILURE or INVALID_OAUTHTOKEN")
	dupDetails := fs.String("duplicate-details", zohosim.DuplicateRecordDetails, "how DUPLICATE_DATA names the existing record: "+zohosim.DuplicateRecordDetails+" (newer) or "+zohosim.DuplicateIDDetails+" (older)")
	unlimited := fs.Bool("unlimited", false, "no concurrency or credit limits for any org")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *invalidToken {
	case "INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN":
	default:
		return fmt.Errorf("-invalid-token-code %q: want INVALID_TOKEN, AUTHENTICATION_FAILURE or INVALID_OAUTHTOKEN", *invalidToken)
	}
	if *dupDetails != zohosim.DuplicateRecordDetails && *dupDetails != zohosim.DuplicateIDDetails {
		return fmt.Errorf("-duplicate-details %q: want %s or %s", *dupDetails, zohosim.DuplicateRecordDetails, zohosim.DuplicateIDDetails)
	}
	var limits zohosim.Limits
	if *unlimited {
		limits.Concurrency, limits.SubConcurrency, limits.Credits = -1, -1, -1
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	sim := zohosim.New(zohosim.Options{
		Clients:                   []zohosim.Client{{ID: *clientID, Secret: *clientSecret, RedirectURIs: redirects}},
		Logger:                    log,
		LegacyExpiry:              *legacy,
		APIDomainNamesEnvironment: *envDomain,
		CRMLatency:                *crmLatency,
		InvalidTokenCode:          *invalidToken,
		DuplicateDetails:          *dupDetails,
		Limits:                    limits,
	})
	if *demo {
		for _, u := range zohosim.DemoUsers() {
			sim.AddUser(u)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + printable(ln.Addr())
	fmt.Println("listening on " + base)
	log.Info("zohosim started", "url", base, "client_id", *clientID, "redirect_uris", redirects.String(), "demo", *demo)

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("zohosim stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// printable names a wildcard listener by its loopback address, which is
// what a script on the same machine should call.
func printable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
