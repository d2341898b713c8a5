// Package zohosim is a faithful stand-in for Zoho Accounts and Zoho CRM:
// one http.Handler that answers for every data center's accounts server and
// every environment's API host, told apart by the request's Host header.
// Every test in the project and the local demo talk to it through
// ZOHO_ENDPOINT_OVERRIDE. Its behaviour follows docs in shared/zoho-facts.md;
// where Zoho's behaviour is unconfirmed the choice is an Option or is
// written down next to the code that makes it.
//
// Choices the simulator makes where Zoho's behaviour is not documented:
//
//   - An unknown Host answers 421 Misdirected Request with a JSON body.
//   - DOMAIN_TOKEN_MISMATCH answers 401, both across environments and
//     across data centers.
//   - Token endpoint parameters are read from the query string and the
//     form body (Zoho's own examples put them in the query); the body wins.
//   - A grant code issued through the consent page remembers its
//     redirect_uri; the exchange must send the same one (as OAuth requires)
//     or gets invalid_redirect_uri. Codes from IssueCode carry none.
//   - Revoking an unknown, already revoked or foreign-DC token answers
//     HTTP 400 {"error":"invalid_token","status":"failure"} (Zoho's 400 is
//     documented, its body is not) and changes nothing.
//   - GET /oauth/serverinfo answers
//     {"result":"success","locations":{"us":"https://accounts.zoho.com",...}}
//     listing the DCs of Zoho Accounts' multi-DC page, UK included and
//     China left out, as Zoho lists them (the JSON shape is unconfirmed).
//   - Every CRM call with a valid token is held to its org's limits per
//     OAuth client: concurrency by edition (Free 5, Standard 10,
//     Professional 15, Enterprise 20, Ultimate 25; other editions get
//     Free's), 10 writes of more than 10 records at once, and credits per
//     rolling 24 hours (one per call, Convert Lead and such not being
//     served; Free 5,000; Standard, Professional, Enterprise, Ultimate
//     50,000 + 250, 500, 1,000, 2,000 per user license, at most 100,000,
//     1,000,000, 2,000,000, unlimited). Beyond either: 429
//     {"code":"TOO_MANY_REQUESTS"}, charging nothing. Calls are counted
//     whatever their answer. OrgStats tells what an org used.
//   - An invalid access token answers Options.InvalidTokenCode, default
//     INVALID_TOKEN.
//   - DUPLICATE_DATA names the existing record in details.duplicate_record
//     (id, module, Owner), or in details.id with
//     Options.DuplicateDetails = DuplicateIDDetails. An insert refuses a
//     duplicate on the call's duplicate_check_fields and on the org's
//     unique fields (Leads' and Contacts' Email unless SetUnique turns it
//     off).
//   - Writes are checked against the fields API's types: a value of the
//     wrong JSON type is INVALID_DATA naming the field; a number field
//     also takes a string holding a number (undocumented). Fields the
//     module does not have are stored as sent.
//   - Notes (POST /crm/v8/{module}/{id}/Notes) need Note_Content; an
//     unknown record answers INVALID_DATA on Parent_Id for every note.
//   - The fields API needs a ZohoCRM.settings scope (settings.ALL,
//     settings.fields.READ, ...), as at Zoho; DefaultScope includes
//     ZohoCRM.settings.fields.READ.
//   - The consent page started at accounts.zoho.com lists the users of every
//     DC but cn; at accounts.zoho.com.cn only cn users; at any other DC's
//     accounts server only that DC's users.
//   - GET /oauth/v2/auth?...&sim_org=<org id>&sim_action=accept consents
//     without a page (sim_action=reject refuses), for scripts and tests.
//   - Too many grant codes for a client (GrantCodesPer10Min) answers the
//     consent with a 400 page rather than a redirect.
//   - access_type other than "offline" issues no refresh token; prompt is
//     accepted but every offline consent issues a new refresh token.
//   - Insert and upsert answer 201 when every record succeeded (200 when
//     every record of an upsert was an update), 207 when mixed and 400 when
//     every record failed.
//   - Only the CRM v8 API is served; other versions answer 404
//     INVALID_URL_PATTERN, so code cannot drift to an old version unseen.
//   - The CRM accepts only "Authorization: Zoho-oauthtoken <token>".
//   - Browsers cannot set Host: a path prefix /_host/<zoho host>/ stands for
//     the Host header (http://127.0.0.1:8088/_host/accounts.zoho.com/oauth/v2/auth).
//
// The simulator never logs a token, grant code or secret: its Logger gets
// the method, host, path and status of each request, never query or body.
package zohosim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// Options configure a simulator. The zero value is a Zoho with no clients.
type Options struct {
	// Clients are the OAuth clients the accounts servers accept.
	Clients []Client
	// Now is the clock the simulator starts from; default time.Now. Advance
	// moves the simulator's clock ahead of it.
	Now func() time.Time
	// Limits are Zoho's limits; zero fields mean Zoho's values.
	Limits Limits
	// APIDomainNamesEnvironment makes the token response's api_domain name
	// the org's environment host (https://sandbox.zohoapis.eu). By default
	// it always names the production host, as Zoho's behaviour here is
	// undocumented; tests should try both.
	APIDomainNamesEnvironment bool
	// LegacyExpiry makes token responses use the old format:
	// expires_in_sec in seconds and expires_in in milliseconds.
	LegacyExpiry bool
	// ErrorStatus is the HTTP status of body-level OAuth errors; default 200
	// (Zoho often answers errors with 200).
	ErrorStatus int
	// Logger, when set, gets one line per request: method, host, path,
	// status. Never a query, form or body.
	Logger *slog.Logger
	// CRMLatency is how long every CRM call that passed the org's limits
	// stays in flight before it is handled, so that calls overlap and
	// meet the concurrency limits as they would at Zoho. A Fault's Latency
	// on a CRM host is spent the same way, in flight.
	CRMLatency time.Duration
	// InvalidTokenCode is the code of the 401 for an expired, revoked or
	// unknown access token: INVALID_TOKEN (default, Zoho's examples),
	// AUTHENTICATION_FAILURE (Zoho's OpenAPI files) or INVALID_OAUTHTOKEN
	// (its prose). Clients must treat all three alike.
	InvalidTokenCode string
	// DuplicateDetails is how DUPLICATE_DATA names the existing record:
	// DuplicateRecordDetails (default: details.duplicate_record with id,
	// module and Owner, as newer API versions do) or DuplicateIDDetails
	// (details.id, as older ones do).
	DuplicateDetails string
	// BatchBlindDuplicates makes an insert's duplicate check see only the
	// records that existed before the call: two records of one call with
	// the same duplicate-check value are both created. Whether Zoho
	// checks the records of one call against each other is not
	// documented; by default the simulator does (each record of a call is
	// checked against the ones before it in the call, as if inserted one
	// by one), and tests of a caller should try both.
	BatchBlindDuplicates bool
}

