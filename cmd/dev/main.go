// Command dev serves the bundle's HTTP API on a local address with a
// simulated Zoho, for a person with a browser and curl: open
// /connect?environment=sandbox, pick an org on the consent page, then post
// forms with the submission key the success page shows. Queued submissions
// are delivered as Lambda's SQS event source would, and POST /_dev/refresh
// runs the refresh schedule once. Ctrl-C stops everything. `make dev` starts
// the local stack and runs this.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/logging"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "where to serve the API")
	logPath := flag.String("log", ".cache/dev.log", "where the functions' JSON logs go")
	flag.Parse()
	if err := run(*addr, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(addr, logPath string) error {
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
	b, err := localrun.Start(ctx, localrun.Options{Prefix: "dev", RedirectURI: base + "/oauth/callback", Logs: logs})
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
	go s.ConsumeQueue(ctx)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()

	fmt.Printf(`zohoconnect dev server on %s (Zoho simulator at %s; logs in %s)

Routes from template.yaml: %v

  Connect an org:   open %s/connect?environment=sandbox in a browser
                    (the simulated Zoho offers EU, US, AU, CA and CN orgs; dc=cn for China)
  Post a form:      curl -i %s/connections/<connection_id>/submissions \
                      -H 'Authorization: Bearer <submission_key>' \
                      -d last_name=Keller -d email=maria@example.eu -d company='Keller AG'
  Refresh now:      curl -X POST %s/_dev/refresh

Ctrl-C stops everything.
`, base, b.SimURL, logPath, s.Routes(), base, base, base)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Println("\nstopped; the local resources are deleted")
	return nil
}
