// Package formpost serves public forms' posts, POST /f/{form_id}, and
// their CORS preflight, OPTIONS /f/{form_id} (SyncFunction). A post is
// checked in the order that costs least for what it stops:
//
//  1. the form exists (a deleted one is 404) — one GetItem;
//  2. Origin, or Referer's origin when a browser sent no Origin, is one of
//     the form's allowed origins, else 403 origin_not_allowed;
//  3. the form's rate limit per client address (requestContext's
//     sourceIp, an IPv6 one by its /64, hashed with the form id; never
//     stored as it is): one conditional UpdateItem of the submission rate
//     counter, 429 with Retry-After over it;
//  4. the body: urlencoded, multipart/form-data (text fields only: a file
//     part is 415) or JSON;
//  5. a filled honeypot is answered as a queued submission would be, and
//     sent nowhere;
//  6. the CAPTCHA token, when the form has one, at its provider
//     (pkg/captcha: 403 captcha_failed when missing or refused);
//  7. the form's required fields (422), then its mapping.
//
// Then the post is the submission use case's (submission.Service.Submit
// with Credentials.Form): what reaches Zoho, duplicates, exactly once,
// queued when Zoho cannot take it. A browser's post (Accept without
// application/json) is answered 303 to the form's redirect_url, or a
// thank-you page; fetch gets the submission's JSON answer, with
// Access-Control-Allow-Origin naming the allowed origin and Vary: Origin.
// No submitted value is ever logged: only names, ids and outcomes.
package formpost

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/httpapi"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
)

// Submitter is the submission use case (*submission.Service).
type Submitter interface {
	Submit(ctx context.Context, r submission.Request) (submission.Answer, error)
}

// Verifier checks a CAPTCHA token (*captcha.Verifier).
type Verifier interface {
	Verify(ctx context.Context, p captcha.Provider, secret, token, remoteIP string) error
}

// Handler serves /f/{form_id}.
type Handler struct {
	Forms   forms.Reader
	Submit  Submitter
	Captcha Verifier
	// Counter is the submissions' rate counter (submissionstore.RateCounter),
	// keyed here by form and client address.
	Counter      submission.RateCounter
	MaxBodyBytes int
	Log          *slog.Logger
	Now          clock.Func
	// Metrics receives a post's Submissions and SubmissionLatency line,
	// as a keyed submission's, split by Source "form" (nil: none).
	Metrics *metrics.Emitter
}

var _ submission.RouteHandler = (*Handler)(nil)

// The refusals of a post.
var (
	ErrNotFound         = errors.New("no such form")
	ErrOriginNotAllowed = errors.New("the page's origin may not post to this form")
	ErrCaptchaFailed    = errors.New("the CAPTCHA was not solved")
	ErrRateLimited      = errors.New("too many posts from this address")
	ErrMethod           = errors.New("only POST (and the OPTIONS preflight) are served here")
)

