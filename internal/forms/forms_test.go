package forms_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstest"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.example.com":      "https://www.example.com",
		"HTTPS://WWW.Example.COM/":     "https://www.example.com",
		"https://www.example.com:443":  "https://www.example.com",
		"https://www.example.com:8443": "https://www.example.com:8443",
		"http://127.0.0.1:8081":        "http://127.0.0.1:8081",
		"http://localhost":             "http://localhost",
		"http://[::1]:3000":            "http://[::1]:3000",
	} {
		if got, err := forms.NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"http://www.example.com", "https://www.example.com/contact", "https://www.example.com?x=1", "https://u:p@www.example.com",
		"www.example.com", "ftp://example.com", "https://", "null", "", "https://www.example.com#x", "http://10.0.0.1",
	} {
		if got, err := forms.NormalizeOrigin(in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
}

func TestAllowsOrigin(t *testing.T) {
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: []string{"https://WWW.example.com", "http://127.0.0.1:8081"}})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"https://www.example.com": true, "https://www.example.com:443": true, "http://127.0.0.1:8081": true,
		"https://example.com": false, "http://www.example.com": false, "http://127.0.0.1:8082": false, "null": false, "": false,
		"https://www.example.com.evil.test": false,
	} {
		if _, ok := f.AllowsOrigin(origin); ok != want {
			t.Errorf("%q: %v, want %v", origin, ok, want)
		}
	}
	if forms.OriginOfReferer("https://www.example.com/a/b?c#d") != "https://www.example.com" || forms.OriginOfReferer("/relative") != "" {
		t.Error("OriginOfReferer")
	}
}

func TestNewFormChecks(t *testing.T) {
	ok := []string{"https://www.example.com"}
	bad := []forms.Spec{
		{},
		{AllowedOrigins: []string{"http://www.example.com"}},
		{AllowedOrigins: ok, Module: "Invoices"},
		{AllowedOrigins: ok, RedirectURL: "http://www.example.com/thanks"},
		{AllowedOrigins: ok, RedirectURL: "/thanks"},
		{AllowedOrigins: ok, FieldMapping: map[string]string{"x": "lower_case"}},
		{AllowedOrigins: ok, Captcha: &forms.CaptchaSpec{Provider: "friendlycaptcha", Secret: "s"}},
		{AllowedOrigins: ok, Captcha: &forms.CaptchaSpec{Provider: "turnstile"}},
		{AllowedOrigins: ok, Captcha: &forms.CaptchaSpec{Provider: "turnstile", Secret: "s", SiteKey: `"><script>`}},
		{AllowedOrigins: ok, RateLimitPerMinute: -1},
		{AllowedOrigins: ok, RateLimitPerMinute: forms.MaxRateLimit + 1},
		{AllowedOrigins: ok, HoneypotField: "email", RequiredFields: []string{"email"}},
	}
	for _, s := range bad {
		if _, err := forms.NewForm("zc_000000000000000000000001", s); !errors.Is(err, forms.ErrInvalid) {
			t.Errorf("%+v: %v", s, err)
		}
	}
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: ok, Module: "contacts",
		Captcha: &forms.CaptchaSpec{Provider: "HCaptcha", Secret: "0xsecret"}})
	if err != nil || f.Module != "Contacts" || f.Captcha.Provider != "hcaptcha" || f.RateLimit() != forms.DefaultRateLimit || !forms.ValidID(f.ID) {
		t.Fatalf("%+v %v", f, err)
	}
	if g, _ := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: ok}); g.ID == f.ID {
		t.Error("two forms, one id")
	}
}

func TestSnippetEscapesAndIncludesWidgets(t *testing.T) {
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{
		AllowedOrigins: []string{"https://www.example.com"}, HoneypotField: "website",
		RequiredFields: []string{`x"><script>alert(1)</script>`}, FieldMapping: map[string]string{"o'rg": "Company"},
		Captcha: &forms.CaptchaSpec{Provider: "turnstile", Secret: "secret-never-shown", SiteKey: "0x4AAAA"},
	})
	if err != nil {
		t.Fatal(err)
	}
	html := forms.Snippet(f, "https://api.example.com/f/"+f.ID)
	for _, want := range []string{
		`<form action="https://api.example.com/f/` + f.ID + `" method="post" accept-charset="UTF-8">`,
		`name="last_name" autocomplete="family-name" required`,
		`name="website" value="" tabindex="-1" autocomplete="off"`, `aria-hidden="true"`, `left:-10000px`,
		`<div class="cf-turnstile" data-sitekey="0x4AAAA"></div>`,
		`<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>`,
		`name="x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`, `name="o&#39;rg"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("snippet lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>alert") || strings.Contains(html, "secret-never-shown") {
		t.Errorf("snippet:\n%s", html)
	}
}

func TestAdmin(t *testing.T) {
	ctx := context.Background()
	active := connection.Connection{ID: connection.ID("eu", zoho.Production, "1"), Status: connection.Active}
	gone := connection.Connection{ID: connection.ID("eu", zoho.Production, "2"), Status: connection.Disconnected}
	a := &forms.Admin{Forms: formstest.New(), Connections: connectiontest.NewConnections(active, gone), Log: logging.New(&strings.Builder{}, "info")}
	spec := forms.Spec{AllowedOrigins: []string{"https://www.example.com"}}
	if _, err := a.Create(ctx, gone.ID, spec); !errors.Is(err, forms.ErrDisconnected) {
		t.Errorf("disconnected: %v", err)
	}
	if _, err := a.Create(ctx, connection.ID("eu", zoho.Production, "3"), spec); !errors.Is(err, forms.ErrConnectionNotFound) {
		t.Errorf("unknown: %v", err)
	}
	f, err := a.Create(ctx, active.ID, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, gone.ID, f.ID); !errors.Is(err, forms.ErrNotFound) {
		t.Errorf("another connection's form: %v", err)
	}
	if err := a.Delete(ctx, gone.ID, f.ID); !errors.Is(err, forms.ErrNotFound) {
		t.Errorf("deleting another connection's form: %v", err)
	}
	if l, _ := a.List(ctx, active.ID); len(l) != 1 {
		t.Errorf("list %d", len(l))
	}
	if err := a.Delete(ctx, active.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.List(ctx, active.ID); len(l) != 0 {
		t.Errorf("list after delete %d", len(l))
	}
}
