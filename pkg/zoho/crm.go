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
	"slices"
	"strconv"
	"strings"
	"time"
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
	// ErrInvalidToken: the access token expired or was revoked
	// (INVALID_TOKEN; Zoho's OpenAPI files also list AUTHENTICATION_FAILURE
	// and its prose says INVALID_OAUTHTOKEN: all three match).
	ErrInvalidToken = errors.New("zoho: invalid or expired access token")
	// ErrDomainTokenMismatch: the token belongs to another environment or
	// data center than the host called (DOMAIN_TOKEN_MISMATCH).
	ErrDomainTokenMismatch = errors.New("zoho: token does not belong to this environment or data center")
	// ErrScopeMismatch: the token lacks the scope the call needs
	// (OAUTH_SCOPE_MISMATCH).
	ErrScopeMismatch = errors.New("zoho: token lacks the required scope")
	// ErrTooManyRequests: the org's concurrency or credit limit was hit
	// (HTTP 429 or TOO_MANY_REQUESTS, whatever the status). Retryable
	// later; the *APIError's RetryAfter says when, if Zoho said. It is
	// never ErrUnavailable: Zoho is up, the org is over its limits.
	ErrTooManyRequests = errors.New("zoho: CRM API limit reached")
	// ErrTooManyRecords: more than MaxRecordsPerCall records in one call;
	// nothing was sent.
	ErrTooManyRecords = errors.New("zoho: too many records for one call")
	// ErrNoRecords: a write with no records; nothing was sent.
	ErrNoRecords = errors.New("zoho: no records to write")
	// ErrInvalidModule: the module name is not a Zoho API name; nothing was sent.
	ErrInvalidModule = errors.New("zoho: invalid module name")
	// ErrInvalidRecordID: the record id could not be a Zoho record id;
	// nothing was sent.
	ErrInvalidRecordID = errors.New("zoho: invalid record id")
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
	// RetryAfter is the answer's Retry-After, when it sent one in seconds
	// (Zoho does not document one for 429).
	RetryAfter time.Duration
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

// invalidTokenCodes are the codes Zoho uses for an expired or revoked
// access token: INVALID_TOKEN in its examples, AUTHENTICATION_FAILURE in
// its OpenAPI files, INVALID_OAUTHTOKEN in its prose.
var invalidTokenCodes = []string{"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"}

// Is maps Zoho's codes to this package's sentinels. The code decides
// whatever the status: Zoho's statuses for DOMAIN_TOKEN_MISMATCH differ
// between reports.
func (e *APIError) Is(target error) bool {
	code := strings.ToUpper(strings.TrimSpace(e.Code))
	switch target {
	case ErrInvalidToken:
		return slices.Contains(invalidTokenCodes, code)
	case ErrDomainTokenMismatch:
		return code == "DOMAIN_TOKEN_MISMATCH"
	case ErrScopeMismatch:
		return code == "OAUTH_SCOPE_MISMATCH"
	case ErrTooManyRequests:
		return e.tooMany()
	case ErrUnavailable:
		if e.tooMany() || slices.Contains(invalidTokenCodes, code) || code == "DOMAIN_TOKEN_MISMATCH" || code == "OAUTH_SCOPE_MISMATCH" {
			return false
		}
		return e.StatusCode >= 500
	}
	return false
}

func (e *APIError) tooMany() bool {
	return strings.EqualFold(strings.TrimSpace(e.Code), "TOO_MANY_REQUESTS") || e.StatusCode == http.StatusTooManyRequests
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
	// Edition is license_details.paid_type in lower case: free, standard,
	// professional, enterprise, ultimate (or another name Zoho uses, such
	// as starter or zohoone). Empty when Zoho sent none.
	Edition string
	// Paid is license_details.paid.
	Paid bool
	// TrialEdition is license_details.trial_type, in lower case: the
	// edition an org on trial tries (its paid_type is then "free").
	TrialEdition string
	// UserLicenses is license_details.users_license_purchased.
	UserLicenses int
}

// Limits returns the API limits of the org's edition. An edition this
// package does not know gets the Free edition's, the lowest: waiting a
// little longer than needed beats a 429. An org on trial is held to its
// paid_type (Free), for the same reason: whether Zoho applies the trial
// edition's limits is not documented.
func (o *Org) Limits() Limits {
	if l, ok := EditionLimits(o.Edition); ok {
		return l
	}
	l, _ := EditionLimits(EditionFree)
	return l
}

// ConcurrencyLimit is how many CRM calls the org accepts from one app at
// once (Limits().Concurrency): 5 for Free up to 25 for Ultimate.
func (o *Org) ConcurrencyLimit() int { return o.Limits().Concurrency }