var failures = []httpapi.Failure{
	{Err: ErrNotFound, Status: 404, Code: "not_found", Message: "This form does not exist (it may have been deleted)."},
	{Err: submission.ErrUnauthorized, Status: 404, Code: "not_found", Message: "This form does not exist (its connection was disconnected)."},
	{Err: ErrOriginNotAllowed, Status: 403, Code: "origin_not_allowed", Message: "This form can only be sent from the web sites it was made for."},
	{Err: ErrCaptchaFailed, Status: 403, Code: "captcha_failed", Message: "Please solve the CAPTCHA and send the form again."},
	{Err: ErrRateLimited, Status: 429, Code: "rate_limited", Message: "Too many forms sent from your address; please wait a minute and send it again."},
	{Err: submission.ErrRateLimited, Status: 429, Code: "rate_limited", Message: "Too many submissions right now; please send it again in a minute."},
	{Err: ErrFilePart, Status: 415, Code: "unsupported_media_type", Message: "This form cannot take files: remove the file (or the file input) and send the text fields only."},
	{Err: ErrUnsupportedMedia, Status: 415, Code: "unsupported_media_type", Message: "Send application/x-www-form-urlencoded, multipart/form-data (text fields) or application/json (UTF-8)."},
	{Err: submission.ErrUnsupportedMedia, Status: 415, Code: "unsupported_media_type"},
	{Err: submission.ErrBodyTooLarge, Status: 413, Code: "body_too_large", Message: "The form is over the size limit."},
	{Err: submission.ErrMalformedBody, Status: 400, Code: "invalid_request"},
	{Err: submission.ErrInProgress, Status: 409, Code: "submission_in_progress", Message: "The same form is being sent now; send it again in a few seconds."},
	{Err: submission.ErrKeyReused, Status: 409, Code: "idempotency_key_reused"},
	{Err: ErrMethod, Status: 405, Code: "method_not_allowed", Message: "Only POST is served here."},
}

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	id := req.PathParameters["form_id"]
	if id == "" {
		id = idFromPath(req.RawPath)
	}
	method := req.RequestContext.HTTP.Method
	p := &post{h: h, req: req, id: id, json: httpapi.WantsJSON(req), start: time.Now()}
	switch method {
	case "OPTIONS":
		return p.preflight(ctx)
	case "POST", "":
		resp := p.serve(ctx)
		p.emit()
		return resp
	}
	resp := p.fail(ErrMethod)
	p.emit()
	return resp
}

// emit writes the post's metric line: the keyed submissions' Outcome
// (created, matched, queued, rejected, refused, failed) or the form's
// refusal (origin_not_allowed, captcha_failed, rate_limited, honeypot),
// counted with the keyed ones and apart, by Source "form". Never a
// submitted value, nor the form's id.
func (p *post) emit() {
	outcome := p.outcome
	if outcome == "" {
		outcome = "failed"
	}
	p.h.Metrics.EmitSplit("form post outcome", [][2]string{{"Outcome", outcome}}, [2]string{"Source", "form"},
		metrics.Value{Name: metrics.Submissions, Unit: metrics.Count, Value: 1},
		metrics.Value{Name: metrics.SubmissionLatency, Unit: metrics.Milliseconds, Value: float64(time.Since(p.start).Microseconds()) / 1000})
}

// post is one request's way through the checks.
type post struct {
	h      *Handler
	req    events.APIGatewayV2HTTPRequest
	id     string
	json   bool
	form   *forms.Form
	origin string // the allowed origin, once checked
	start  time.Time
	// outcome is the post's, for its metric line (set by answer or fail).
	outcome string
}

func (p *post) log() *slog.Logger {
	l := p.h.Log.With("form_id", p.id)
	if p.form != nil {
		l = l.With("connection_id", p.form.ConnectionID)
	}
	return l
}

func (p *post) load(ctx context.Context) error {
	if !forms.ValidID(p.id) {
		return ErrNotFound
	}
	f, err := p.h.Forms.Get(ctx, p.id)
	if errors.Is(err, forms.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read the form: %w", err)
	}
	p.form = f
	origin := header(p.req, "origin")
	if origin == "" {
		origin = forms.OriginOfReferer(header(p.req, "referer"))
	}
	allowed, ok := f.AllowsOrigin(origin)
	if !ok {
		p.log().Info("form post refused: origin not allowed")
		return ErrOriginNotAllowed
	}
	p.origin = allowed
	return nil
}

func (p *post) preflight(ctx context.Context) events.APIGatewayV2HTTPResponse {
	if err := p.load(ctx); err != nil {
		return p.fail(err)
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: p.cors(map[string]string{})}
	resp.Headers["Access-Control-Allow-Methods"] = "POST"
	resp.Headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
	resp.Headers["Access-Control-Max-Age"] = "600"
	return resp
}

func (p *post) cors(h map[string]string) map[string]string {
	if p.origin != "" {
		h["Access-Control-Allow-Origin"] = p.origin
	}
	h["Vary"] = "Origin"
	return h
}

