package forms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Modules are the modules a form may post to: the submission use case's
// (internal/submission's Modules; a test keeps the two the same).
var Modules = []string{"Accounts", "Contacts", "Deals", "Leads"}

// Limits of a form's settings.
const (
	MaxOrigins        = 20
	MaxMappingEntries = 100
	MaxRequired       = 50
	maxNameLen        = 200
)

// Spec is POST /connections/{connection_id}/forms' body.
type Spec struct {
	Module             string            `json:"module"`
	AllowedOrigins     []string          `json:"allowed_origins"`
	RedirectURL        string            `json:"redirect_url"`
	FieldMapping       map[string]string `json:"field_mapping"`
	RequiredFields     []string          `json:"required_fields"`
	HoneypotField      string            `json:"honeypot_field"`
	Captcha            *CaptchaSpec      `json:"captcha"`
	RateLimitPerMinute int               `json:"rate_limit_per_minute"`
}

// CaptchaSpec is a form's CAPTCHA as the product gives it. SiteKey (the
// widget's public key) is optional: the snippet shows a placeholder
// without it.
type CaptchaSpec struct {
	Provider string      `json:"provider"`
	Secret   zoho.Secret `json:"secret"`
	SiteKey  string      `json:"site_key"`
}

// UnmarshalJSON reads the secret as the string it is (zoho.Secret
// marshals as [redacted], and must still be read in).
func (c *CaptchaSpec) UnmarshalJSON(b []byte) error {
	var raw struct {
		Provider string `json:"provider"`
		Secret   string `json:"secret"`
		SiteKey  string `json:"site_key"`
	}
	if err := jsonStrict(b, &raw); err != nil {
		return err
	}
	*c = CaptchaSpec{Provider: raw.Provider, Secret: zoho.Secret(raw.Secret), SiteKey: raw.SiteKey}
	return nil
}

// NewForm checks s and makes the form of connection id it describes.
func NewForm(connectionID string, s Spec) (*Form, error) {
	f := &Form{ID: NewID(), ConnectionID: connectionID, Module: "Leads", HoneypotField: strings.TrimSpace(s.HoneypotField)}
	if s.Module != "" {
		f.Module = ""
		for _, m := range Modules {
			if strings.EqualFold(m, s.Module) {
				f.Module = m
			}
		}
		if f.Module == "" {
			return nil, invalid("module must be one of %s", strings.Join(Modules, ", "))
		}
	}
	if len(s.AllowedOrigins) == 0 {
		return nil, invalid("allowed_origins is required: the origins (https://www.example.com) whose pages may post")
	}
	if len(s.AllowedOrigins) > MaxOrigins {
		return nil, invalid("allowed_origins: at most %d", MaxOrigins)
	}
	seen := map[string]bool{}
	for _, o := range s.AllowedOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return nil, invalid("allowed_origins: %v", err)
		}
		if !seen[n] {
			seen[n] = true
			f.AllowedOrigins = append(f.AllowedOrigins, n)
		}
	}
	if s.RedirectURL != "" {
		u, err := url.Parse(s.RedirectURL)
		if err != nil || u.Host == "" || u.User != nil || len(s.RedirectURL) > 2048 {
			return nil, invalid("redirect_url must be an absolute https URL")
		}
		if _, err := NormalizeOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, invalid("redirect_url: %v", err)
		}
		f.RedirectURL = s.RedirectURL
	}
	if len(s.FieldMapping) > MaxMappingEntries {
		return nil, invalid("field_mapping: at most %d entries", MaxMappingEntries)
	}
	if err := connection.ValidateMapping(s.FieldMapping); err != nil {
		return nil, invalid("field_mapping: %v", err)
	}
	if len(s.FieldMapping) > 0 {
		f.FieldMapping = make(map[string]string, len(s.FieldMapping))
		for k, v := range s.FieldMapping {
			f.FieldMapping[k] = v
		}
	}
	if len(s.RequiredFields) > MaxRequired {
		return nil, invalid("required_fields: at most %d", MaxRequired)
	}
	for _, r := range s.RequiredFields {
		if !fieldName(r) {
			return nil, invalid("required_fields: %q is not a field name", trunc(r))
		}
		f.RequiredFields = append(f.RequiredFields, r)
	}
	if f.HoneypotField != "" && !fieldName(f.HoneypotField) {
		return nil, invalid("honeypot_field: %q is not a field name", trunc(f.HoneypotField))
	}
	for _, r := range f.RequiredFields {
		if r == f.HoneypotField && r != "" {
			return nil, invalid("honeypot_field %q cannot also be required", r)
		}
	}
	if hp := f.HoneypotField; hp != "" {
		// A person fills the snippet's inputs and the mapped names: a
		// honeypot of the same name would drop every real post.
		_, mapped := f.FieldMapping[hp]
		for _, in := range moduleInputs[f.Module] {
			mapped = mapped || in.Name == hp
		}
		if mapped || slices.Contains(captcha.TokenFields(), hp) {
			return nil, invalid("honeypot_field %q is a field people fill in (an input of the %s form, a field_mapping name or a CAPTCHA's token): choose a name of its own, such as \"website\"", hp, f.Module)
		}
	}
	if s.Captcha != nil {
		p, err := captcha.ParseProvider(s.Captcha.Provider)
		if err != nil {
			return nil, invalid("captcha.provider must be turnstile, hcaptcha or recaptcha")
		}
		sec := s.Captcha.Secret.Reveal()
		if sec == "" || len(sec) > 1024 {
			return nil, invalid("captcha.secret is required (the provider's secret key)")
		}
		if len(s.Captcha.SiteKey) > 512 || strings.ContainsAny(s.Captcha.SiteKey, "\"<>&'") {
			return nil, invalid("captcha.site_key is not a site key")
		}
		f.Captcha = &Captcha{Provider: p, Secret: s.Captcha.Secret, SiteKey: s.Captcha.SiteKey}
	}
	if s.RateLimitPerMinute < 0 || s.RateLimitPerMinute > MaxRateLimit {
		return nil, invalid("rate_limit_per_minute must be 1 to %d (0 or absent: %d)", MaxRateLimit, DefaultRateLimit)
	}
	f.RateLimitPerMinute = s.RateLimitPerMinute
	return f, nil
}

