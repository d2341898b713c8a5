package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstore"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The forms commands' variables: the forms table, and the API's public
// base URL (the stack's PublicUrl) that forms post to.
const (
	envFormsTable = "FORMS_TABLE"
	envPublicURL  = "ZOHOCONNECT_PUBLIC_URL"
)

func init() {
	stackOutputs[envFormsTable] = "FormsTableName"
	stackOutputs[envPublicURL] = "PublicUrl"
}

// listValue is a repeatable flag.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

var cmdFormsCreate = &command{
	group: "forms", name: "create",
	args:    "ID -origin https://www.example.com [-origin ...] [-module Leads] [-redirect URL] [-honeypot NAME] [-require NAME,...] [-map name=Zoho_Field ...] [-captcha turnstile|hcaptcha|recaptcha -captcha-secret-file FILE [-site-key KEY]] [-rate N] [-json]",
	summary: "Make a public form of a connection; prints its id, its action URL and a ready <form> snippet.",
	help: `A form lets any page of its allowed origins post into the connection
without a key (POST /f/{form_id}). The CAPTCHA secret is read from a file
(-captcha-secret-file -: stdin), never from the command line; it is stored
with the form and never shown again. The action URL is on the stack's
PublicUrl (or ZOHOCONNECT_PUBLIC_URL).`,
	needs: []string{envConnectionsTable, envFormsTable, envPublicURL},
	run:   runFormsCreate,
}

var cmdFormsList = &command{
	group: "forms", name: "list",
	args:    "ID [-json]",
	summary: "List a connection's public forms (never a CAPTCHA secret).",
	needs:   []string{envConnectionsTable, envFormsTable, envPublicURL},
	run:     runFormsList,
}

var cmdFormsDelete = &command{
	group: "forms", name: "delete",
	args:    "ID FORM_ID [-yes]",
	summary: "Delete a public form: POST /f/{form_id} answers 404 from then on.",
	needs:   []string{envConnectionsTable, envFormsTable},
	run:     runFormsDelete,
}

