package forms_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/internal/forms"
)

// A honeypot named as one of the snippet's own inputs (or a mapped name)
// would be filled by every person who fills that input: every real post
// answered as a success and dropped. Such a form is refused.
func TestHoneypotCannotBeAnInputOfTheForm(t *testing.T) {
	ok := []string{"https://www.example.com"}
	for _, s := range []forms.Spec{
		{AllowedOrigins: ok, HoneypotField: "email"},
		{AllowedOrigins: ok, HoneypotField: "company"},
		{AllowedOrigins: ok, Module: "Contacts", HoneypotField: "phone"},
		{AllowedOrigins: ok, Module: "Deals", HoneypotField: "Deal_Name"},
		{AllowedOrigins: ok, HoneypotField: "org", FieldMapping: map[string]string{"org": "Company"}},
		// The CAPTCHA widget fills its token field in every person's post.
		{AllowedOrigins: ok, HoneypotField: "cf-turnstile-response", Captcha: &forms.CaptchaSpec{Provider: "turnstile", Secret: "s"}},
	} {
		if _, err := forms.NewForm("zc_000000000000000000000001", s); !errors.Is(err, forms.ErrInvalid) {
			t.Errorf("honeypot %q of a %q form: %v, want ErrInvalid", s.HoneypotField, s.Module, err)
		}
	}
	if _, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: ok, Module: "Accounts", HoneypotField: "email"}); err != nil {
		t.Errorf("an Accounts form has no email input: %v", err)
	}
}

// A browser sends an internationalized host in Origin as its ASCII
// (punycode) form: an origin stored with Unicode letters never matches
// any post, so it is refused with a pointer to the ASCII form.
func TestUnicodeOriginRefused(t *testing.T) {
	if got, err := forms.NormalizeOrigin("https://bücher.example"); err == nil {
		t.Errorf("a Unicode host accepted as %q: no browser's Origin would match it", got)
	} else if !strings.Contains(err.Error(), "xn--") {
		t.Errorf("the refusal does not say what to use: %v", err)
	}
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: []string{"https://xn--bcher-kva.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.AllowsOrigin("https://xn--bcher-kva.example"); !ok {
		t.Error("the punycode origin a browser sends is refused")
	}
}

// A field name starting with a non-ASCII letter gets a label that is
// still UTF-8 (its first letter capitalised, not cut in half).
func TestSnippetLabelOfUnicodeName(t *testing.T) {
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: []string{"https://www.example.com"},
		RequiredFields: []string{"échéance"}})
	if err != nil {
		t.Fatal(err)
	}
	html := forms.Snippet(f, "https://api.example.com/f/"+f.ID)
	if !utf8.ValidString(html) || !strings.Contains(html, "<label>Échéance<br>") {
		t.Errorf("snippet:\n%q", html)
	}
}

// redirect_url is where a browser is sent (303 Location): only an https
// URL with a host (http for loopback), never a script or a header break.
func TestRedirectURLOnlyHTTPS(t *testing.T) {
	ok := []string{"https://www.example.com"}
	for _, u := range []string{
		"javascript:alert(1)", "javascript://www.example.com/%0Aalert(1)", "JAVASCRIPT://x/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>", "//evil.test/x", "https:///evil.test", "https://u@www.example.com/x",
		"https://www.example.com/\r\nSet-Cookie: a=b", "vbscript://x/", "http://evil.test/",
	} {
		if f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: ok, RedirectURL: u}); !errors.Is(err, forms.ErrInvalid) {
			t.Errorf("redirect_url %q accepted: %+v", u, f)
		}
	}
}

// A page that declares no charset (or a legacy one) makes a browser post
// its form in that charset: "José" arrives as %E9, which is not UTF-8 and
// refused. The snippet asks for UTF-8 whatever the page's charset.
func TestSnippetPostsUTF8(t *testing.T) {
	f, err := forms.NewForm("zc_000000000000000000000001", forms.Spec{AllowedOrigins: []string{"https://www.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if html := forms.Snippet(f, "https://api.example.com/f/"+f.ID); !strings.Contains(html, `accept-charset="UTF-8"`) {
		t.Errorf("the snippet's form does not ask for UTF-8:\n%s", html)
	}
}
