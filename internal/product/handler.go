package product

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/httpapi"
)

// KeyChecker checks the product's API key (current or previous).
type KeyChecker interface {
	Check(ctx context.Context, presented string) (bool, error)
}

// Handler serves the product API's routes (template.yaml, ApiFunction).
type Handler struct {
	Service *Service
	Keys    KeyChecker
	Log     *slog.Logger
	// PublicBaseURL (PUBLIC_BASE_URL) is the API's address under a custom
	// domain; empty: the domain API Gateway served the request at.
	PublicBaseURL string
	// Forms serves /connections/{connection_id}/forms (nil: not served).
	Forms *forms.Admin
}

// maxBody bounds a request body: a session or a patch is small.
const maxBody = 64 << 10

// ErrUnauthorized: no valid product API key.
var ErrUnauthorized = errors.New("a valid product API key is required")

// failures maps the product API's errors to answers.
var failures = []httpapi.Failure{
	{Err: ErrUnauthorized, Status: 401, Code: "unauthorized", Message: "Send the product API key as Authorization: Bearer <key>."},
	{Err: ErrInvalid, Status: 400, Code: "invalid_request"},
	{Err: ErrBadCursor, Status: 400, Code: "invalid_request", Message: "cursor: use the next_cursor of the previous page."},
	{Err: ErrNotFound, Status: 404, Code: "not_found", Message: "No such connection."},
	{Err: connection.ErrNotFound, Status: 404, Code: "not_found", Message: "No such connection."},
	{Err: ErrDisconnected, Status: 409, Code: "connection_disconnected", Message: "The connection is disconnected: connect the org again for a new key."},
}

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ok, err := h.Keys.Check(ctx, bearer(req))
	if err != nil {
		h.Log.Error("product API key unreadable", "err", err.Error())
		return httpapi.JSON(500, &httpapi.Error{Code: "internal", Message: "The request could not be checked now; try again."}), nil
	}
	if !ok {
		return h.fail(ErrUnauthorized), nil
	}
	route := req.RouteKey
	if route == "" || route == "$default" {
		route = req.RequestContext.HTTP.Method + " " + req.RawPath
	}
	id := req.PathParameters["connection_id"]
	switch route {
	case "POST /connect/sessions":
		return h.openSession(ctx, req), nil
	case "GET /connections":
		return h.list(ctx, req), nil
	case "GET /connections/{connection_id}":
		c, err := h.Service.Get(ctx, id)
		return h.answer(200, c, err), nil
	case "PATCH /connections/{connection_id}":
		var p Patch
		if err := decode(req, &p); err != nil {
			return h.fail(err), nil
		}
		c, err := h.Service.Change(ctx, id, p)
		return h.answer(200, c, err), nil
	case "DELETE /connections/{connection_id}":
		if _, err := h.Service.Disconnect(ctx, id); err != nil {
			return h.fail(err), nil
		}
		return httpapi.JSON(200, map[string]string{"status": string(connection.Disconnected)}), nil
	case "POST /connections/{connection_id}/submission-key":
		key, keyID, err := h.Service.RotateKey(ctx, id)
		if err != nil {
			return h.fail(err), nil
		}
		return httpapi.JSON(201, map[string]string{"submission_key": key, "key_id": keyID}), nil
	}
	if resp, ok := h.formRoute(ctx, route, req); ok {
		return resp, nil
	}
	return httpapi.JSON(404, &httpapi.Error{Code: "not_found", Message: "No such route."}), nil
}

