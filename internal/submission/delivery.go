package submission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A person Zoho already knows is never overwritten unless the connection
// says so. Every record is inserted with a duplicate check on Email (when
// it has one; Zoho also checks the org's unique fields); a DUPLICATE_DATA
// names the existing record, and the connection's on_duplicate decides:
//
//	note        a Note on the existing record holds the submission (default)
//	fill_empty  the record's empty fields are set, the rest kept
//	update      the record's fields are overwritten
//	create      a plain insert, no duplicate check (an org that refuses a
//	            duplicate of a unique field gets the Note)
const (
	OnDuplicateNote      = "note"
	OnDuplicateFillEmpty = "fill_empty"
	OnDuplicateUpdate    = "update"
	OnDuplicateCreate    = "create"
)

// The actions of an answer.
const (
	actionCreated      = "created"
	actionNoteAdded    = "note_added"
	actionFieldsFilled = "fields_filled"
	actionUpdated      = "updated"
)

// trigger is what every write asks Zoho to run: its workflow rules (not
// approvals or blueprints), as before duplicates had modes.
var trigger = []string{"workflow"}

// delivery is one submission ready for Zoho.
type delivery struct {
	Module  string
	Record  zoho.Record
	Ignored []string
	// Fields are the submission as posted, for a Note; At is when it came.
	Fields Fields
	At     time.Time
}

// delivered is what Zoho did with a submission.
type delivered struct {
	// Action is created, or what was done to the existing record.
	Action   string
	RecordID string
	Module   string // the record's module
	Ignored  []string
	// Rejected names the fields Zoho refused (nil when it took the record).
	Rejected map[string]string
	Code     string
	// NotPermitted names the module the connection's scopes do not cover
	// ("" when they do).
	NotPermitted string
}

func (d delivered) log(log *slog.Logger, msg string) {
	switch {
	case d.NotPermitted != "":
		log.Warn("the connection's scopes do not cover the module", "denied", d.NotPermitted)
	case d.Rejected != nil:
		log.Info("Zoho refused the submission", "fields", FieldNames(d.Rejected), "zoho_code", d.Code)
	default:
		log.Info(msg, "action", d.Action, "record_id", d.RecordID, "record_module", d.Module)
	}
}

// notPermitted is Zoho's OAUTH_SCOPE_MISMATCH for a write to module.
type notPermitted struct {
	module string
	err    error
}

func (e *notPermitted) Error() string { return "no scope for " + e.module + ": " + e.err.Error() }
func (e *notPermitted) Unwrap() error { return e.err }

func scoped(module string, err error) error {
	if errors.Is(err, zoho.ErrScopeMismatch) {
		return &notPermitted{module: module, err: err}
	}
	return err
}

// deliver writes one submission to the connection's org: the cached
// access token, and on INVALID_TOKEN one on-demand refresh and one retry.
// A scope the token lacks for the module is the answer
// module_not_permitted: the connection stays active, since its other
// modules may be covered.
func (s *Service) deliver(ctx context.Context, c *connection.Connection, d delivery) (delivered, error) {
	var out delivered
	err := s.call(ctx, c, func(crm CRM) error {
		var err error
		out, err = s.write(ctx, crm, c, d)
		return err
	})
	return s.outcome(c, d, out, err)
}

// outcome is what a delivery's calls (s.call) came to: what Zoho did, or
// the answer a refusal makes, or the kind of error to wait on.
func (s *Service) outcome(c *connection.Connection, d delivery, out delivered, err error) (delivered, error) {
	var np *notPermitted
	switch {
	case err == nil:
		out.Ignored = d.Ignored
		return out, nil
	case errors.Is(err, errHold), errors.Is(err, errRetry), errors.Is(err, errBusy):
		return delivered{}, err
	case errors.As(err, &np):
		return delivered{NotPermitted: np.module, Module: d.Module, Code: "OAUTH_SCOPE_MISMATCH"}, nil
	case errors.Is(err, zoho.ErrTooManyRequests):
		return delivered{}, retry("zoho_rate_limited", err)
	}
	if ae, ok := refusal(err); ok {
		// Zoho refused the request itself (INVALID_DATA, INVALID_MODULE,
		// REQUIRED_PARAM_MISSING, NO_PERMISSION, ...): sending it again
		// changes nothing.
		field := detail(ae.Details, "api_name")
		if field == "" {
			field = detail(ae.Details, "param_name")
		}
		s.fieldsMayHaveChanged(c.ID, d.Module, ae.Code)
		return delivered{Rejected: map[string]string{fieldOr(field): problemOf(ae.Code)}, Code: ae.Code, Module: d.Module}, nil
	}
	return delivered{}, retry("zoho_unavailable", err)
}

