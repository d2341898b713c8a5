//go:build integration

package devserver_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/devserver"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// demoSite serves make dev's demo site for b on a free port of 127.0.0.1:
// another origin than the API's.
func demoSite(t *testing.T, b *localrun.Bundle, api string) *devserver.DemoSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := &devserver.DemoSite{Bundle: b, APIBase: api, Origin: "http://" + ln.Addr().String()}
	srv := httptest.NewUnstartedServer(site)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return site
}

// A public form in a browser: the demo site (a second origin) shows the
// snippet the product API made; a person fills it in and sends it; the
// browser follows the 303 to the site's thank-you page, which lists the
// lead the simulator now holds. The same form served from a third origin
// is refused (origin_not_allowed) and reaches nobody.
func TestBrowserPublicForm(t *testing.T) {
	b, base := devServer(t, map[string]string{"AllowAnonymousConnect": "true"})
	ctx := browser(t)
	const orgID = "20071000202" // the demo EU user's first sandbox
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/connect?environment=sandbox"),
		chromedp.WaitVisible(`#choose-org`),
		chromedp.Click(`#org-`+orgID),
		chromedp.Click(`#accept`),
		chromedp.WaitVisible(`#facts`),
	); err != nil {
		t.Fatalf("browser: connect: %v", err)
	}
	id := connection.ID("eu", zoho.Sandbox, orgID)
	site := demoSite(t, b, base)
	form, err := site.CreateForm(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	before := len(b.Sim.Records(orgID, "Leads"))

	if err := chromedp.Do(ctx,
		chromedp.Navigate(site.Origin+"/?form="+form),
		chromedp.WaitVisible(`input[name="last_name"]`),
		chromedp.SendKeys(`input[name="first_name"]`, "Maria"),
		chromedp.SendKeys(`input[name="last_name"]`, "Keller"),
		chromedp.SendKeys(`input[name="email"]`, "maria.keller@example.eu"),
		chromedp.SendKeys(`input[name="company"]`, "Keller AG"),
		chromedp.SendKeys(`textarea[name="message"]`, "Please call me <back>."),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#leads`),
	); err != nil {
		t.Fatalf("browser: the form was not sent: %v", err)
	}
	if loc := run(t, ctx, chromedp.Location()); loc != site.Origin+"/thanks?connection="+id {
		t.Errorf("landed on %s", loc)
	}
	if leads := run(t, ctx, chromedp.Text(`#leads`)); !strings.Contains(leads, "maria.keller@example.eu") || !strings.Contains(leads, "Please call me <back>.") {
		t.Errorf("the thank-you page lists %q", leads)
	}
	recs := b.Sim.Records(orgID, "Leads")
	if len(recs) != before+1 {
		t.Fatalf("%d leads, want %d", len(recs), before+1)
	}
	last := recs[len(recs)-1]
	if last["Last_Name"] != "Keller" || last["First_Name"] != "Maria" || last["Company"] != "Keller AG" || last["Website"] != nil {
		t.Errorf("lead %v", last)
	}

	// The same form on a site it was not made for.
	evil := demoSite(t, b, base)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(evil.Origin+"/?form="+form),
		chromedp.WaitVisible(`input[name="last_name"]`),
		chromedp.SendKeys(`input[name="last_name"]`, "Mallory"),
		chromedp.SendKeys(`input[name="email"]`, "mallory@example.eu"),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#error-code`),
	); err != nil {
		t.Fatalf("browser: the refusal did not show: %v", err)
	}
	if code := run(t, ctx, chromedp.AttributeValue(`#error-code`, "data-code")); code.Value != "origin_not_allowed" {
		t.Errorf("error code %q", code.Value)
	}
	if n := len(b.Sim.Records(orgID, "Leads")); n != before+1 {
		t.Errorf("the refused form reached Zoho: %d leads", n)
	}
}
