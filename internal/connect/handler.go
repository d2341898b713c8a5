package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/httpapi"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Handler turns API Gateway events into the flow's two calls.
type Handler struct {
	Service *Service
	Log     *slog.Logger
	// PublicBaseURL (PUBLIC_BASE_URL, e.g. https://api.example.com) is
	// the API's address when it is served under a custom domain; empty:
	// the domain API Gateway reports for the request.
	PublicBaseURL string
	// Metrics receives one Connects metric per callback (nil: none).
	Metrics *metrics.Emitter
}

// CallbackPath is where Zoho sends the browser back.
const CallbackPath = "/oauth/callback"

// CallbackURL is the redirect URI for a request: PublicBaseURL's, else
// https on the domain API Gateway served the request at (empty when
// neither is known).
func (h *Handler) CallbackURL(req events.APIGatewayV2HTTPRequest) string {
	if h.PublicBaseURL != "" {
		return strings.TrimRight(h.PublicBaseURL, "/") + CallbackPath
	}
	if d := req.RequestContext.DomainName; d != "" {
		return "https://" + d + CallbackPath
	}
	return ""
}

// Handle serves GET /connect and GET /oauth/callback.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	switch {
	case method == "GET" && strings.HasSuffix(path, "/connect"):
		return h.connect(ctx, req), nil
	case method == "GET" && strings.HasSuffix(path, "/oauth/callback"):
		return h.callback(ctx, req), nil
	}
	return httpapi.JSON(404, &httpapi.Error{Code: "not_found", Message: "no such route"}), nil
}

// ConnectRequest is GET /connect's query, checked.
type ConnectRequest struct {
	// Session is the connect session's token; when given, nothing else is.
	Session     zoho.Secret
	Environment zoho.Environment // zero: any
	Start       zoho.DataCenter
}

// ParseConnectQuery reads GET /connect's query: session, or (anonymous)
// environment and dc, each optional, case-insensitive; anything unknown,
// repeated or malformed is an error.
func ParseConnectQuery(raw string) (ConnectRequest, error) {
	q, err := parseQuery(raw)
	if err != nil {
		return ConnectRequest{}, err
	}
	var r ConnectRequest
	us, _ := zoho.ByLocation("us")
	r.Start = us
	for k, v := range q {
		switch k {
		case "session":
			if _, _, ok := connection.ParseSessionToken(zoho.Secret(v)); !ok {
				return r, errors.New("session is not a connect session's token")
			}
			r.Session = zoho.Secret(v)
		case "environment":
			if r.Environment, err = zoho.ParseEnvironment(v); err != nil {
				return r, fmt.Errorf("environment must be production, sandbox or developer, not %q", v)
			}
		case "dc":
			dc, err := zoho.ByLocation(v)
			if err != nil {
				return r, fmt.Errorf("dc %q is not a Zoho data center", v)
			}
			if dc.Location == "cn" {
				r.Start = dc
			}
		default:
			return r, fmt.Errorf("unknown parameter %q", k)
		}
	}
	if r.Session != "" && len(q) > 1 {
		return r, errors.New("with a session, the session says the environment and the data center")
	}
	return r, nil
}

// ParseCallbackQuery reads Zoho's redirect query: parameters in any order,
// URL-encoded, a trailing "&" allowed. A parameter given twice is refused,
// so that nothing can be smuggled past the checks by repetition.
func ParseCallbackQuery(raw string) (Redirect, error) {
	q, err := parseQuery(raw)
	if err != nil {
		return Redirect{}, err
	}
	return Redirect{Code: zoho.Secret(q["code"]), Location: q["location"], AccountsServer: q["accounts-server"], State: zoho.Secret(q["state"]), Error: q["error"]}, nil
}

const maxQuery = 8 << 10

func parseQuery(raw string) (map[string]string, error) {
	if len(raw) > maxQuery {
		return nil, errors.New("the query is too long")
	}
	vals, err := url.ParseQuery(strings.TrimSuffix(raw, "&"))
	if err != nil {
		return nil, errors.New("the query is not valid URL encoding")
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) > 1 {
			return nil, fmt.Errorf("the parameter %q is given more than once", k)
		}
		out[strings.ToLower(k)] = v[0]
	}
	return out, nil
}