// The shapes of DUPLICATE_DATA's details (Options.DuplicateDetails).
const (
	DuplicateRecordDetails = "duplicate_record"
	DuplicateIDDetails     = "id"
)

// Limits are Zoho's OAuth and CRM limits. Zero fields mean Zoho's values;
// a negative value means unlimited (for the TTLs: never expires).
type Limits struct {
	// AccessTokensPer10Min per refresh token, default 10; beyond it the
	// refresh grant answers "Access Denied".
	AccessTokensPer10Min int
	// ActivePerRefreshToken, default 15: one more access token silently
	// invalidates the oldest.
	ActivePerRefreshToken int
	// RefreshTokensPerUser per user per client, default 20: one more
	// invalidates the oldest (and its access tokens).
	RefreshTokensPerUser int
	// GrantCodesPer10Min per client, default 10.
	GrantCodesPer10Min int
	// GrantCodeTTL, default 60 s.
	GrantCodeTTL time.Duration
	// AccessTokenTTL, default 1 h.
	AccessTokenTTL time.Duration
	// Concurrency is every org's limit of CRM calls in flight per OAuth
	// client; default the org's edition's (Free 5, Standard 10,
	// Professional 15, Enterprise 20, Ultimate 25). Org.Concurrency wins.
	Concurrency int
	// SubConcurrency bounds the writes of more than 10 records in flight
	// per org and client, default 10.
	SubConcurrency int
	// Credits is every org's API credits per rolling 24 hours; default
	// from the org's edition and Users (Enterprise: 50,000 + 1,000 per
	// user, at most 2,000,000). Org.Credits wins.
	Credits int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.AccessTokensPer10Min, 10)
	def(&l.ActivePerRefreshToken, 15)
	def(&l.RefreshTokensPerUser, 20)
	def(&l.GrantCodesPer10Min, 10)
	if l.GrantCodeTTL == 0 {
		l.GrantCodeTTL = 60 * time.Second
	}
	if l.AccessTokenTTL == 0 {
		l.AccessTokenTTL = time.Hour
	}
	return l
}