func (p *post) serve(ctx context.Context) events.APIGatewayV2HTTPResponse {
	if err := p.load(ctx); err != nil {
		return p.fail(err)
	}
	f := p.form
	ip := p.req.RequestContext.HTTP.SourceIP
	if err := p.rateLimit(ctx, ip); err != nil {
		return p.fail(err)
	}
	body, err := submission.DecodeBody(p.req.Body, p.req.IsBase64Encoded, p.h.MaxBodyBytes)
	if err != nil {
		return p.fail(err)
	}
	ct := header(p.req, "content-type")
	if ct == "" {
		return p.fail(ErrUnsupportedMedia)
	}
	fields, err := ParseBody(ct, body)
	if err != nil {
		return p.fail(err)
	}
	if hp := f.HoneypotField; hp != "" && filled(fields[hp]) {
		p.log().Info("form post dropped: its honeypot field was filled")
		resp := p.answer(submission.Answer{Status: 202, Body: mustJSON(map[string]string{"status": "queued", "submission_id": "sub_" + randomHex(12)})})
		p.outcome = "honeypot"
		return resp
	}
	delete(fields, f.HoneypotField)
	var token string
	if f.Captcha != nil {
		token, _ = fields[f.Captcha.Provider.TokenField()].(string)
	}
	for _, k := range captcha.TokenFields() {
		delete(fields, k)
	}
	if f.Captcha != nil {
		if err := p.h.Captcha.Verify(ctx, f.Captcha.Provider, f.Captcha.Secret.Reveal(), token, ip); err != nil {
			lvl := slog.LevelInfo
			if !errors.Is(err, captcha.ErrFailed) {
				lvl = slog.LevelWarn
			}
			p.log().Log(ctx, lvl, "form post refused: CAPTCHA not confirmed", "provider", string(f.Captcha.Provider), "err", err.Error())
			return p.fail(ErrCaptchaFailed)
		}
	}
	if missing := required(f, fields); len(missing) > 0 {
		p.log().Info("form post refused: required fields missing", "fields", submission.FieldNames(missing))
		return p.fail(&submission.InvalidError{Message: "Please fill in the required fields.", Fields: missing})
	}
	b, err := json.Marshal(mapFields(f.FieldMapping, fields))
	if err != nil {
		return p.fail(fmt.Errorf("%w: %v", submission.ErrMalformedBody, err))
	}
	ans, err := p.h.Submit.Submit(ctx, submission.Request{
		ConnectionID: f.ConnectionID,
		Credentials:  submission.Credentials{Form: true},
		Method:       "POST", Path: "/f/" + f.ID,
		ContentType: "application/json", Body: b,
		RawQuery: "module=" + url.QueryEscape(f.Module),
	})
	if err != nil {
		return p.fail(err)
	}
	p.log().Info("form post taken", "status", ans.Status, "ms", time.Since(p.start).Milliseconds())
	return p.answer(ans)
}

// rateLimit counts one post of this form from ip, or refuses it.
func (p *post) rateLimit(ctx context.Context, ip string) error {
	if p.h.Counter == nil {
		return nil
	}
	now := p.h.Now.Now()
	window := now.UTC().Truncate(submission.RateWindow)
	end := window.Add(submission.RateWindow)
	sum := sha256.Sum256([]byte(p.form.ID + "|" + clientKey(ip)))
	err := p.h.Counter.Take(ctx, "form_"+p.form.ID+"_"+hex.EncodeToString(sum[:8]), window, p.form.RateLimit(), end.Add(submission.RateWindow))
	switch {
	case errors.Is(err, submission.ErrRateLimited):
		p.log().Info("form post refused: the form's rate limit for this address is exceeded")
		return &rateLimited{retry: end.Sub(now)}
	case err != nil:
		// As the connection's limit: a counter that cannot be reached lets
		// the post through (the connection's own limit still counts).
		p.log().Error("the form's rate counter failed: post let through", "err", err.Error())
	}
	return nil
}

// clientKey is what the rate limit counts a client by: its IPv4 address,
// or its IPv6 address's /64 (one client's network: it has every address
// in it to post from).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	pre, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return pre.String()
}

type rateLimited struct{ retry time.Duration }

