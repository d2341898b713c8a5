//go:build integration

package devserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
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

// devServer is make dev on a free port of 127.0.0.1 (plain http, as make
// dev serves it), with params over the template's defaults.
func devServer(t *testing.T, params map[string]string) (*localrun.Bundle, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	for k, v := range params {
		params[k] = strings.ReplaceAll(v, "$BASE", base)
	}
	b, err := localrun.Start(context.Background(), localrun.Options{BaseURL: base, Params: params})
	if err != nil {
		ln.Close()
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
	return b, base
}

func browser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
	)...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The product's connect in a browser, over make dev's plain http: the
// product opens a session, the person follows its connect_url to the
// simulated consent page (with the state's cookie: __Host-, Secure,
// HttpOnly, SameSite=Lax, Path=/, kept by Chromium on http://127.0.0.1),
// picks an EU sandbox org, accepts, and lands on the session's
// return_url; the connection.connected event reaches the bus.
func TestBrowserSessionFlow(t *testing.T) {
	b, base := devServer(t, map[string]string{"ReturnUrlOrigins": "$BASE"})
	const tenant, orgID = "browser-test", "20071000202" // the demo EU user's first sandbox
	returnURL := base + devserver.ReturnPath + "?from=browser-test"

	body, _ := json.Marshal(map[string]any{"tenant_id": tenant, "environment": "sandbox", "return_url": returnURL, "metadata": map[string]string{"plan": "pro"}})
	req, _ := http.NewRequest("POST", base+"/connect/sessions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+b.ProductAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		ID         string `json:"session_id"`
		ConnectURL string `json:"connect_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 || !strings.HasPrefix(sess.ConnectURL, base+"/connect?session=") {
		t.Fatalf("POST /connect/sessions: %d, %+v, %v", resp.StatusCode, sess, err)
	}

	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(sess.ConnectURL), chromedp.WaitVisible(`#choose-org`)); err != nil {
		t.Fatalf("browser: the consent page did not show: %v", err)
	}
	if consent := run(t, ctx, chromedp.Location()); !strings.Contains(consent, "/_host/accounts.zoho.com/oauth/v2/auth") {
		t.Errorf("the consent page was at %s", consent)
	}
	cookies := cookiesOf(t, ctx, base)
	if len(cookies) != 1 {
		t.Fatalf("the browser keeps %d cookies for %s after /connect, want the state's one: %+v", len(cookies), base, cookies)
	}
	c := cookies[0]
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" ||
		c.Domain != "127.0.0.1" || c.Session {
		t.Errorf("state cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, host-only, with a Max-Age", *c)
	}
	if left := time.Until(time.Unix(int64(c.Expires), 0)); math.Abs(left.Seconds()-600) > 30 {
		t.Errorf("the state cookie lives %s, want the state's 10 minutes", left)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(`#org-`+orgID),
		chromedp.Click(`#accept`),
		chromedp.WaitVisible(`#facts`),
	); err != nil {
		t.Fatalf("browser: the return page did not show: %v", err)
	}
	landed, err := url.Parse(run(t, ctx, chromedp.Location()))
	if err != nil {
		t.Fatal(err)
	}
	id := connection.TenantConnectionID(tenant, "eu", zoho.Sandbox, orgID)
	q := landed.Query()
	if landed.Scheme+"://"+landed.Host+landed.Path != base+devserver.ReturnPath || q.Get("from") != "browser-test" ||
		q.Get("status") != "connected" || q.Get("connection_id") != id || q.Get("session_id") != sess.ID {
		t.Errorf("landed on %s, want the return_url with status=connected, connection_id=%s, session_id=%s", landed, id, sess.ID)
	}
	for _, k := range q {
		if strings.HasPrefix(k[0], "zsk_") {
			t.Errorf("a submission key in the URL: %s", landed)
		}
	}
	if title := run(t, ctx, chromedp.Text(`#title`)); title != "Back in the product: connected" {
		t.Errorf("title %q", title)
	}
	if left := cookiesOf(t, ctx, base); len(left) != 0 {
		t.Errorf("cookies left after the callback: %+v (the state is spent)", left)
	}

	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, err := b.WaitEvent(wctx, productevents.Connected, id)
	if err != nil {
		t.Fatalf("no connection.connected event: %v", err)
	}
	if ev.Detail.TenantID != tenant || ev.Detail.SessionID != sess.ID || ev.Detail.Metadata["plan"] != "pro" {
		t.Errorf("event %+v", ev.Detail)
	}
	stored, err := b.Connections().Get(context.Background(), id)
	if err != nil || stored.Status != connection.Active || stored.TenantID != tenant {
		t.Fatalf("stored connection %+v, %v", stored, err)
	}
}

// With AllowAnonymousConnect, /connect starts without a session and the
// success page shows the submission key, once.
func TestBrowserAnonymousConnect(t *testing.T) {
	b, base := devServer(t, map[string]string{"AllowAnonymousConnect": "true"})
	ctx := browser(t)
	const orgID = "20071000202"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/connect?environment=sandbox"),
		chromedp.WaitVisible(`#choose-org`),
		chromedp.Click(`#org-`+orgID),
		chromedp.Click(`#accept`),
		chromedp.WaitVisible(`#facts`),
	); err != nil {
		t.Fatalf("browser: the success page did not show: %v", err)
	}
	title := run(t, ctx, chromedp.Text(`#title`))
	facts := run(t, ctx, chromedp.Text(`#facts`))
	note := run(t, ctx, chromedp.Text(`#note`))
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
	c, err := b.Connections().Get(context.Background(), id)
	if err != nil || c.Status != connection.Active || c.Environment != "sandbox" || c.TenantID != "" {
		t.Fatalf("stored connection %+v, %v", c, err)
	}
}

func cookiesOf(t *testing.T, ctx context.Context, u string) []*network.Cookie {
	t.Helper()
	return run(t, ctx, chromedp.Action[[]*network.Cookie](func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
		return res.Cookies, err
	}))
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}