func (h *Handler) openSession(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	var r SessionRequest
	if err := decode(req, &r); err != nil {
		return h.fail(err)
	}
	sess, token, err := h.Service.OpenSession(ctx, r)
	if err != nil {
		return h.fail(err)
	}
	return httpapi.JSON(201, map[string]string{
		"session_id":  sess.ID,
		"connect_url": h.baseURL(req) + "/connect?session=" + url.QueryEscape(token),
		"expires_at":  sess.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

func (h *Handler) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	q, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return h.fail(invalid("the query is not valid URL encoding"))
	}
	lq := ListQuery{TenantID: q.Get("tenant_id"), Status: connection.Status(q.Get("status")), Cursor: q.Get("cursor")}
	for k, v := range q {
		switch {
		case k != "tenant_id" && k != "status" && k != "limit" && k != "cursor":
			return h.fail(invalid("unknown parameter %q", k))
		case len(v) > 1:
			return h.fail(invalid("parameter %q given more than once", k))
		}
	}
	if l := q.Get("limit"); l != "" {
		if lq.Limit, err = strconv.Atoi(l); err != nil || lq.Limit < 1 {
			return h.fail(invalid("limit must be 1 to %d", MaxPage))
		}
	}
	page, err := h.Service.List(ctx, lq)
	if err != nil {
		return h.fail(err)
	}
	views := make([]View, 0, len(page.Connections))
	for _, c := range page.Connections {
		views = append(views, ViewOf(c))
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	return httpapi.JSON(200, map[string]any{"connections": views, "next_cursor": next})
}

func (h *Handler) answer(status int, c *connection.Connection, err error) events.APIGatewayV2HTTPResponse {
	if err != nil {
		return h.fail(err)
	}
	return httpapi.JSON(status, ViewOf(c))
}

func (h *Handler) fail(err error) events.APIGatewayV2HTTPResponse {
	e := httpapi.Match(err, failures)
	if e == nil {
		h.Log.Error("product API request failed", "err", err.Error())
		return httpapi.JSON(500, &httpapi.Error{Code: "internal", Message: "The request could not be done now; try again."})
	}
	if errors.Is(err, ErrInvalid) && err != ErrInvalid {
		e.Message = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(err.Error(), ErrInvalid.Error()), ":"))
	}
	return httpapi.JSON(e.Status, e)
}

func (h *Handler) baseURL(req events.APIGatewayV2HTTPRequest) string {
	if h.PublicBaseURL != "" {
		return strings.TrimRight(h.PublicBaseURL, "/")
	}
	return "https://" + req.RequestContext.DomainName
}

// bearer is the Authorization header's Bearer credential.
func bearer(req events.APIGatewayV2HTTPRequest) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, "authorization") {
			if scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.EqualFold(scheme, "bearer") {
				return strings.TrimSpace(cred)
			}
		}
	}
	return ""
}

// decode reads a JSON object body into v, refusing unknown fields.
func decode(req events.APIGatewayV2HTTPRequest, v any) error {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		return invalid("send the body as application/json")
	}
	if len(body) > maxBody {
		return invalid("the body is over %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("the body is not the expected JSON object: %v", err)
	}
	if dec.More() {
		return invalid("the body holds more than one JSON value")
	}
	return nil
}

// View is a connection as the product API shows it: never a token or a
// key, not even the key's hash.
type View struct {
	ConnectionID   string            `json:"connection_id"`
	TenantID       string            `json:"tenant_id"`
	Location       string            `json:"location"`
	Environment    string            `json:"environment"`
	OrgID          string            `json:"org_id"`
	OrgName        string            `json:"org_name"`
	UserEmail      string            `json:"user_email"`
	Status         connection.Status `json:"status"`
	StatusReason   string            `json:"status_reason"`
	TokenExpiresAt *time.Time        `json:"token_expires_at"`
	CreatedAt      *time.Time        `json:"created_at"`
	UpdatedAt      *time.Time        `json:"updated_at"`
	Metadata       map[string]string `json:"metadata"`
	FieldMapping   map[string]string `json:"field_mapping"`
	AllowedFields  []string          `json:"allowed_fields"`
	OnDuplicate    string            `json:"on_duplicate"`
	// Edition is the org's CRM edition at its last connect ("" when not
	// known); ConcurrencyLimit the product's bound (0: the edition's).
	Edition          string `json:"edition"`
	ConcurrencyLimit int    `json:"concurrency_limit"`
}

// ViewOf is c's view.
func ViewOf(c *connection.Connection) View {
	v := View{
		ConnectionID: c.ID, TenantID: c.TenantID, Location: c.Location, Environment: c.Environment,
		OrgID: c.OrgID, OrgName: c.OrgName, UserEmail: c.UserEmail, Status: c.Status, StatusReason: c.StatusReason,
		TokenExpiresAt: timePtr(c.TokenExpiresAt), CreatedAt: timePtr(c.CreatedAt), UpdatedAt: timePtr(c.UpdatedAt),
		Metadata: c.Metadata, FieldMapping: c.FieldMapping, AllowedFields: c.AllowedFields, OnDuplicate: c.OnDuplicate,
		Edition: c.Edition, ConcurrencyLimit: c.ConcurrencyLimit,
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if v.FieldMapping == nil {
		v.FieldMapping = map[string]string{}
	}
	if v.AllowedFields == nil {
		v.AllowedFields = []string{}
	}
	if v.OnDuplicate == "" {
		v.OnDuplicate = "note"
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