func (h *Handler) connect(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	r, err := ParseConnectQuery(req.RawQueryString)
	if err != nil {
		return httpapi.Fail(req, &httpapi.Error{Status: 400, Code: "invalid_request", Message: err.Error()}, true)
	}
	st, err := h.Service.Start(ctx, StartRequest{SessionToken: r.Session, Environment: r.Environment, Start: r.Start, CallbackURL: h.CallbackURL(req)})
	switch {
	case errors.Is(err, ErrInvalidSession), errors.Is(err, ErrSessionRequired):
		h.Log.Warn("connect refused", "err", err.Error())
		return httpapi.Fail(req, &httpapi.Error{Status: 400, Code: "invalid_request", Message: err.Error()}, true)
	case err != nil:
		h.Log.Error("connect failed", "err", err.Error())
		return httpapi.Fail(req, &httpapi.Error{Status: 500, Code: "internal", Message: "The connection could not be started. Please try again in a moment."}, true)
	}
	h.Log.Info("connect started", "environment", r.Environment.String(), "start", r.Start.AuthorizationHost(), "session_id", st.SessionID)
	resp := httpapi.Redirect(st.URL)
	resp.Cookies = []string{stateCookie(st.CookieName, st.BrowserNonce.Reveal(), int(h.Service.stateTTL()/time.Second))}
	return resp
}

// stateCookie binds a state to its browser: Secure and HttpOnly, sent on
// Zoho's top-level redirect back (SameSite=Lax), for this host only
// (__Host-, Path=/), for the state's life.
func stateCookie(name, value string, maxAge int) string {
	return name + "=" + value + "; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=" + strconv.Itoa(maxAge)
}

// cookie is the request's cookie of that name ("" when absent). API
// Gateway's payload 2.0 gathers them in Cookies; the Cookie header is
// read too.
func cookie(req events.APIGatewayV2HTTPRequest, name string) string {
	all := append([]string{}, req.Cookies...)
	for k, v := range req.Headers {
		if strings.EqualFold(k, "cookie") {
			all = append(all, strings.Split(v, ";")...)
		}
	}
	for _, c := range all {
		if n, v, ok := strings.Cut(strings.TrimSpace(c), "="); ok && n == name {
			return v
		}
	}
	return ""
}

func (h *Handler) callback(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	r, err := ParseCallbackQuery(req.RawQueryString)
	if err != nil {
		return h.fail(req, fmt.Errorf("%w: %v", ErrInvalidRequest, err))
	}
	r.CallbackURL = h.CallbackURL(req)
	if ms := req.RequestContext.TimeEpoch; ms > 0 {
		r.ReceivedAt = time.UnixMilli(ms)
	}
	var clear []string
	if r.State != "" {
		name := CookieName(r.State.Reveal())
		r.BrowserNonce = zoho.Secret(cookie(req, name))
		clear = []string{stateCookie(name, "", 0)} // the state is spent, whatever happens
	}
	res, err := h.Service.Complete(ctx, r)
	if err != nil {
		resp := h.fail(req, err)
		h.countConnect(r.Location, failureCode(err))
		var f *Failure
		if errors.As(err, &f) && f.Session.ReturnURL != "" {
			resp = backTo(f.Session.ReturnURL, url.Values{"status": {"error"}, "error": {failureCode(err)}, "session_id": {f.Session.ID}})
		}
		resp.Cookies = clear
		return resp
	}
	resp := h.connected(req, res)
	resp.Cookies = clear
	return resp
}

// connected is the answer to a stored connection.
func (h *Handler) connected(req events.APIGatewayV2HTTPRequest, res *Result) events.APIGatewayV2HTTPResponse {
	c := res.Connection
	outcome := "reconnected"
	if res.New {
		outcome = "connected"
	}
	h.countConnect(c.Location, outcome)
	h.Log.Info("connected", "connection_id", c.ID, "tenant_id", c.TenantID, "location", c.Location, "environment", c.Environment,
		"org_id", c.OrgID, "new", res.New, "key_shown", res.SubmissionKey != "", "session_id", c.SessionID)
	if res.Session != nil && res.Session.ReturnURL != "" {
		return backTo(res.Session.ReturnURL, url.Values{"status": {"connected"}, "connection_id": {c.ID}, "session_id": {res.Session.ID}})
	}
	body := map[string]any{
		"connection_id": c.ID, "tenant_id": c.TenantID, "location": c.Location, "environment": c.Environment,
		"org_id": c.OrgID, "org_name": c.OrgName, "user_email": c.UserEmail,
		"api_domain": c.APIDomain, "status": c.Status, "token_expires_at": c.TokenExpiresAt,
	}
	if res.SubmissionKey != "" {
		body["submission_key"] = res.SubmissionKey.Reveal()
	}
	if httpapi.WantsJSON(req) {
		return httpapi.JSON(200, body)
	}
	facts := [][2]string{
		{"Connection", c.ID}, {"Organization", c.OrgName + " (" + c.OrgID + ")"},
		{"Environment", c.Environment}, {"Data center", c.Location}, {"Connected by", c.UserEmail},
	}
	note := "This org was connected before: its submission key is unchanged."
	switch {
	case res.SubmissionKey != "":
		facts = append(facts, [2]string{"Submission key", res.SubmissionKey.Reveal()})
		note = "Copy the submission key now: it is shown only this once."
	case res.Session != nil:
		note = "You can close this page: the product takes it from here."
	}
	return httpapi.Page(200, httpapi.PageContent{Title: "Zoho CRM connected", Facts: facts, Note: note})
}