// fieldsMayHaveChanged drops the cached fields when Zoho refuses data: an
// administrator may have changed a field since they were read.
func (s *Service) fieldsMayHaveChanged(connectionID, module, code string) {
	if strings.EqualFold(code, "INVALID_DATA") {
		s.fields.drop(connectionID + "/" + module)
	}
}

// call runs f with a CRM client of c's org and its cached access token.
// On INVALID_TOKEN the token is refreshed once (naming the refused one)
// and f runs again; DOMAIN_TOKEN_MISMATCH marks the connection for
// re-authorization and holds.
func (s *Service) call(ctx context.Context, c *connection.Connection, f func(CRM) error) error {
	dc, err := c.DataCenter()
	if err != nil {
		return hold("unknown_data_center", err)
	}
	env, err := c.Env()
	if err != nil {
		return hold("unknown_environment", err)
	}
	if !holdsSlot(ctx) {
		// One of the org's concurrency slots for the whole of f (its
		// calls are sequential), shared by every instance: none free, and
		// nothing is called (the submission is queued).
		sl, err := s.Limiter.acquire(ctx, orgPool(c), ConcurrencyOf(c), s.Now.Now())
		switch {
		case errors.Is(err, ErrNoSlot):
			return busy("concurrency_limit", err)
		case err != nil:
			return retry("concurrency_slots_unavailable", err)
		}
		defer sl.release(ctx, s.Log)
		ctx = withSlot(ctx)
	}
	tok, err := s.token(ctx, c, false)
	if err != nil {
		return err
	}
	err = f(s.client(dc, env, tok))
	if errors.Is(err, zoho.ErrInvalidToken) {
		s.tokens.drop(c.ID)
		// Tell the refresh which token Zoho refused, by its expiry: a
		// young token killed early is refreshed all the same.
		if err := s.refresh(ctx, c, tok.ExpiresAt); err != nil {
			return err
		}
		if tok, err = s.token(ctx, c, true); err != nil {
			return err
		}
		err = f(s.client(dc, env, tok))
		if errors.Is(err, zoho.ErrInvalidToken) {
			s.tokens.drop(c.ID)
			return retry("invalid_token_after_refresh", err)
		}
	}
	if errors.Is(err, zoho.ErrDomainTokenMismatch) {
		s.markReauth(ctx, c.ID, "domain_token_mismatch")
		return hold("domain_token_mismatch", err)
	}
	if errors.Is(err, zoho.ErrTooManyRequests) {
		s.throttled(ctx, c)
		return busy("zoho_rate_limited", err)
	}
	return err
}

// throttled holds every slot of c's org for ThrottleHold (jittered): Zoho
// answered 429, its concurrency or its daily credits spent, and a call
// before then would only be refused again. Until then every instance
// queues the org's submissions without calling it; after it, the first
// call to get a slot tells whether Zoho takes calls again.
func (s *Service) throttled(ctx context.Context, c *connection.Connection) {
	d := jitter(s.Timings.withDefaults().ThrottleHold)
	until := s.Now.Now().Add(d)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.Limiter.hold(ctx, orgPool(c), ConcurrencyOf(c), until); err != nil {
		s.Log.Warn("holding the org's concurrency slots failed: its calls go on, and are refused", "connection_id", c.ID, "err", err.Error())
		return
	}
	s.Log.Warn("Zoho refused a call for its limits (429): the org's calls held", "connection_id", c.ID, "hold_seconds", int(d/time.Second))
}

// slotKey marks a context whose run already holds a concurrency slot of
// the org it calls, so that a call within it (the fields read of a
// batch) takes no second one.
type slotKey struct{}

func withSlot(ctx context.Context) context.Context { return context.WithValue(ctx, slotKey{}, true) }

func holdsSlot(ctx context.Context) bool { v, _ := ctx.Value(slotKey{}).(bool); return v }

func (s *Service) client(dc zoho.DataCenter, env zoho.Environment, tok connection.AccessToken) CRM {
	return timedCRM{s.NewCRM(dc, env, &zoho.Token{AccessToken: tok.Token, Expiry: tok.ExpiresAt}), s.Timings.withDefaults().ZohoTimeout}
}

// timedCRM bounds each Zoho call by ZohoTimeout, so that a slow Zoho
// still leaves time to queue within API Gateway's 30 s.
type timedCRM struct {
	crm CRM
	d   time.Duration
}

func (t timedCRM) Fields(ctx context.Context, module string) ([]zoho.Field, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.crm.Fields(ctx, module)
}

