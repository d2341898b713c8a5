// Command dev serves the bundle's HTTP API on a local address with a
// simulated Zoho, for a person with a browser and curl: the product API
// (its key is printed at start) opens a connect session, its connect_url
// leads through the simulated consent page back to the session's
// return_url (a page of the dev server's), every connection.* event that
// reaches the bus is printed, and forms are posted with the submission key
// the product API hands out. Queued submissions are delivered as Lambda's
// SQS event source would, the connections stream as its DynamoDB event
// source would, and POST /_dev/refresh runs the refresh schedule once.
// Ctrl-C stops everything. `make dev` starts the local stack and runs
// this.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/logging"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "where to serve the API (plain http; the state cookie needs a loopback host or localhost)")
	logPath := flag.String("log", ".cache/dev.log", "where the functions' JSON logs go")
	anonymous := flag.Bool("anonymous", false, "AllowAnonymousConnect=true: /connect also starts without a session")
	origins := flag.String("return-origins", "", "ReturnUrlOrigins, comma-separated (default: this server's origin)")
	siteAddr := flag.String("site-addr", "", "where to serve the demo site with the public forms, another origin (default: -addr's port + 1)")
	tokenStore := flag.String("token-store", "SecretsManager", "the template's TokenStore: SecretsManager or DynamoDB (KMS-sealed tokens in the tokens table)")
	flag.Parse()
	if err := run(*addr, *siteAddr, *logPath, *anonymous, *origins, *tokenStore, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(addr, siteAddr, logPath string, anonymous bool, origins, tokenStore string, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logs.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (set DEV_PORT for another port): %w", addr, err)
	}
	base := "http://" + ln.Addr().String()
	if origins == "" {
		origins = base
	}
	params := map[string]string{"ReturnUrlOrigins": origins, "AllowAnonymousConnect": fmt.Sprint(anonymous), "TokenStore": tokenStore}
	b, err := localrun.Start(ctx, localrun.Options{Prefix: "dev", BaseURL: base, Params: params, Logs: logs})
	if err != nil {
		ln.Close()
		return err
	}
	defer b.Close(context.Background())
	log := logging.New(logs, "info").With("component", "devserver")
	s, err := devserver.New(b, log)
	if err != nil {
		ln.Close()
		return err
	}
	if siteAddr == "" {
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		p, _ := strconv.Atoi(port)
		siteAddr = net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	siteLn, err := net.Listen("tcp", siteAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("the demo site cannot listen on %s (set -site-addr): %w", siteAddr, err)
	}
	s.Site = &devserver.DemoSite{Bundle: b, APIBase: base, Origin: "http://" + siteLn.Addr().String()}
	site := &http.Server{Handler: s.Site, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = site.Serve(siteLn) }()
	defer site.Close()
	go s.ConsumeQueue(ctx)
	go s.WatchEvents(ctx, out)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()

	anon := "off, as a stack deploys by default (make dev DEV_FLAGS=-anonymous turns it on)"
	if anonymous {
		anon = "on: open " + base + "/connect?environment=sandbox, and the success page shows the key"
	}
	fmt.Fprintf(out, `zohoconnect dev server on %[1]s (Zoho simulator at %[2]s; logs in %[3]s)

Routes from template.yaml: %[4]s

The product's API key (the ProductApiKeySecret generated for this run):

  export API=%[1]s PRODUCT_API_KEY=%[5]s

1. The product opens a connect session for a tenant:
     curl -s $API/connect/sessions -H "Authorization: Bearer $PRODUCT_API_KEY" \
       -H 'Content-Type: application/json' \
       -d '{"tenant_id":"acme","environment":"sandbox","return_url":"%[1]s%[6]s"}'
2. Open its connect_url in a browser, pick an org on the simulated consent page
   (EU, US, AU, CA and CN orgs) and Accept: you land on the return_url, and the
   connection.connected event is printed here.
3. The product fetches the connection's submission key:
     curl -s -X POST $API/connections/<connection_id>/submission-key -H "Authorization: Bearer $PRODUCT_API_KEY"
4. A form posts with it:
     curl -i $API/connections/<connection_id>/submissions -H 'Authorization: Bearer <submission_key>' \
       -d last_name=Keller -d email=maria@example.eu -d company='Keller AG'

Also: curl -s "$API/connections?tenant_id=acme" -H "Authorization: Bearer $PRODUCT_API_KEY"
      curl -s -X DELETE $API/connections/<connection_id> -H "Authorization: Bearer $PRODUCT_API_KEY"
      curl -X POST $API/_dev/refresh      (the refresh schedule, once)
Anonymous connect: %[7]s.
return_url origins allowed: %[8]s.

Public forms: each connection.connected event above also makes a demo form
(POST /connections/<connection_id>/forms) allowed from the demo site
%[9]s, another origin; open the address printed with it in a browser,
send the form, and its thank-you page lists the leads the simulated org
holds. Ctrl-C stops everything.

`, base, b.SimURL, logPath, strings.Join(s.Routes(), ", "), b.ProductAPIKey, devserver.ReturnPath, anon, origins, s.Site.Origin)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "\nstopped; the local resources are deleted")
	return nil
}