func fieldName(s string) bool {
	return s != "" && len(s) <= maxNameLen && utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\r\n")
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// View is a form as the product API shows it: never the CAPTCHA secret.
type View struct {
	FormID             string            `json:"form_id"`
	ConnectionID       string            `json:"connection_id"`
	ActionURL          string            `json:"action_url"`
	Module             string            `json:"module"`
	AllowedOrigins     []string          `json:"allowed_origins"`
	RedirectURL        string            `json:"redirect_url"`
	FieldMapping       map[string]string `json:"field_mapping"`
	RequiredFields     []string          `json:"required_fields"`
	HoneypotField      string            `json:"honeypot_field"`
	Captcha            *CaptchaView      `json:"captcha"`
	RateLimitPerMinute int               `json:"rate_limit_per_minute"`
	CreatedAt          string            `json:"created_at"`
}

// CaptchaView is a form's CAPTCHA without its secret.
type CaptchaView struct {
	Provider string `json:"provider"`
	SiteKey  string `json:"site_key"`
}

// ViewOf is f's view, its action at base (the API's public address).
func ViewOf(f *Form, base string) View {
	v := View{
		FormID: f.ID, ConnectionID: f.ConnectionID, ActionURL: ActionURL(base, f.ID), Module: f.Module,
		AllowedOrigins: f.AllowedOrigins, RedirectURL: f.RedirectURL, FieldMapping: f.FieldMapping,
		RequiredFields: f.RequiredFields, HoneypotField: f.HoneypotField, RateLimitPerMinute: f.RateLimit(),
	}
	if !f.CreatedAt.IsZero() {
		v.CreatedAt = f.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	if v.FieldMapping == nil {
		v.FieldMapping = map[string]string{}
	}
	if v.RequiredFields == nil {
		v.RequiredFields = []string{}
	}
	if f.Captcha != nil {
		v.Captcha = &CaptchaView{Provider: string(f.Captcha.Provider), SiteKey: f.Captcha.SiteKey}
	}
	return v
}

// ActionURL is where a form posts: base + /f/{form_id}.
func ActionURL(base, id string) string { return strings.TrimRight(base, "/") + "/f/" + id }

// ConnectionReader reads connections (the product API's store).
type ConnectionReader interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
}

// ErrConnectionNotFound: the form's connection is unknown.
var ErrConnectionNotFound = errors.New("no such connection")

// ErrDisconnected: forms are not made for a disconnected connection.
var ErrDisconnected = errors.New("the connection is disconnected")

// Admin is the product API's use case for forms.
type Admin struct {
	Forms       Store
	Connections ConnectionReader
	Log         *slog.Logger
	Now         clock.Func
}

// Create checks spec and stores a new form of connection id.
func (a *Admin) Create(ctx context.Context, connectionID string, spec Spec) (*Form, error) {
	if err := a.connection(ctx, connectionID, true); err != nil {
		return nil, err
	}
	f, err := NewForm(connectionID, spec)
	if err != nil {
		return nil, err
	}
	f.CreatedAt = a.Now.Now().UTC()
	if err := a.Forms.Create(ctx, f); err != nil {
		return nil, fmt.Errorf("store the form: %w", err)
	}
	a.Log.Info("form created", "connection_id", connectionID, "form_id", f.ID, "module", f.Module,
		"origins", len(f.AllowedOrigins), "captcha", f.Captcha != nil)
	return f, nil
}

// List is every form of connection id.
func (a *Admin) List(ctx context.Context, connectionID string) ([]*Form, error) {
	if err := a.connection(ctx, connectionID, false); err != nil {
		return nil, err
	}
	fs, err := a.Forms.ListByConnection(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].CreatedAt.Before(fs[j].CreatedAt) })
	return fs, nil
}

// Get is form id of connection connectionID.
func (a *Admin) Get(ctx context.Context, connectionID, id string) (*Form, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	f, err := a.Forms.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.ConnectionID != connectionID {
		return nil, ErrNotFound
	}
	return f, nil
}

// Delete removes form id of connection connectionID: /f/{id} answers 404
// from then on.
func (a *Admin) Delete(ctx context.Context, connectionID, id string) error {
	if _, err := a.Get(ctx, connectionID, id); err != nil {
		return err
	}
	if err := a.Forms.Delete(ctx, id); err != nil {
		return err
	}
	a.Log.Info("form deleted", "connection_id", connectionID, "form_id", id)
	return nil
}

func (a *Admin) connection(ctx context.Context, id string, active bool) error {
	if !connection.ValidID(id) {
		return ErrConnectionNotFound
	}
	c, err := a.Connections.Get(ctx, id)
	switch {
	case errors.Is(err, connection.ErrNotFound):
		return ErrConnectionNotFound
	case err != nil:
		return err
	case active && c.Status == connection.Disconnected:
		return ErrDisconnected
	}
	return nil
}