func (e *rateLimited) Error() string        { return ErrRateLimited.Error() }
func (e *rateLimited) Is(target error) bool { return target == ErrRateLimited }

// mapFields renames the posted names of mapping all at once (a name that
// is both a source and a target is not renamed twice), in the same way
// whatever the map's order: a mapped value wins over a posted one of its
// target's name, and of two names mapped to one target the later
// (sorted) wins.
func mapFields(mapping map[string]string, fields submission.Fields) submission.Fields {
	if len(mapping) == 0 {
		return fields
	}
	out := make(submission.Fields, len(fields))
	for k, v := range fields {
		if _, mapped := mapping[k]; !mapped {
			out[k] = v
		}
	}
	for _, from := range slices.Sorted(maps.Keys(mapping)) {
		if v, ok := fields[from]; ok {
			out[mapping[from]] = v
		}
	}
	return out
}

// required lists the form's required fields the post left empty.
func required(f *forms.Form, fields submission.Fields) map[string]string {
	var out map[string]string
	for _, r := range f.RequiredFields {
		if !filled(fields[r]) {
			if out == nil {
				out = map[string]string{}
			}
			out[r] = "required"
		}
	}
	return out
}

func filled(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	case []any:
		for _, e := range v {
			if filled(e) {
				return true
			}
		}
		return false
	}
	return true
}

// answer is a taken post's answer: fetch gets the submission's JSON with
// CORS headers; a browser's post a 303 to the redirect URL, or a page.
func (p *post) answer(ans submission.Answer) events.APIGatewayV2HTTPResponse {
	p.outcome = submission.Outcome(ans.Status)
	if p.json {
		resp := httpapi.JSON(ans.Status, json.RawMessage(ans.Body))
		resp.Headers = p.cors(resp.Headers)
		return resp
	}
	if p.form.RedirectURL != "" {
		resp := httpapi.Redirect(p.form.RedirectURL)
		resp.StatusCode = 303
		return resp
	}
	return httpapi.Page(200, httpapi.PageContent{Title: "Thank you", Note: "Your message was sent."})
}

func (p *post) fail(err error) events.APIGatewayV2HTTPResponse {
	var e *httpapi.Error
	var inv *submission.InvalidError
	switch {
	case errors.As(err, &inv):
		e = &httpapi.Error{Status: 422, Code: "invalid_submission", Message: inv.Message, Fields: inv.Fields}
	default:
		e = httpapi.Match(err, failures)
	}
	if e == nil {
		p.log().Error("form post failed", "err", err.Error())
		e = &httpapi.Error{Status: 500, Code: "internal", Message: "The form could not be sent now. Please send it again in a minute."}
	}
	switch p.outcome = submission.Outcome(e.Status); {
	case errors.Is(err, ErrOriginNotAllowed), errors.Is(err, ErrCaptchaFailed):
		p.outcome = e.Code
	case e.Status == 429:
		p.outcome = "rate_limited" // the form's, per address, or the connection's
	}
	var resp events.APIGatewayV2HTTPResponse
	if p.json {
		resp = httpapi.JSON(e.Status, e)
	} else {
		title := "The form was not sent"
		resp = httpapi.Page(e.Status, httpapi.PageContent{Title: title, Error: e})
	}
	resp.Headers = p.cors(resp.Headers)
	var rl *rateLimited
	var srl *submission.RateLimitedError
	switch {
	case errors.As(err, &rl):
		resp.Headers["Retry-After"] = strconv.Itoa(max(int((rl.retry+time.Second-1)/time.Second), 1))
	case errors.As(err, &srl):
		resp.Headers["Retry-After"] = strconv.Itoa(srl.RetryAfterSeconds())
	case errors.Is(err, submission.ErrInProgress):
		resp.Headers["Retry-After"] = "5"
	}
	return resp
}

func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// idFromPath reads the id of /f/{form_id} (under any stage prefix).
func idFromPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if n := len(parts); n >= 2 && parts[n-2] == "f" {
		return parts[n-1]
	}
	return ""
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