// Client is an OAuth client registered in Zoho's API console.
type Client struct {
	ID, Secret string
	// Secrets overrides Secret for a DC's location code ("eu": "...").
	Secrets map[string]string
	// RedirectURIs registered for the client; none means any is accepted.
	RedirectURIs []string
}

func (c Client) secretFor(location string) string {
	if s, ok := c.Secrets[location]; ok {
		return s
	}
	return c.Secret
}

func (c Client) redirectAllowed(uri string) bool {
	if len(c.RedirectURIs) == 0 {
		return uri != ""
	}
	for _, u := range c.RedirectURIs {
		if u == uri {
			return true
		}
	}
	return false
}

// User is a Zoho account: it lives in one DC and may reach several orgs.
type User struct {
	ID       string // zuid, assigned if empty
	Email    string // assigned if empty
	FullName string
	Location string // DC code; default "us"
	Orgs     []Org
}

// Org is one CRM org in one environment.
type Org struct {
	ID          string // assigned if empty, Zoho-like digits
	Name        string
	Environment zoho.Environment // default Production
	// Edition is Free, Standard, Professional, Enterprise (default) or
	// Ultimate; it sets the org's limits. Another name gets Free's.
	Edition string
	// Users is the number of user licenses, default 10.
	Users int
	// Credits per rolling 24 hours and Concurrency per OAuth client
	// override the edition's (and Limits'); negative: unlimited.
	Credits, Concurrency int
}

// Request is one request the simulator received.
type Request struct {
	Time   time.Time // on the simulator's clock
	Method string
	Host   string // lower case, without port
	Path   string
	Query  url.Values
	Form   url.Values // the parsed body of form-encoded requests
	Body   []byte
	Header http.Header
	// Status is the answer's status: 0 when the connection was dropped,
	// 499 when the client went away during an injected latency.
	Status int
}

// Fault makes matching requests misbehave, before normal handling.
type Fault struct {
	Host string // "" = any host
	// Path "" matches any path; otherwise an exact match, or a prefix
	// when it ends with "*".
	Path string
	// Status, when not 0, is answered with Body (default a Zoho-like JSON
	// error for the status) instead of handling the request.
	Status int
	Body   string
	// Latency is waited first, or until the request's context ends.
	Latency time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Times is how many requests the fault applies to; 0 = until cleared.
	Times int
}