// DailyCredits is the org's API credits per rolling 24 hours, from its
// edition and user licenses. Add-on credits are not reported by the
// Organization API and are not counted.
func (o *Org) DailyCredits() int { return o.Limits().DailyCredits(o.UserLicenses) }

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
			License    struct {
				PaidType  string  `json:"paid_type"`
				Paid      bool    `json:"paid"`
				TrialType *string `json:"trial_type"`
				Users     flexInt `json:"users_license_purchased"`
			} `json:"license_details"`
		} `json:"org"`
	}
	if err := c.get(ctx, "/crm/v8/org", &r); err != nil {
		return nil, err
	}
	if len(r.Org) == 0 {
		return nil, &APIError{StatusCode: http.StatusOK, Message: "no org in the response"}
	}
	o := r.Org[0]
	org := &Org{ID: string(o.ID), ZGID: string(o.ZGID), Name: o.Company, DomainName: o.DomainName, Type: o.Type,
		Edition: strings.ToLower(strings.TrimSpace(o.License.PaidType)), Paid: o.License.Paid, UserLicenses: int(o.License.Users.v)}
	if o.License.TrialType != nil {
		org.TrialEdition = strings.ToLower(strings.TrimSpace(*o.License.TrialType))
	}
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
	// DuplicateCheckFields are the fields Upsert matches on, and the
	// fields on which Insert refuses a duplicate (DUPLICATE_DATA naming
	// the existing record). Nil: Zoho's system fields for Upsert (Email
	// for Leads and Contacts, ...), the org's unique fields for Insert.
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
	// ID is the record's id: the new or updated record, or, for
	// DUPLICATE_DATA, the existing one, read from details.id (older API
	// versions) or details.duplicate_record.id (newer ones).
	ID string
	// Field is the field a record error is about (details.api_name).
	Field string
	// DuplicateField is the field an upsert matched on.
	DuplicateField string
	// DuplicateModule and DuplicateOwnerID describe the existing record of
	// a DUPLICATE_DATA (details.duplicate_record.module.api_name and
	// .Owner.id); empty in the older shape, which names only its id.
	DuplicateModule, DuplicateOwnerID string
	Details                           map[string]any
}

// OK reports whether Zoho wrote the record.
func (r RecordResult) OK() bool { return strings.EqualFold(r.Code, "SUCCESS") }

// Duplicate reports whether Zoho refused the record as a duplicate of an
// existing one, whose id is then in ID (when Zoho named it).
func (r RecordResult) Duplicate() bool { return strings.EqualFold(r.Code, "DUPLICATE_DATA") }

// Insert creates records in module (an API name such as Leads). The error
// is for the call as a whole; each record's fate is in its RecordResult.
// With opts.DuplicateCheckFields, a record matching an existing one on
// those fields is not created: its result is DUPLICATE_DATA with the
// existing record's id.
func (c *Client) Insert(ctx context.Context, module string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	return c.write(ctx, module, "", recs, opts)
}

// Upsert inserts records or updates those matching on the duplicate-check
// fields.
func (c *Client) Upsert(ctx context.Context, module string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	return c.write(ctx, module, "/upsert", recs, opts)
}

// Note is a CRM note, attached to one record.
type Note struct {
	Title   string // Note_Title, optional
	Content string // Note_Content
}

// AddNote attaches a note to the record recordID of module (e.g. the
// existing lead a DUPLICATE_DATA named). The error is for the call; the
// RecordResult tells whether Zoho took the note and, on success, its id.
func (c *Client) AddNote(ctx context.Context, module, recordID, title, content string) (RecordResult, error) {
	res, err := c.AddNotes(ctx, module, recordID, []Note{{Title: title, Content: content}})
	if err != nil {
		return RecordResult{}, err
	}
	return res[0], nil
}

// AddNotes attaches up to MaxRecordsPerCall notes to one record in one
// call: POST /crm/v8/{module}/{recordID}/Notes.
func (c *Client) AddNotes(ctx context.Context, module, recordID string, notes []Note) ([]RecordResult, error) {
	if err := checkModule(module); err != nil {
		return nil, err
	}
	if !recordIDPattern.MatchString(recordID) {
		return nil, fmt.Errorf("%w %q", ErrInvalidRecordID, recordID)
	}
	if err := checkCount(len(notes)); err != nil {
		return nil, err
	}
	data := make([]Record, len(notes))
	for i, n := range notes {
		r := Record{"Note_Content": n.Content}
		if n.Title != "" {
			r["Note_Title"] = n.Title
		}
		data[i] = r
	}
	return c.postRecords(ctx, "/crm/v8/"+module+"/"+recordID+"/Notes", map[string]any{"data": data}, len(data))
}

