package zoho

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// TokenSource supplies access tokens. Implementations must be safe for
// concurrent use. This package does not refresh on its own: Zoho allows
// 15 live access tokens per refresh token and 10 refreshes per 10 minutes,
// so refreshing belongs to one coordinated place, not to every client.
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// StaticTokenSource always returns t, whether or not it has expired.
func StaticTokenSource(t *Token) TokenSource { return staticTokenSource{t} }

type staticTokenSource struct{ t *Token }

func (s staticTokenSource) Token(context.Context) (*Token, error) {
	if s.t == nil {
		return nil, errors.New("zoho: no token")
	}
	t := *s.t
	return &t, nil
}

// Errors of the CRM calls. Test with errors.Is; Zoho's answers are
// *APIError, network failures wrap ErrUnavailable.
var (
	// ErrInvalidToken: the access token expired or was revoked (INVALID_TOKEN).
	ErrInvalidToken = errors.New("zoho: invalid or expired access token")
	// ErrDomainTokenMismatch: the token belongs to another environment or
	// data center than the host called (DOMAIN_TOKEN_MISMATCH).
	ErrDomainTokenMismatch = errors.New("zoho: token does not belong to this environment or data center")
	// ErrScopeMismatch: the token lacks the scope the call needs
	// (OAUTH_SCOPE_MISMATCH).
	ErrScopeMismatch = errors.New("zoho: token lacks the required scope")
	// ErrTooManyRequests: the org's concurrency or credit limit was hit
	// (HTTP 429 or TOO_MANY_REQUESTS). Retryable later.
	ErrTooManyRequests = errors.New("zoho: CRM API limit reached")
	// ErrTooManyRecords: more than MaxRecordsPerCall records in one call;
	// nothing was sent.
	ErrTooManyRecords = errors.New("zoho: too many records for one call")
	// ErrNoRecords: a write with no records; nothing was sent.
	ErrNoRecords = errors.New("zoho: no records to write")
	// ErrInvalidModule: the module name is not a Zoho API name; nothing was sent.
	ErrInvalidModule = errors.New("zoho: invalid module name")
)

// MaxRecordsPerCall is Zoho's limit of records per insert or upsert.
const MaxRecordsPerCall = 100