func (t timedCRM) Insert(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.crm.Insert(ctx, module, recs, opts)
}

func (t timedCRM) Update(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.crm.Update(ctx, module, recs, opts)
}

func (t timedCRM) GetRecord(ctx context.Context, module, id string, fields []string) (zoho.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.crm.GetRecord(ctx, module, id, fields)
}

func (t timedCRM) AddNote(ctx context.Context, module, id, title, content string) (zoho.RecordResult, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.crm.AddNote(ctx, module, id, title, content)
}

// onDuplicate is the connection's choice, note when it made none.
func onDuplicate(c *connection.Connection) string {
	switch c.OnDuplicate {
	case OnDuplicateFillEmpty, OnDuplicateUpdate, OnDuplicateCreate:
		return c.OnDuplicate
	}
	return OnDuplicateNote
}

// write inserts the record (with a duplicate check on Email unless the
// connection chose create), and for a duplicate does what the connection
// chose to the existing record. Run again after a failure, it finds the
// duplicate again: nothing is created twice.
func (s *Service) write(ctx context.Context, crm CRM, c *connection.Connection, d delivery) (delivered, error) {
	res, err := crm.Insert(ctx, d.Module, []zoho.Record{d.Record}, writeOptions(c, d.Record))
	if err != nil {
		return delivered{}, scoped(d.Module, err)
	}
	if len(res) != 1 {
		return delivered{}, retry("zoho_answer_incomplete", fmt.Errorf("%d results for 1 record", len(res)))
	}
	return s.resolve(ctx, crm, c, d, res[0])
}

// writeOptions are an insert's: the workflow trigger, and a duplicate
// check on Email when the record has one and the connection did not
// choose create. Records of one insert call share them (batch.go groups
// by them).
func writeOptions(c *connection.Connection, rec zoho.Record) *zoho.WriteOptions {
	opts := &zoho.WriteOptions{Trigger: trigger}
	if _, ok := rec["Email"]; ok && onDuplicate(c) != OnDuplicateCreate {
		opts.DuplicateCheckFields = []string{"Email"}
	}
	return opts
}

// resolve is what follows Zoho's answer r to a record's insert: created,
// refused, or, for a duplicate, what the connection's on_duplicate does to
// the existing record (one more call or two).
func (s *Service) resolve(ctx context.Context, crm CRM, c *connection.Connection, d delivery, r zoho.RecordResult) (delivered, error) {
	mode := onDuplicate(c)
	switch {
	case r.OK():
		return delivered{Action: actionCreated, RecordID: r.ID, Module: d.Module, Code: r.Code}, nil
	case !r.Duplicate() || r.ID == "":
		return rejected(d.Module, r), nil
	}
	module := d.Module
	if r.DuplicateModule != "" {
		module = r.DuplicateModule
	}
	matched := delivered{RecordID: r.ID, Module: module, Code: r.Code}
	// The field Zoho matched on keeps its value as the record has it.
	change := zoho.Record{}
	for k, v := range d.Record {
		if k != r.Field && k != "id" {
			change[k] = v
		}
	}
	switch mode {
	case OnDuplicateUpdate:
		matched.Action = actionUpdated
		return s.update(ctx, crm, matched, change)
	case OnDuplicateFillEmpty:
		matched.Action = actionFieldsFilled
		if len(change) == 0 {
			return matched, nil
		}
		// A checkbox has no empty state (Zoho keeps false for unset):
		// fill_empty never sets one.
		for k, v := range change {
			if _, checkbox := v.(bool); checkbox {
				delete(change, k)
			}
		}
		if len(change) == 0 {
			return matched, nil
		}
		existing, err := crm.GetRecord(ctx, module, r.ID, FieldNames(change))
		if errors.Is(err, zoho.ErrRecordNotFound) {
			return delivered{}, retry("duplicate_gone", err) // deleted meanwhile: insert next time
		}
		if err != nil {
			return delivered{}, scoped(module, err)
		}
		for k := range change {
			if !empty(existing[k]) {
				delete(change, k)
			}
		}
		return s.update(ctx, crm, matched, change)
	}
	matched.Action = actionNoteAdded
	n, err := crm.AddNote(ctx, module, r.ID, noteTitle, noteContent(d, r.Field))
	if err != nil {
		return delivered{}, scoped("Notes", err)
	}
	if !n.OK() {
		return rejected(module, n), nil
	}
	return matched, nil
}