func (c *cli) formsAdmin(ctx context.Context, cmd *command) (*forms.Admin, settings, error) {
	s, err := c.settings(ctx, cmd, cmd.needs, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	db := dynamodb.NewFromConfig(cfg)
	return &forms.Admin{
		Forms:       &formstore.Store{DB: db, Table: s[envFormsTable]},
		Connections: awsstore.NewConnectionStore(db, s[envConnectionsTable]),
		Log:         logging.New(io.Discard, "error"),
		Now:         c.now,
	}, s, nil
}

func runFormsCreate(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	var origins, required, mapping listValue
	fs.Var(&origins, "origin", "an allowed origin (repeatable, or comma-separated; at least one)")
	fs.Var(&required, "require", "a required posted field (repeatable, or comma-separated)")
	fs.Var(&mapping, "map", "name=Zoho_Field: a posted name → a Zoho field API name (repeatable)")
	module := fs.String("module", "", "the CRM module (default Leads)")
	redirect := fs.String("redirect", "", "where a browser goes after posting (https; default: a thank-you page)")
	honeypot := fs.String("honeypot", "", "a field hidden from people: a post that fills it is dropped")
	provider := fs.String("captcha", "", "turnstile, hcaptcha or recaptcha")
	secretFile := fs.String("captcha-secret-file", "", "the file holding the CAPTCHA secret (- for stdin)")
	siteKey := fs.String("site-key", "", "the CAPTCHA widget's public site key, for the snippet")
	rate := fs.Int("rate", 0, fmt.Sprintf("posts a minute per client address (default %d)", forms.DefaultRateLimit))
	asJSON := fs.Bool("json", false, `print {"form_id","action_url","html"}`)
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	id, err := connectionID(cmd, rest)
	if err != nil {
		return err
	}
	spec := forms.Spec{Module: *module, AllowedOrigins: origins, RedirectURL: *redirect, RequiredFields: required,
		HoneypotField: *honeypot, RateLimitPerMinute: *rate}
	for _, m := range mapping {
		k, v, ok := strings.Cut(m, "=")
		if !ok {
			return usagef(cmd, "-map %q: use name=Zoho_Field", m)
		}
		if spec.FieldMapping == nil {
			spec.FieldMapping = map[string]string{}
		}
		spec.FieldMapping[k] = v
	}
	switch {
	case *provider != "" && *secretFile == "":
		return usagef(cmd, "-captcha needs -captcha-secret-file (the secret is never taken from the command line)")
	case *provider == "" && (*secretFile != "" || *siteKey != ""):
		return usagef(cmd, "-captcha-secret-file and -site-key go with -captcha")
	case *provider != "":
		secret, err := c.readSecret(*secretFile)
		if err != nil {
			return err
		}
		spec.Captcha = &forms.CaptchaSpec{Provider: *provider, Secret: zoho.Secret(secret), SiteKey: *siteKey}
	}
	a, s, err := c.formsAdmin(ctx, cmd)
	if err != nil {
		return err
	}
	f, err := a.Create(ctx, id, spec)
	if err != nil {
		return formError(cmd, id, err)
	}
	action := forms.ActionURL(s[envPublicURL], f.ID)
	html := forms.Snippet(f, action)
	if *asJSON {
		return jsonLine(c.stdout, map[string]string{"form_id": f.ID, "action_url": action, "html": html})
	}
	fmt.Fprintf(c.stderr, "%s: form %s of %s posts to %s; paste this into a page of %s:\n", name, f.ID, id, action, strings.Join(f.AllowedOrigins, ", "))
	_, err = fmt.Fprint(c.stdout, html)
	return err
}

func (c *cli) readSecret(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(c.stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read the CAPTCHA secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func formError(cmd *command, id string, err error) error {
	switch {
	case errors.Is(err, forms.ErrInvalid):
		return usagef(cmd, "%v", err)
	case errors.Is(err, forms.ErrConnectionNotFound):
		return fmt.Errorf("connection %s: %w", id, connection.ErrNotFound)
	case errors.Is(err, forms.ErrNotFound):
		return fmt.Errorf("%w (%w)", err, connection.ErrNotFound)
	}
	return err
}

func runFormsList(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	asJSON := fs.Bool("json", false, "print one JSON object per form")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	id, err := connectionID(cmd, rest)
	if err != nil {
		return err
	}
	a, s, err := c.formsAdmin(ctx, cmd)
	if err != nil {
		return err
	}
	fs2, err := a.List(ctx, id)
	if err != nil {
		return formError(cmd, id, err)
	}
	if *asJSON {
		for _, f := range fs2 {
			if err := jsonLine(c.stdout, forms.ViewOf(f, s[envPublicURL])); err != nil {
				return err
			}
		}
		return nil
	}
	w := newTable(c.stdout)
	row(w, "FORM", "MODULE", "ORIGINS", "CAPTCHA", "RATE/MIN", "CREATED")
	for _, f := range fs2 {
		cp := "-"
		if f.Captcha != nil {
			cp = string(f.Captcha.Provider)
		}
		row(w, f.ID, f.Module, strings.Join(f.AllowedOrigins, ","), cp, fmt.Sprint(f.RateLimit()), stamp(f.CreatedAt))
	}
	return w.Flush()
}

func runFormsDelete(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usagef(cmd, "a connection ID and a FORM_ID are required")
	}
	id, err := connectionID(cmd, rest[:1])
	if err != nil {
		return err
	}
	formID := rest[1]
	if !forms.ValidID(formID) {
		return usagef(cmd, "%q is not a form id (f_ and 32 hex digits)", formID)
	}
	if !*yes && !c.terminal {
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	if !*yes {
		if err := c.confirm(cmd, fmt.Sprintf("Delete form %s of %s? Pages that post to it get 404 from then on.", formID, id)); err != nil {
			return err
		}
	}
	a, _, err := c.formsAdmin(ctx, cmd)
	if err != nil {
		return err
	}
	if err := a.Delete(ctx, id, formID); err != nil {
		return formError(cmd, id, err)
	}
	fmt.Fprintf(c.stderr, "%s: form %s deleted\n", name, formID)
	return nil
}