// backTo sends the browser back to the product (303, so it arrives as a
// GET) with params added to the return URL's query: never a key or token.
func backTo(returnURL string, params url.Values) events.APIGatewayV2HTTPResponse {
	u, err := url.Parse(returnURL)
	if err != nil {
		return httpapi.JSON(500, &httpapi.Error{Code: "internal", Message: "the return URL is not valid"})
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	resp := httpapi.Redirect(u.String())
	resp.StatusCode = 303
	return resp
}

// countConnect emits the Connects metric; location is the DC's code, or
// "unknown" when it is not one of Zoho's (it came from the browser).
func (h *Handler) countConnect(location, outcome string) {
	loc := "unknown"
	if dc, err := zoho.ByLocation(location); err == nil {
		loc = dc.Location
	}
	h.Metrics.Emit("connect outcome", [][2]string{{"Outcome", outcome}, {"Location", loc}}, metrics.Value{Name: metrics.Connects, Unit: metrics.Count, Value: 1})
}

// failureCode is the interface code err answers ("internal" when none).
func failureCode(err error) string {
	if e := httpapi.Match(err, failures); e != nil {
		return e.Code
	}
	return "internal"
}

// failures maps the flow's errors to the interface's codes.
var failures = []httpapi.Failure{
	{Err: ErrAccessDenied, Status: 403, Code: "access_denied", Message: "Access to Zoho CRM was not granted. Connect again and choose Accept to link your org."},
	{Err: ErrInvalidRequest, Status: 400, Code: "invalid_request", Message: "This link is incomplete: Zoho sent no authorization code."},
	{Err: ErrInvalidState, Status: 400, Code: "invalid_state", Message: "This sign-in link has expired or was already used. Please start the connection again."},
	{Err: ErrInvalidLocation, Status: 400, Code: "invalid_location", Message: "Zoho's answer named a data center we cannot verify. Please start the connection again."},
	{Err: ErrGrantExpired, Status: 400, Code: "grant_expired", Message: "Zoho's authorization expired before it could be used. Please connect again."},
	{Err: ErrEnvironmentMismatch, Status: 409, Code: "environment_mismatch", Message: "The org you chose is not of the environment asked for."},
	{Err: ErrZohoUnavailable, Status: 502, Code: "zoho_unavailable", Message: "Zoho did not answer as expected. Please try again in a few minutes."},
	// Message: the ClientError's own, which names the DC and the fix.
	{Err: ErrClientNotEnabled, Status: 502, Code: "client_not_enabled"},
	{Err: ErrConnectedByAnotherUser, Status: 409, Code: "connected_by_another_user", Message: "This org is already connected by another Zoho user; only they can connect it again, or the product can through a connect session."},
}

func (h *Handler) fail(req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	e := httpapi.Match(err, failures)
	switch {
	case e == nil:
		e = &httpapi.Error{Status: 500, Code: "internal", Message: "Something went wrong on our side. Please try again in a few minutes."}
	case errors.Is(err, ErrEnvironmentMismatch):
		e.Message += " (" + detail(err, ErrEnvironmentMismatch) + ")"
	case errors.Is(err, ErrInvalidRequest):
		e.Message += " (" + detail(err, ErrInvalidRequest) + ")"
	case errors.Is(err, ErrGrantExpired) && err != ErrGrantExpired:
		e.Message += " (" + detail(err, ErrGrantExpired) + ")"
	}
	e.Retry = "../connect" // from /oauth/callback, under any stage prefix
	if e.Status >= 500 {
		h.Log.Error("callback failed", "error_code", e.Code, "err", err.Error())
	} else {
		h.Log.Warn("callback refused", "error_code", e.Code, "err", err.Error())
	}
	return httpapi.Fail(req, e, true)
}

// detail is the part of a wrapped error after the sentinel's text.
func detail(err, sentinel error) string {
	s := strings.TrimPrefix(err.Error(), sentinel.Error())
	return strings.TrimSpace(strings.TrimPrefix(s, ":"))
}