// Field is one field of a module, from GET /crm/v8/settings/fields.
type Field struct {
	APIName string // api_name: the key in a Record
	Label   string // field_label
	// DataType is Zoho's data_type: text, textarea, email, phone, website,
	// picklist, multiselectpicklist, integer, bigint, double, currency,
	// percent, boolean, date, datetime, lookup, ownerlookup, ...
	DataType string
	// JSONType is the JSON shape of its value: string, integer, double,
	// boolean, jsonobject or jsonarray.
	JSONType string
	// ReadOnly: the API cannot set it (read_only or field_read_only).
	ReadOnly bool
	// SystemMandatory: a record cannot be created without it.
	SystemMandatory bool
	// Custom: a field the org added (custom_field).
	Custom bool
	// Unique: the org refuses a second record with the same value.
	Unique bool
	// Length is the maximum length of a text value; 0 when unstated.
	Length int
	// LookupModule is the module a lookup field points to (lookup.module.api_name).
	LookupModule string
	// PickListValues are the actual values a picklist accepts.
	PickListValues []string
}

// Scalar reports whether the field takes a single string, number or
// boolean (not an object, such as a lookup or Owner, nor a list, such as
// Tag or a multi-select picklist).
func (f Field) Scalar() bool {
	switch f.JSONType {
	case "string", "integer", "double", "boolean":
		return true
	}
	return false
}

// Fields lists the org's fields of module, its own custom fields included.
func (c *Client) Fields(ctx context.Context, module string) ([]Field, error) {
	if err := checkModule(module); err != nil {
		return nil, err
	}
	var r struct {
		Fields []struct {
			APIName         string  `json:"api_name"`
			Label           string  `json:"field_label"`
			DataType        string  `json:"data_type"`
			JSONType        string  `json:"json_type"`
			ReadOnly        bool    `json:"read_only"`
			FieldReadOnly   bool    `json:"field_read_only"`
			SystemMandatory bool    `json:"system_mandatory"`
			Custom          bool    `json:"custom_field"`
			Length          flexInt `json:"length"`
			Unique          any     `json:"unique"`
			Lookup          *struct {
				Module *struct {
					APIName string `json:"api_name"`
				} `json:"module"`
			} `json:"lookup"`
			PickList []struct {
				ActualValue  string `json:"actual_value"`
				DisplayValue string `json:"display_value"`
			} `json:"pick_list_values"`
		} `json:"fields"`
	}
	if err := c.get(ctx, "/crm/v8/settings/fields?module="+module, &r); err != nil {
		return nil, err
	}
	out := make([]Field, 0, len(r.Fields))
	for _, f := range r.Fields {
		fl := Field{APIName: f.APIName, Label: f.Label, DataType: f.DataType, JSONType: f.JSONType,
			ReadOnly: f.ReadOnly || f.FieldReadOnly, SystemMandatory: f.SystemMandatory, Custom: f.Custom,
			Unique: uniqueSet(f.Unique), Length: int(f.Length.v)}
		if f.Lookup != nil && f.Lookup.Module != nil {
			fl.LookupModule = f.Lookup.Module.APIName
		}
		for _, p := range f.PickList {
			v := p.ActualValue
			if v == "" {
				v = p.DisplayValue
			}
			fl.PickListValues = append(fl.PickListValues, v)
		}
		out = append(out, fl)
	}
	return out, nil
}

// uniqueSet reads `unique`: Zoho sends an object (e.g.
// {"case_sensitive":false}) for a unique field and {} or nothing for
// others; a boolean is read as it is.
func uniqueSet(v any) bool {
	switch u := v.(type) {
	case bool:
		return u
	case map[string]any:
		return len(u) > 0
	}
	return false
}

// moduleName is what a module API name may look like; anything else could
// change the request's path.
var moduleName = regexp.MustCompile(`^[A-Za-z0-9_]{1,100}$`)

// recordIDPattern is what a record id may look like (Zoho's are digits).
var recordIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

func checkModule(module string) error {
	if !moduleName.MatchString(module) {
		return fmt.Errorf("%w %q (want letters, digits and underscores)", ErrInvalidModule, module)
	}
	return nil
}

func checkCount(n int) error {
	switch {
	case n == 0:
		return ErrNoRecords
	case n > MaxRecordsPerCall:
		return fmt.Errorf("%w: %d records, at most %d", ErrTooManyRecords, n, MaxRecordsPerCall)
	}
	return nil
}