// Stats count what the simulator did, for tests.
type Stats struct {
	TokenRequests map[string]int // by grant_type, failures included
	TokenErrors   map[string]int // by the body's "error" value
	// Refreshes counts successful refresh grants per refresh token.
	Refreshes           map[string]int
	CodesIssued         int
	AccessTokensIssued  int
	RefreshTokensIssued int
	Revocations         int            // refresh tokens revoked through the revoke endpoint
	CRMRequests         map[string]int // by "METHOD /crm/v8/..." path
	MaxInFlight         int            // most requests handled at once
}

// Errors of IssueCode.
var (
	ErrUnknownClient = errors.New("zohosim: unknown client")
	ErrUnknownUser   = errors.New("zohosim: unknown user")
	ErrUnknownOrg    = errors.New("zohosim: the user has no such org")
	ErrTooManyCodes  = errors.New("zohosim: too many grant codes for the client in 10 minutes")
)

// DefaultScope is the scope of codes made by IssueCode.
const DefaultScope = "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.settings.fields.READ"

type userRec struct {
	User
	dc zoho.DataCenter
}

type orgRec struct {
	Org
	zgid      string
	user      *userRec
	crmUserID string
	records   map[string][]map[string]any // by canonical module name
	notes     []Note
	custom    map[string][]fieldDef      // custom fields by canonical module name
	unique    map[string]map[string]bool // unique overrides: module → field → unique
	usage     orgUsage
}

type grantRec struct {
	client      string
	org         *orgRec
	scope       string
	offline     bool
	redirectURI string
	issued      time.Time
	used        bool
}

type refreshRec struct {
	token   string
	client  string
	org     *orgRec
	scope   string
	scopes  []string
	active  bool
	access  []*accessRec // oldest first
	refresh []time.Time  // successful refresh grants, for the rolling window
}

type accessRec struct {
	token   string
	refresh *refreshRec
	expires time.Time // zero: never
	dead    bool
}

type faultRec struct {
	Fault
	left int // remaining uses when Times > 0
}

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	opts   Options
	limits Limits
	offset atomic.Int64 // Advance, in nanoseconds
	flight atomic.Int64

	mu       sync.Mutex
	clients  map[string]Client
	users    []*userRec
	byEmail  map[string]*userRec
	orgs     map[string]*orgRec
	codes    map[string]*grantRec
	codeLog  map[string][]time.Time // grant codes per client
	refresh  map[string]*refreshRec
	perUser  map[string][]*refreshRec // user id + client → refresh tokens, oldest first
	access   map[string]*accessRec
	requests []*Request
	faults   []*faultRec
	stats    Stats
	nextID   int64
}

// New returns a simulator.
func New(opts Options) *Server {
	s := &Server{
		opts:    opts,
		limits:  opts.Limits.withDefaults(),
		clients: map[string]Client{},
		byEmail: map[string]*userRec{},
		orgs:    map[string]*orgRec{},
		codes:   map[string]*grantRec{},
		codeLog: map[string][]time.Time{},
		refresh: map[string]*refreshRec{},
		perUser: map[string][]*refreshRec{},
		access:  map[string]*accessRec{},
		stats:   newStats(),
	}
	if s.opts.ErrorStatus == 0 {
		s.opts.ErrorStatus = http.StatusOK
	}
	if s.opts.InvalidTokenCode == "" {
		s.opts.InvalidTokenCode = "INVALID_TOKEN"
	}
	if s.opts.DuplicateDetails == "" {
		s.opts.DuplicateDetails = DuplicateRecordDetails
	}
	for _, c := range opts.Clients {
		s.clients[c.ID] = c
	}
	return s
}

func newStats() Stats {
	return Stats{
		TokenRequests: map[string]int{},
		TokenErrors:   map[string]int{},
		Refreshes:     map[string]int{},
		CRMRequests:   map[string]int{},
	}
}

