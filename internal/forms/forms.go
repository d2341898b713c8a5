// Package forms is the public forms of a connection: a form lets any web
// page post into one connection without a key (POST /f/{form_id}, served
// by internal/formpost in SyncFunction). This package is the form itself
// (what may post, from where, how it is checked), its validation, the
// ready <form> snippet, and the product API's use case for creating,
// listing and deleting forms (ProductApiFunction). It links no AWS client
// and not the submission use case, so the product API's binary stays its
// own.
//
// A form's id is "f_" + 128 random bits in hex: unguessable, so that a
// form's address is all a page needs and nothing else is reachable by
// trying ids. The form's CAPTCHA secret is a zoho.Secret (it logs as
// [redacted]), kept in the forms table and never shown again: the
// product API's views leave it out.
package forms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Form is one public form of a connection.
type Form struct {
	ID           string
	ConnectionID string
	// Module is the CRM module posts go to (Leads by default).
	Module string
	// AllowedOrigins are the origins (scheme://host[:port]) whose pages
	// may post; at least one.
	AllowedOrigins []string
	// RedirectURL is where a browser's post is sent after it is taken
	// (303); empty: a plain thank-you page.
	RedirectURL string
	// FieldMapping maps a posted name to a Zoho field's API name; applied
	// before the connection's own mapping.
	FieldMapping map[string]string
	// RequiredFields are posted names that must be present and non-empty.
	RequiredFields []string
	// HoneypotField, when set, is a field hidden from people: a post that
	// fills it is answered as a success and sent nowhere.
	HoneypotField string
	// Captcha, when set, is verified at its provider for every post.
	Captcha *Captcha
	// RateLimitPerMinute bounds each client address's posts to this form
	// a minute (0: DefaultRateLimit).
	RateLimitPerMinute int
	CreatedAt          time.Time
}

// Captcha is a form's CAPTCHA: its provider, the secret siteverify is
// called with, and the public site key the page's widget shows.
type Captcha struct {
	Provider captcha.Provider
	Secret   zoho.Secret
	SiteKey  string
}

// DefaultRateLimit is a form's limit per client address and minute when
// none is set; MaxRateLimit the largest one may set.
const (
	DefaultRateLimit = 10
	MaxRateLimit     = 1000
)

// RateLimit is the form's effective limit per client address and minute.
func (f *Form) RateLimit() int {
	if f.RateLimitPerMinute <= 0 {
		return DefaultRateLimit
	}
	return f.RateLimitPerMinute
}

// AllowsOrigin reports whether origin (as a browser sends it) is one of
// the form's; it returns the allowed origin as stored.
func (f *Form) AllowsOrigin(origin string) (string, bool) {
	o, err := NormalizeOrigin(origin)
	if err != nil {
		return "", false
	}
	for _, a := range f.AllowedOrigins {
		if a == o {
			return a, true
		}
	}
	return "", false
}

var idShape = regexp.MustCompile(`^f_[0-9a-f]{32}$`)

// NewID is a fresh form id.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "f_" + hex.EncodeToString(b[:])
}

// ValidID reports whether id has a form id's shape (checked before any
// table is read).
func ValidID(id string) bool { return idShape.MatchString(id) }

// Errors of a form's store and use case.
var (
	ErrNotFound = errors.New("no such form")
	ErrInvalid  = errors.New("invalid form")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// NormalizeOrigin checks that s is an origin (scheme://host[:port], no
// path, query, fragment or user) and returns it in the form browsers send
// in Origin: lower-case scheme and host, the default port left out. It
// must be https, except for a loopback host (http://localhost,
// http://127.0.0.1, http://[::1]), for local development.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin like https://www.example.com", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	switch scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		if !loopback(host) {
			return "", fmt.Errorf("%q: an origin must be https (http only for localhost or 127.0.0.1)", s)
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", fmt.Errorf("%q: an origin must be https", s)
	}
	if host == "" || strings.ContainsAny(host, " %*") {
		return "", fmt.Errorf("%q is not an origin like https://www.example.com", s)
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			// Browsers send an internationalized host in its ASCII form:
			// this one would never match a post.
			return "", fmt.Errorf("%q: write an internationalized host in its ASCII (punycode, xn--…) form, as browsers send it in Origin", s)
		}
	}
	h := host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if port != "" {
		h += ":" + port
	}
	return scheme + "://" + h, nil
}

func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OriginOfReferer is the origin of a Referer header's URL ("" when it has none).
func OriginOfReferer(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Store keeps forms (formstore.Store on DynamoDB; formstest.Store in
// memory). The product API creates, lists and deletes; SyncFunction only
// gets.
type Store interface {
	Create(ctx context.Context, f *Form) error
	Get(ctx context.Context, id string) (*Form, error)
	// ListByConnection is every form of a connection, oldest first.
	ListByConnection(ctx context.Context, connectionID string) ([]*Form, error)
	// Delete removes a form; an unknown one is ErrNotFound.
	Delete(ctx context.Context, id string) error
}

// Reader is what SyncFunction needs of the store.
type Reader interface {
	Get(ctx context.Context, id string) (*Form, error)
}