func (c *Client) write(ctx context.Context, module, suffix string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	if err := checkModule(module); err != nil {
		return nil, err
	}
	if err := checkCount(len(recs)); err != nil {
		return nil, err
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
	return c.postRecords(ctx, "/crm/v8/"+module+suffix, payload, len(recs))
}

// postRecords posts a {"data":[...]} body and reads one result per record.
func (c *Client) postRecords(ctx context.Context, path string, payload map[string]any, n int) ([]RecordResult, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("zoho: crm: encoding records: %w", err)
	}
	a, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	// Per-record answers decide, whatever the status (200, 201, 202, 207,
	// and possibly 400 when every record failed).
	out, ok := parseRecordResults(a.body)
	if !ok {
		return nil, a.error()
	}
	if len(out) != n {
		return out, &APIError{StatusCode: a.status, Message: fmt.Sprintf("%d results for %d records", len(out), n)}
	}
	return out, nil
}

// parseRecordResults reads {"data":[...]}, one result per record; false
// when the body holds none.
func parseRecordResults(b []byte) ([]RecordResult, bool) {
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
	if decodeNumbers(b, &r) != nil || len(r.Data) == 0 {
		return nil, false
	}
	out := make([]RecordResult, len(r.Data))
	for i, d := range r.Data {
		rr := RecordResult{Code: d.Code, Status: d.Status, Message: d.Message, Action: d.Action, Details: d.Details}
		if d.DuplicateField != nil {
			rr.DuplicateField = *d.DuplicateField
		}
		rr.ID = detailString(d.Details, "id")
		rr.Field = detailString(d.Details, "api_name")
		if dup, ok := d.Details["duplicate_record"].(map[string]any); ok {
			if rr.ID == "" {
				rr.ID = detailString(dup, "id")
			}
			if m, ok := dup["module"].(map[string]any); ok {
				rr.DuplicateModule = detailString(m, "api_name")
			}
			if o, ok := dup["Owner"].(map[string]any); ok {
				rr.DuplicateOwnerID = detailString(o, "id")
			}
		}
		out[i] = rr
	}
	return out, true
}

func detailString(d map[string]any, key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// decodeNumbers decodes JSON keeping numbers as json.Number: a 19-digit
// record id sent as a number does not survive a float64.
func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// get fetches path and decodes a successful answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	a, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return a.error()
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return a.error()
	}
	var probe struct {
		Code   string `json:"code"`
		Status string `json:"status"`
	}
	if json.Unmarshal(a.body, &probe) == nil && probe.Code != "" && strings.EqualFold(probe.Status, "error") {
		return a.error()
	}
	return nil
}

// maxCRMBody bounds what is read of a CRM answer.
const maxCRMBody = 4 << 20

// answer is what the CRM answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request with the token source's access token. It returns
// any answer; only failures to get one are errors.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*answer, error) {
	if err := checkDataCenter(c.dc); err != nil {
		return nil, fmt.Errorf("zoho: crm: %w", err)
	}
	if c.env.hostPrefix() == "" {
		return nil, fmt.Errorf("zoho: crm: %w %d", ErrUnknownEnvironment, int(c.env))
	}
	hc := c.hc
	if hc == nil {
		var err error
		if hc, err = sharedHTTPClient(); err != nil {
			return nil, fmt.Errorf("zoho: crm: %w", err)
		}
	}
	if err := checkReachable(hc, c.dc); err != nil {
		return nil, fmt.Errorf("zoho: crm: %w", err)
	}
	if c.ts == nil {
		return nil, errors.New("zoho: crm: no token source")
	}
	tok, err := c.ts.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("zoho: crm: getting a token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("zoho: crm: token source returned no access token")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.dc.APIURL(c.env)+path, rd)
	if err != nil {
		return nil, fmt.Errorf("zoho: crm: %w", scrubURLError(err))
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError("crm", err, tok.AccessToken)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCRMBody+1))
	if err != nil {
		return nil, unavailable("crm", err, tok.AccessToken)
	}
	if len(b) > maxCRMBody {
		return nil, &APIError{StatusCode: resp.StatusCode, Message: "response body over 4 MiB"}
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// error reads Zoho's error body; any body that is not one still gives an
// *APIError carrying the status.
func (a *answer) error() error {
	e := &APIError{StatusCode: a.status}
	if s := a.header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	var r struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	if decodeNumbers(a.body, &r) != nil {
		e.Message = "response is not JSON"
		return e
	}
	e.Code, e.Message, e.Details = r.Code, r.Message, r.Details
	return e
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