// AddClient registers one more OAuth client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// AddUser adds a Zoho account and its orgs, and returns it with every id
// filled. It panics on an unknown Location or a duplicate email, which are
// mistakes in a test's setup.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Location == "" {
		u.Location = "us"
	}
	dc, err := zoho.ByLocation(u.Location)
	if err != nil {
		panic(fmt.Sprintf("zohosim: AddUser: %v", err))
	}
	u.Location = dc.Location
	if u.ID == "" {
		u.ID = s.digits(600000000, 1)
	}
	if u.Email == "" {
		u.Email = "user" + u.ID + "@example.com"
	}
	if u.FullName == "" {
		u.FullName = strings.Split(u.Email, "@")[0]
	}
	key := strings.ToLower(u.Email)
	if _, dup := s.byEmail[key]; dup {
		panic(fmt.Sprintf("zohosim: AddUser: %s exists", u.Email))
	}
	u.Orgs = append([]Org(nil), u.Orgs...)
	rec := &userRec{dc: dc}
	for i := range u.Orgs {
		o := &u.Orgs[i]
		if o.ID == "" {
			o.ID = s.digits(700000000, 7)
		}
		if _, dup := s.orgs[o.ID]; dup {
			panic(fmt.Sprintf("zohosim: AddUser: org %s exists", o.ID))
		}
		if o.Environment == 0 {
			o.Environment = zoho.Production
		}
		if o.Name == "" {
			o.Name = fmt.Sprintf("%s %s org", u.FullName, o.Environment)
		}
		if o.Edition == "" {
			o.Edition = "Enterprise"
		}
		if o.Users == 0 {
			o.Users = 10
		}
		s.orgs[o.ID] = &orgRec{
			Org:       *o,
			zgid:      s.digits(800000000, 3),
			user:      rec,
			crmUserID: s.recordID(),
			records:   map[string][]map[string]any{},
			custom:    map[string][]fieldDef{},
			unique:    map[string]map[string]bool{},
			usage:     newOrgUsage(),
		}
	}
	rec.User = u
	for _, o := range u.Orgs {
		s.orgs[o.ID].user = rec
	}
	s.users = append(s.users, rec)
	s.byEmail[key] = rec
	out := u
	out.Orgs = append([]Org(nil), u.Orgs...)
	return out
}

// SetOrgUser makes another Zoho user (added before, of the org's DC) the
// one who consents for the org and whom the current-user API names, as
// when a colleague of the same org connects it: later consents for the
// org are theirs. Tokens issued before keep working.
func (s *Server) SetOrgUser(orgID, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownOrg, orgID)
	}
	u, ok := s.byEmail[strings.ToLower(email)]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUser, email)
	}
	if u.dc.Location != org.user.dc.Location {
		return fmt.Errorf("zohosim: SetOrgUser: %s is in %s, the org in %s", email, u.dc.Location, org.user.dc.Location)
	}
	old := org.user
	for i, o := range old.Orgs {
		if o.ID == orgID {
			old.Orgs = append(old.Orgs[:i:i], old.Orgs[i+1:]...)
			break
		}
	}
	u.Orgs = append(u.Orgs, org.Org)
	org.user = u
	org.crmUserID = s.recordID() // another CRM user of the org
	return nil
}

// digits returns a fresh Zoho-like numeric id.
func (s *Server) digits(base, step int64) string {
	s.nextID++
	return strconv.FormatInt(base+s.nextID*step*1013, 10)
}

// recordID returns a fresh 19-digit record id, like Zoho's.
func (s *Server) recordID() string {
	s.nextID++
	return strconv.FormatInt(4876876000000000000+s.nextID*1001, 10)
}

// Now is the simulator's clock.
func (s *Server) Now() time.Time { return s.now() }

func (s *Server) now() time.Time {
	base := time.Now
	if s.opts.Now != nil {
		base = s.opts.Now
	}
	return base().Add(time.Duration(s.offset.Load()))
}

// Advance moves the simulator's clock: grant and token expiry and the rate
// windows follow it.
func (s *Server) Advance(d time.Duration) { s.offset.Add(int64(d)) }