// update sets change on the matched record (nothing to change: no call).
func (s *Service) update(ctx context.Context, crm CRM, matched delivered, change zoho.Record) (delivered, error) {
	if len(change) == 0 {
		return matched, nil
	}
	change["id"] = matched.RecordID
	res, err := crm.Update(ctx, matched.Module, []zoho.Record{change}, &zoho.WriteOptions{Trigger: trigger})
	if err != nil {
		return delivered{}, scoped(matched.Module, err)
	}
	if !res[0].OK() {
		return rejected(matched.Module, res[0]), nil
	}
	return matched, nil
}

func rejected(module string, r zoho.RecordResult) delivered {
	return delivered{Rejected: map[string]string{fieldOr(r.Field): problemOf(r.Code)}, Code: r.Code, Module: module}
}

// empty is a value fill_empty may replace: none, blank, or Zoho's
// "-None-" picklist choice. A number (0 too) and a boolean (false too)
// are values; and fill_empty sets no checkbox at all, so Email_Opt_Out is
// never turned on by a stranger.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		t := strings.TrimSpace(x)
		return t == "" || t == "-None-"
	case []any:
		return len(x) == 0
	}
	return false
}

const (
	noteTitle = "Submission for an existing record"
	// maxNote bounds a Note's content, in characters (Zoho's textarea
	// limit is 32,000).
	maxNote = 30000
)

// noteContent is the Note a duplicate gets: every field of the
// submission, as posted, one "name: value" a line, sorted by name.
func noteContent(d delivery, matchedOn string) string {
	var b strings.Builder
	b.WriteString("A submission matched this record")
	if matchedOn != "" {
		b.WriteString(" (same " + matchedOn + ")")
	}
	b.WriteString(" on " + d.At.UTC().Format(time.RFC3339) + ". The record was left as it was; what was submitted:\n")
	names := FieldNames(d.Fields)
	for _, k := range names {
		v, ok := clean(d.Fields[k])
		if !ok {
			continue
		}
		b.WriteString("\n" + k + ": " + strings.ReplaceAll(noteValue(v), "\n", "\n    "))
	}
	s := b.String()
	if utf8.RuneCountInString(s) > maxNote {
		const cut = "\n… (cut at 30,000 characters)"
		s = string([]rune(s)[:maxNote-utf8.RuneCountInString(cut)]) + cut
	}
	return s
}

func noteValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, noteValue(e))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := marshal(v)
	return string(b)
}

// queuedSubmission is what a queued entry keeps (Entry.Record): the
// submission as posted, mapped when it is delivered, so that the Note of
// a duplicate holds every submitted field and a mapping fixed meanwhile
// applies.
type queuedSubmission struct {
	Fields Fields `json:"fields"`
}

// queuedContent is a queued entry's content: Fields, or (entries queued before
// this format) the mapped Record.
type queuedContent struct {
	Fields Fields
	Record zoho.Record
}

// readQueued reads either shape: {"fields":{...}} or a record of Zoho API
// names (which start with a capital letter, so never "fields").
func readQueued(b []byte) (queuedContent, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return queuedContent{}, err
	}
	raw, ok := probe["fields"]
	dec := json.NewDecoder(bytes.NewReader(b))
	if ok && len(probe) == 1 {
		dec = json.NewDecoder(bytes.NewReader(raw))
	}
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return queuedContent{}, err
	}
	if m == nil {
		return queuedContent{}, errors.New("no fields")
	}
	if ok && len(probe) == 1 {
		return queuedContent{Fields: Fields(m)}, nil
	}
	return queuedContent{Record: zoho.Record(m)}, nil
}

// answer is the answer for a submission Zoho took or refused.
func (d delivered) answer() Answer {
	switch {
	case d.NotPermitted != "":
		return errorAnswer(422, "module_not_permitted",
			fmt.Sprintf("The connection's Zoho CRM authorization does not cover %s; connect the org again with a scope that does.", d.NotPermitted), nil)
	case d.Rejected != nil:
		return errorAnswer(422, "invalid_submission", "Zoho CRM refused this submission: see fields.", d.Rejected)
	}
	ignored := d.Ignored
	if ignored == nil {
		ignored = []string{}
	}
	sort.Strings(ignored)
	if d.Action == actionCreated {
		return jsonAnswer(201, recordAnswer{Status: "created", RecordID: d.RecordID, Module: d.Module, IgnoredFields: ignored})
	}
	return jsonAnswer(200, recordAnswer{Status: "matched", RecordID: d.RecordID, Module: d.Module, Action: d.Action, IgnoredFields: ignored})
}

// recordAnswer is the body of 201 created and 200 matched.
type recordAnswer struct {
	Status        string   `json:"status"`
	RecordID      string   `json:"record_id"`
	Module        string   `json:"module"`
	Action        string   `json:"action,omitempty"`
	IgnoredFields []string `json:"ignored_fields"`
}
