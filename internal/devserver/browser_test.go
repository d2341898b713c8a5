//go:build integration

package devserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// chromium finds Debian's Chromium (make test installs it); CHROMIUM
// names another binary.
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: `make test` installs Debian's chromium; or set CHROMIUM to a Chrome binary")
	return ""
}

// TestBrowserConnectFlow clicks through make dev's connect flow in headless
// Chromium: /connect, the simulated consent page (pick an EU sandbox org,
// Accept), and the success page, which must show the connection.
func TestBrowserConnectFlow(t *testing.T) {
	exe := chromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx := context.Background()
	b, err := localrun.Start(ctx, localrun.Options{RedirectURI: base + "/oauth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	s, err := devserver.New(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
	)...)
	defer cancel()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	browser, cancel = context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	const orgID = "20071000202" // the demo EU user's first sandbox
	if err := chromedp.Do(browser,
		chromedp.Navigate(base+"/connect?environment=sandbox"),
		chromedp.WaitVisible(`#choose-org`),
	); err != nil {
		t.Fatalf("browser: the consent page did not show: %v", err)
	}
	consentURL := run(t, browser, chromedp.Location())
	if err := chromedp.Do(browser,
		chromedp.Click(`#org-`+orgID),
		chromedp.Click(`#accept`),
		chromedp.WaitVisible(`#facts`),
	); err != nil {
		t.Fatalf("browser: the success page did not show: %v", err)
	}
	title := run(t, browser, chromedp.Text(`#title`))
	facts := run(t, browser, chromedp.Text(`#facts`))
	note := run(t, browser, chromedp.Text(`#note`))
	if !strings.Contains(consentURL, "/_host/accounts.zoho.com/oauth/v2/auth") {
		t.Errorf("the consent page was at %s", consentURL)
	}
	id := connection.ID("eu", zoho.Sandbox, orgID)
	if title != "Zoho CRM connected" {
		t.Fatalf("title %q, facts %q", title, facts)
	}
	for _, want := range []string{id, "sandbox", "eu", orgID, "eva@acme-europe.example", "zsk_"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the success page does not show %q: %q", want, facts)
		}
	}
	if !strings.Contains(note, "shown only this once") {
		t.Errorf("note %q", note)
	}
	c, err := b.Connections().Get(ctx, id)
	if err != nil || c.Status != connection.Active || c.Environment != "sandbox" {
		t.Fatalf("stored connection %+v, %v", c, err)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}