// IssueCode makes a grant code as if the user had consented to the org
// with DefaultScope and access_type=offline. It counts against
// GrantCodesPer10Min.
func (s *Server) IssueCode(clientID, userEmail, orgID string) (string, error) {
	return s.IssueCodeScope(clientID, userEmail, orgID, DefaultScope)
}

// IssueCodeScope is IssueCode with a scope (comma separated).
func (s *Server) IssueCodeScope(clientID, userEmail, orgID, scope string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[clientID]; !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownClient, clientID)
	}
	u, ok := s.byEmail[strings.ToLower(userEmail)]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownUser, userEmail)
	}
	org, ok := s.orgs[orgID]
	if !ok || org.user != u {
		return "", fmt.Errorf("%w %q", ErrUnknownOrg, orgID)
	}
	return s.issueCodeLocked(clientID, org, scope, true, "")
}

func (s *Server) issueCodeLocked(clientID string, org *orgRec, scope string, offline bool, redirectURI string) (string, error) {
	now := s.now()
	log := window(s.codeLog[clientID], now)
	if s.limits.GrantCodesPer10Min >= 0 && len(log) >= s.limits.GrantCodesPer10Min {
		s.codeLog[clientID] = log
		return "", ErrTooManyCodes
	}
	s.codeLog[clientID] = append(log, now)
	code := newToken()
	s.codes[code] = &grantRec{client: clientID, org: org, scope: scope, offline: offline, redirectURI: redirectURI, issued: now}
	s.stats.CodesIssued++
	return code, nil
}

// window drops the times older than ten minutes before now.
func window(ts []time.Time, now time.Time) []time.Time {
	cut := now.Add(-10 * time.Minute)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	return ts[i:]
}

// newToken returns a string shaped like Zoho's tokens and codes:
// 1000.<32 hex>.<32 hex>.
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "1000." + hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
}

// Requests returns every request received so far, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Inject adds a fault; the first matching fault, in order of injection,
// applies to a request.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRec{Fault: f, left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Records returns copies of the records stored in the org's module, in
// order of creation, each with its "id".
func (s *Server) Records(orgID, module string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[orgID]
	if !ok {
		return nil
	}
	mod, ok := canonicalModule(module)
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, r := range org.records[mod] {
		out = append(out, deepCopy(r).(map[string]any))
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}

// RefreshTokenActive tells whether the refresh token can still be used.
func (s *Server) RefreshTokenActive(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[refreshToken]
	return ok && r.active && !r.online()
}

func (r *refreshRec) online() bool { return r.token == "" }

// AccessTokenValid tells whether the CRM would accept the access token.
func (s *Server) AccessTokenValid(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.access[accessToken]
	return ok && s.validLocked(a)
}

func (s *Server) validLocked(a *accessRec) bool {
	return !a.dead && (a.expires.IsZero() || s.now().Before(a.expires))
}

// RevokeRefreshToken revokes the refresh token and its access tokens, as
// if the user had revoked it in Zoho.
func (s *Server) RevokeRefreshToken(refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refresh[refreshToken]; ok {
		s.revokeLocked(r)
	}
}

func (s *Server) revokeLocked(r *refreshRec) {
	r.active = false
	for _, a := range r.access {
		a.dead = true
	}
	r.access = nil
}

// ExpireAccessTokens makes every access token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.dead = true
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.TokenRequests = maps.Clone(s.stats.TokenRequests)
	st.TokenErrors = maps.Clone(s.stats.TokenErrors)
	st.Refreshes = maps.Clone(s.stats.Refreshes)
	st.CRMRequests = maps.Clone(s.stats.CRMRequests)
	return st
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

const maxBody = 10 << 20

// ServeHTTP answers for the Zoho host named by r.Host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	host := stripPort(r.Host)
	path := r.URL.Path
	base := "" // the prefix a browser used instead of Host
	if rest, ok := strings.CutPrefix(path, "/_host/"); ok {
		h, p, _ := strings.Cut(rest, "/")
		host, path, base = strings.ToLower(h), "/"+p, "/_host/"+h
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))

	req := &Request{
		Time:   s.now(),
		Method: r.Method,
		Host:   host,
		Path:   path,
		Query:  r.URL.Query(),
		Body:   body,
		Header: r.Header.Clone(),
	}
	if isForm(r.Header.Get("Content-Type")) {
		req.Form, _ = url.ParseQuery(string(body))
	}
	n := s.flight.Add(1)
	defer s.flight.Add(-1)

	s.mu.Lock()
	s.requests = append(s.requests, req)
	if int(n) > s.stats.MaxInFlight {
		s.stats.MaxInFlight = int(n)
	}
	f := s.matchFaultLocked(host, path)
	s.mu.Unlock()

	status := s.serve(w, r, f, host, path, base, req.Form, body)

	s.mu.Lock()
	req.Status = status
	s.mu.Unlock()
	if s.opts.Logger != nil {
		s.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "zohosim request",
			slog.String("method", r.Method), slog.String("host", host), slog.String("path", path),
			slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	}
}