// APIError is an error answer of the CRM API:
// {"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	Details    map[string]any
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = "unexpected response"
	}
	s := fmt.Sprintf("zoho: crm: %s (HTTP %d)", code, e.StatusCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is maps Zoho's codes to this package's sentinels. The code decides
// whatever the status: Zoho's statuses for DOMAIN_TOKEN_MISMATCH differ
// between reports.
func (e *APIError) Is(target error) bool {
	code := strings.ToUpper(strings.TrimSpace(e.Code))
	switch target {
	case ErrInvalidToken:
		return code == "INVALID_TOKEN"
	case ErrDomainTokenMismatch:
		return code == "DOMAIN_TOKEN_MISMATCH"
	case ErrScopeMismatch:
		return code == "OAUTH_SCOPE_MISMATCH"
	case ErrTooManyRequests:
		return code == "TOO_MANY_REQUESTS" || e.StatusCode == http.StatusTooManyRequests
	case ErrUnavailable:
		switch code {
		case "INVALID_TOKEN", "DOMAIN_TOKEN_MISMATCH", "OAUTH_SCOPE_MISMATCH", "TOO_MANY_REQUESTS":
			return false
		}
		return e.StatusCode >= 500
	}
	return false
}

// Client calls the CRM v8 API of one org: one data center, one
// environment, one token source.
type Client struct {
	dc  DataCenter
	env Environment
	ts  TokenSource
	hc  *http.Client
}

// NewClient returns a client for the API host of dc and env, e.g.
// https://sandbox.zohoapis.eu. A nil hc uses the process-wide client of
// NewHTTPClient(HTTPOptions{}).
//
// The host comes from dc and env, never from a token's api_domain: the
// environment is the user's choice confirmed by Client.Org, Zoho does not
// document whether api_domain ever names a sandbox or developer host, and a
// host read from a response would let that response decide where an access
// token is sent. Calling the host we believe in is also what makes a wrong
// belief visible, as ErrDomainTokenMismatch.
func NewClient(dc DataCenter, env Environment, ts TokenSource, hc *http.Client) *Client {
	return &Client{dc: dc, env: env, ts: ts, hc: hc}
}

// DataCenter returns the client's data center.
func (c *Client) DataCenter() DataCenter { return c.dc }

// Environment returns the client's environment.
func (c *Client) Environment() Environment { return c.env }

// Org is a CRM organization, from GET /crm/v8/org.
type Org struct {
	ID         string
	ZGID       string
	Name       string // company_name
	DomainName string
	// Type is Zoho's `type` as sent: Production, Sandbox, Developer, Bigin...
	Type string
	// Environment is Type parsed, in any case.
	Environment Environment
}

// Org returns the token's org. When Zoho reports a type that is not one of
// our environments (e.g. Bigin), the Org is returned with an error
// matching ErrUnknownEnvironment.
func (c *Client) Org(ctx context.Context) (*Org, error) {
	var r struct {
		Org []struct {
			ID         flexString `json:"id"`
			ZGID       flexString `json:"zgid"`
			Company    string     `json:"company_name"`
			DomainName string     `json:"domain_name"`
			Type       string     `json:"type"`
		} `json:"org"`
	}
	if err := c.get(ctx, "/crm/v8/org", &r); err != nil {
		return nil, err
	}
	if len(r.Org) == 0 {
		return nil, &APIError{StatusCode: http.StatusOK, Message: "no org in the response"}
	}
	o := r.Org[0]
	org := &Org{ID: string(o.ID), ZGID: string(o.ZGID), Name: o.Company, DomainName: o.DomainName, Type: o.Type}
	env, err := ParseEnvironment(o.Type)
	if err != nil {
		return org, fmt.Errorf("zoho: org %s: %w", org.ID, err)
	}
	org.Environment = env
	return org, nil
}

// User is a CRM user, from GET /crm/v8/users?type=CurrentUser.
type User struct {
	ID       string
	ZUID     string
	Email    string
	FullName string
}

// CurrentUser returns the user who granted the token.
func (c *Client) CurrentUser(ctx context.Context) (*User, error) {
	var r struct {
		Users []struct {
			ID       flexString `json:"id"`
			ZUID     flexString `json:"zuid"`
			Email    string     `json:"email"`
			FullName string     `json:"full_name"`
		} `json:"users"`
	}
	if err := c.get(ctx, "/crm/v8/users?type=CurrentUser", &r); err != nil {
		return nil, err
	}
	if len(r.Users) == 0 {
		return nil, &APIError{StatusCode: http.StatusOK, Message: "no user in the response"}
	}
	u := r.Users[0]
	return &User{ID: string(u.ID), ZUID: string(u.ZUID), Email: u.Email, FullName: u.FullName}, nil
}

// Record is one CRM record: field API name → value.
type Record map[string]any

// WriteOptions tune Insert and Upsert.
type WriteOptions struct {
	// Trigger lists the automation to run: "workflow", "approval",
	// "blueprint". Nil leaves Zoho's default (all run); an empty non-nil
	// slice runs none.
	Trigger []string
	// DuplicateCheckFields are the fields Upsert matches on. Nil: Zoho's
	// system fields (Email for Leads and Contacts, ...).
	DuplicateCheckFields []string
}

// RecordResult is Zoho's answer for one record of a write, in the order
// the records were sent.
type RecordResult struct {
	Code    string // SUCCESS, DUPLICATE_DATA, MANDATORY_NOT_FOUND, INVALID_DATA, ...
	Status  string // success or error
	Message string
	// Action is "insert" or "update" (upsert tells which happened).
	Action string
	// ID is the record's id (details.id): the new or updated record, or the
	// existing one for DUPLICATE_DATA.
	ID string
	// Field is the field a record error is about (details.api_name).
	Field string
	// DuplicateField is the field an upsert matched on.
	DuplicateField string
	Details        map[string]any
}

// OK reports whether Zoho wrote the record.
func (r RecordResult) OK() bool { return strings.EqualFold(r.Code, "SUCCESS") }

// Insert creates records in module (an API name such as Leads). The error
// is for the call as a whole; each record's fate is in its RecordResult.
func (c *Client) Insert(ctx context.Context, module string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	return c.write(ctx, module, "", recs, opts)
}

// Upsert inserts records or updates those matching on the duplicate-check
// fields.
func (c *Client) Upsert(ctx context.Context, module string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	return c.write(ctx, module, "/upsert", recs, opts)
}

// moduleName is what a module API name may look like; anything else could
// change the request's path.
var moduleName = regexp.MustCompile(`^[A-Za-z0-9_]{1,100}$`)

func (c *Client) write(ctx context.Context, module, suffix string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	if !moduleName.MatchString(module) {
		return nil, fmt.Errorf("%w %q (want letters, digits and underscores)", ErrInvalidModule, module)
	}
	switch {
	case len(recs) == 0:
		return nil, ErrNoRecords
	case len(recs) > MaxRecordsPerCall:
		return nil, fmt.Errorf("%w: %d records, at most %d", ErrTooManyRecords, len(recs), MaxRecordsPerCall)
	}
	payload := map[string]any{"data": recs}
	if opts != nil {
		if opts.Trigger != nil {
			payload["trigger"] = opts.Trigger
		}
		if opts.DuplicateCheckFields != nil {
			payload["duplicate_check_fields"] = opts.DuplicateCheckFields
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("zoho: crm: encoding records: %w", err)
	}
	status, resp, err := c.do(ctx, http.MethodPost, "/crm/v8/"+module+suffix, body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data []struct {
			Code           string         `json:"code"`
			Status         string         `json:"status"`
			Message        string         `json:"message"`
			Action         string         `json:"action"`
			DuplicateField *string        `json:"duplicate_field"`
			Details        map[string]any `json:"details"`
		} `json:"data"`
	}
	// Per-record answers decide, whatever the status (200, 201, 202, 207,
	// and possibly 400 when every record failed).
	if json.Unmarshal(resp, &r) != nil || len(r.Data) == 0 {
		return nil, apiError(status, resp)
	}
	out := make([]RecordResult, len(r.Data))
	for i, d := range r.Data {
		rr := RecordResult{Code: d.Code, Status: d.Status, Message: d.Message, Action: d.Action, Details: d.Details}
		if d.DuplicateField != nil {
			rr.DuplicateField = *d.DuplicateField
		}
		rr.ID = detailString(d.Details, "id")
		rr.Field = detailString(d.Details, "api_name")
		out[i] = rr
	}
	if len(out) != len(recs) {
		return out, &APIError{StatusCode: status, Message: fmt.Sprintf("%d results for %d records", len(out), len(recs))}
	}
	return out, nil
}

func detailString(d map[string]any, key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// get fetches path and decodes a successful answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	status, body, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return apiError(status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apiError(status, body)
	}
	var probe struct {
		Code   string `json:"code"`
		Status string `json:"status"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.Code != "" && strings.EqualFold(probe.Status, "error") {
		return apiError(status, body)
	}
	return nil
}

// maxCRMBody bounds what is read of a CRM answer.
const maxCRMBody = 4 << 20

// do sends one request with the token source's access token. It returns
// the status and body of any answer; only failures to get one are errors.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	if err := checkDataCenter(c.dc); err != nil {
		return 0, nil, fmt.Errorf("zoho: crm: %w", err)
	}
	if c.env.hostPrefix() == "" {
		return 0, nil, fmt.Errorf("zoho: crm: %w %d", ErrUnknownEnvironment, int(c.env))
	}
	if c.ts == nil {
		return 0, nil, errors.New("zoho: crm: no token source")
	}
	tok, err := c.ts.Token(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("zoho: crm: getting a token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return 0, nil, errors.New("zoho: crm: token source returned no access token")
	}
	hc := c.hc
	if hc == nil {
		if hc, err = sharedHTTPClient(); err != nil {
			return 0, nil, fmt.Errorf("zoho: crm: %w", err)
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.dc.APIURL(c.env)+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("zoho: crm: %w", scrubURLError(err))
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, unavailable("crm", err, tok.AccessToken)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCRMBody+1))
	if err != nil {
		return 0, nil, unavailable("crm", err, tok.AccessToken)
	}
	if len(b) > maxCRMBody {
		return 0, nil, &APIError{StatusCode: resp.StatusCode, Message: "response body over 4 MiB"}
	}
	return resp.StatusCode, b, nil
}

// apiError reads Zoho's error body; any body that is not one still gives
// an *APIError carrying the status.
func apiError(status int, body []byte) error {
	var r struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	if json.Unmarshal(body, &r) != nil {
		return &APIError{StatusCode: status, Message: "response is not JSON"}
	}
	return &APIError{StatusCode: status, Code: r.Code, Message: r.Message, Details: r.Details}
}

// flexString reads a JSON string or number as a string: Zoho's ids are
// strings in v8, numbers in some older answers.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}