// serve applies the fault, if any, then routes; it returns the status.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, f *Fault, host, path, base string, form url.Values, body []byte) int {
	var inFlight time.Duration // latency a CRM call spends in flight
	if f != nil && f.Latency > 0 && f.Status == 0 && !f.Drop {
		if _, env, ok := zoho.ByHost(host); ok && env != 0 {
			inFlight, f = f.Latency, nil
		}
	}
	if f != nil {
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return 499
			}
		}
		if f.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return 0
				}
			}
			panic(http.ErrAbortHandler) // closes the stream where hijacking is impossible
		}
		if f.Status != 0 {
			b := f.Body
			if b == "" {
				b = s.defaultFaultBody(f.Status)
			}
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.WriteHeader(f.Status)
			io.WriteString(w, b)
			return f.Status
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	if s.route(sw, r, host, path, base, form, body, inFlight) {
		return 499
	}
	if sw.status == 0 {
		return http.StatusOK
	}
	return sw.status
}

// sleep waits d, or until the request's context ends; false then.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) matchFaultLocked(host, path string) *Fault {
	for i, f := range s.faults {
		if f.Host != "" && !strings.EqualFold(f.Host, host) {
			continue
		}
		if f.Path != "" {
			if p, ok := strings.CutSuffix(f.Path, "*"); ok {
				if !strings.HasPrefix(path, p) {
					continue
				}
			} else if f.Path != path {
				continue
			}
		}
		out := f.Fault
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

func (s *Server) defaultFaultBody(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests","status":"error"}`
	case status == http.StatusUnauthorized:
		b, _ := json.Marshal(crmError(s.opts.InvalidTokenCode, "invalid oauth token", nil))
		return string(b)
	case status >= 500:
		return `{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`
	}
	b, _ := json.Marshal(map[string]any{"code": "ERROR", "details": map[string]any{}, "message": http.StatusText(status), "status": "error"})
	return string(b)
}

// route answers for the host; true when the client went away first.
func (s *Server) route(w http.ResponseWriter, r *http.Request, host, path, base string, form url.Values, body []byte, inFlight time.Duration) bool {
	dc, env, ok := zoho.ByHost(host)
	switch {
	case !ok:
		writeJSON(w, http.StatusMisdirectedRequest, map[string]any{
			"code": "UNKNOWN_HOST", "details": map[string]any{"host": host},
			"message": "zohosim: not a Zoho host; send Host: <a Zoho accounts or API host>", "status": "error",
		})
	case env == 0:
		s.serveAccounts(w, r, dc, path, base, form)
	default:
		return s.serveCRM(w, r, dc, env, path, body, inFlight)
	}
	return false
}

func stripPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func isForm(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}
