package submission

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// What may reach Zoho: a submission sets only the ordinary fields of the
// module in the connection's org, as Zoho's fields API lists them.

// ordinaryTypes are the data types of the fields a submission may set: one
// scalar value each (a string, a number or a boolean).
var ordinaryTypes = map[string]bool{
	"text": true, "textarea": true, "email": true, "phone": true, "website": true, "picklist": true,
	"integer": true, "bigint": true, "double": true, "currency": true, "percent": true, "decimal": true,
	"boolean": true, "date": true, "datetime": true,
}

// neverTypes are never set from a submission, even when the connection
// names the field: references to other records or users (lookups, owner),
// lists, layouts, files, and values Zoho computes.
var neverTypes = map[string]bool{
	"lookup": true, "ownerlookup": true, "userlookup": true, "multiselectlookup": true, "multiuserlookup": true,
	"multimodulelookup": true, "multi_module_lookup": true, "consent_lookup": true, "multiselectpicklist": true,
	"subform": true, "layout": true, "profileimage": true, "fileupload": true, "imageupload": true,
	"autonumber": true, "formula": true, "rollup_summary": true, "event_reminder": true,
}

// systemNames are fields the record's system owns, whatever the fields
// API says of them: its id, owner, layout and tags, its image, audit and
// conversion data, consent (GDPR) data, currency bookkeeping, territories
// and process state.
var systemNames = map[string]bool{
	"id": true, "Owner": true, "Layout": true, "Tag": true, "Record_Image": true, "Full_Name": true,
	"Last_Activity_Time": true, "Unsubscribed_Mode": true, "Unsubscribed_Time": true,
	"Data_Processing_Basis": true, "Data_Processing_Basis_Details": true, "Data_Source": true,
	"Currency": true, "Exchange_Rate": true, "Territories": true, "Process_Flow": true, "Approval": true,
	"Approved": true, "Wizard": true, "Locked": true, "Record_Status": true, "Converted_Date_Time": true,
	"Converted_Account": true, "Converted_Contact": true, "Converted_Deal": true, "Lead_Conversion_Time": true,
	"Enrich_Status": true, "Last_Enriched_Time": true,
}

// systemField: a system field by its name alone: one of systemNames, a
// `$` field, a `__s` one, or an audit field (Created_*, Modified_*).
func systemField(name string) bool {
	return systemNames[name] || strings.HasPrefix(name, "$") || strings.HasSuffix(name, "__s") ||
		strings.HasPrefix(name, "Created_") || strings.HasPrefix(name, "Modified_")
}

// ordinary reports whether any submission may set f: writable, not a
// system field, of an ordinary data type with a scalar JSON type.
func ordinary(f zoho.Field) bool {
	return !f.ReadOnly && !systemField(f.APIName) && ordinaryTypes[f.DataType] && (f.JSONType == "" || f.Scalar())
}

// settableWhenNamed reports whether f may be set when the connection names
// it (a mapping target, allowed_fields): an ordinary field, or a writable
// non-system field of a data type this list does not know whose JSON type
// is scalar (a type Zoho adds later). Never a lookup, list or system field.
func settableWhenNamed(f zoho.Field) bool {
	return ordinary(f) || (!f.ReadOnly && !systemField(f.APIName) && !neverTypes[f.DataType] && f.Scalar())
}

// fieldSet is what sync knows of one module's fields in one org.
type fieldSet struct {
	byName map[string]zoho.Field
	norm   map[string]string // normalize(API name) → API name
	// builtIn: the fields API could not be read (the connection's token
	// lacks ZohoCRM.settings.fields.READ, or Zoho refused the call): the
	// module's standard fields from builtInFields stand in, so custom
	// fields are unknown, and names the connection gives pass untyped.
	builtIn bool
}

func newFieldSet(fields []zoho.Field, builtIn bool) *fieldSet {
	s := &fieldSet{byName: make(map[string]zoho.Field, len(fields)), norm: make(map[string]string, len(fields)), builtIn: builtIn}
	for _, f := range fields {
		if f.APIName == "" {
			continue
		}
		s.byName[f.APIName] = f
		s.norm[normalize(f.APIName)] = f.APIName
	}
	return s
}

// fieldsCache keeps each connection's module fields in memory for
// FieldsTTL, so a warm function asks Zoho's fields API at most once per
// connection and module in that time; concurrent misses share one call.
type fieldsCache struct {
	mu sync.Mutex
	m  map[string]*fieldsEntry
}

type fieldsEntry struct {
	set     *fieldSet
	fetched time.Time
	// loading is non-nil while one caller asks Zoho; the others wait for
	// it and take its outcome (err, set), so an outage costs one call,
	// not one per waiting submission.
	loading chan struct{}
	err     error
}

func (c *fieldsCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && e.loading == nil {
		delete(c.m, key)
	}
}

// errFieldsUnknown: the module's fields could not be had now (Zoho down,
// over its limits, the token being refreshed, the connection held), and
// no copy is at hand: the submission is queued unmapped.
var errFieldsUnknown = errors.New("the module's fields cannot be read now")

// moduleFields returns the module's fields in c's org: the cached list
// while younger than FieldsTTL, else a fresh one from the fields API. A
// token that lacks the fields API's scope, or Zoho refusing the call,
// gives the built-in standard fields (cached as long); when Zoho cannot
// answer now, a copy up to FieldsStaleFor old serves. Otherwise the error
// is the call's, as hold or retry. fetch false only reads the cache (a
// connection waiting for re-authorization calls no Zoho).
func (s *Service) moduleFields(ctx context.Context, c *connection.Connection, module string, fetch bool) (*fieldSet, error) {
	t := s.Timings.withDefaults()
	key := c.ID + "/" + module
	now := s.Now.Now()
	s.fields.mu.Lock()
	if s.fields.m == nil {
		s.fields.m = map[string]*fieldsEntry{}
	}
	e := s.fields.m[key]
	if e != nil && e.set != nil && now.Sub(e.fetched) < t.FieldsTTL {
		s.fields.mu.Unlock()
		return e.set, nil
	}
	if !fetch {
		defer s.fields.mu.Unlock()
		if e != nil && e.set != nil && now.Sub(e.fetched) < t.FieldsStaleFor {
			return e.set, nil
		}
		return nil, hold("reauth_required", errFieldsUnknown)
	}
	if e == nil {
		e = &fieldsEntry{}
		s.fields.m[key] = e
	}
	if wait := e.loading; wait != nil {
		s.fields.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, retry("fields_wait", ctx.Err())
		}
		s.fields.mu.Lock()
		set, stale, err := e.outcome(now, t)
		s.fields.mu.Unlock()
		return s.fieldsOutcome(c, module, set, stale, err)
	}
	done := make(chan struct{})
	e.loading = done
	s.fields.mu.Unlock()

	set, err := s.fetchFields(ctx, c, module)

	s.fields.mu.Lock()
	if err == nil {
		e.set, e.fetched = set, s.Now.Now()
	}
	e.err, e.loading = err, nil
	close(done)
	set, stale, err := e.outcome(now, t)
	if e.set == nil && s.fields.m[key] == e {
		delete(s.fields.m, key)
	}
	s.fields.mu.Unlock()
	return s.fieldsOutcome(c, module, set, stale, err)
}

// outcome is what the last load gave: its fields, or a copy younger than
// FieldsStaleFor when Zoho could not answer (stale), or its error.
func (e *fieldsEntry) outcome(now time.Time, t Timings) (set *fieldSet, stale time.Duration, err error) {
	switch {
	case e.err == nil:
		return e.set, 0, nil
	case e.set != nil && now.Sub(e.fetched) < t.FieldsStaleFor && !errors.Is(e.err, errHold) && !errors.Is(e.err, errBusy):
		// (A busy org takes no call now: a stale copy would only lead
		// to a write it refuses.)
		return e.set, now.Sub(e.fetched), nil
	}
	return nil, 0, e.err
}

func (s *Service) fieldsOutcome(c *connection.Connection, module string, set *fieldSet, stale time.Duration, err error) (*fieldSet, error) {
	if stale > 0 {
		s.Log.Warn("the fields API cannot be read now: an older copy serves", "connection_id", c.ID, "module", module,
			"age_seconds", int(stale/time.Second))
	}
	return set, err
}

// fetchFields asks the fields API once (with the connection's token, and
// one on-demand refresh on INVALID_TOKEN).
func (s *Service) fetchFields(ctx context.Context, c *connection.Connection, module string) (*fieldSet, error) {
	var fields []zoho.Field
	err := s.call(ctx, c, func(crm CRM) error {
		var err error
		fields, err = crm.Fields(ctx, module)
		return err
	})
	if err == nil {
		s.Log.Info("module fields read from Zoho", "connection_id", c.ID, "module", module, "fields", len(fields))
		return newFieldSet(fields, false), nil
	}
	_, refused := refusal(err)
	if errors.Is(err, zoho.ErrScopeMismatch) || refused {
		// Connections made before the default scopes had
		// ZohoCRM.settings.fields.READ keep working on the standard
		// fields until they are connected again.
		s.Log.Warn("the fields API refused: the module's standard fields stand in (connect again with ZohoCRM.settings.fields.READ to use custom fields)",
			"connection_id", c.ID, "module", module, "err", err.Error())
		return newFieldSet(builtInFields(module), true), nil
	}
	if errors.Is(err, errHold) || errors.Is(err, errRetry) || errors.Is(err, errBusy) {
		return nil, err
	}
	if errors.Is(err, zoho.ErrTooManyRequests) {
		return nil, retry("zoho_rate_limited", err)
	}
	return nil, retry("zoho_unavailable", err)
}

// builtInTypes are the data types of the standard fields moduleFields
// lists (text when not named here); lookups are never set.
var builtInTypes = map[string]string{
	"Email": "email", "Secondary_Email": "email",
	"Phone": "phone", "Mobile": "phone", "Home_Phone": "phone", "Other_Phone": "phone", "Asst_Phone": "phone",
	"Website": "website", "Description": "textarea",
	"No_of_Employees": "integer", "Employees": "integer", "Probability": "integer",
	"Annual_Revenue": "currency", "Amount": "currency",
	"Email_Opt_Out": "boolean", "Date_of_Birth": "date", "Closing_Date": "date",
	"Lead_Source": "picklist", "Lead_Status": "picklist", "Industry": "picklist", "Rating": "picklist",
	"Salutation": "picklist", "Account_Type": "picklist", "Stage": "picklist", "Type": "picklist",
}

// builtInLookups are the standard fields that are lookups in a module.
var builtInLookups = map[string]map[string]bool{
	"Contacts": {"Account_Name": true},
	"Deals":    {"Account_Name": true, "Contact_Name": true},
}

var jsonTypeOf = map[string]string{
	"integer": "integer", "currency": "double", "boolean": "boolean",
}

// builtInFields are a module's standard fields, typed, for when the
// org's own list cannot be read.
func builtInFields(module string) []zoho.Field {
	spec := moduleFields[module]
	if spec == nil {
		return nil
	}
	out := make([]zoho.Field, 0, len(spec.fields))
	for _, name := range spec.fields {
		f := zoho.Field{APIName: name, DataType: "text", JSONType: "string"}
		if dt, ok := builtInTypes[name]; ok {
			f.DataType = dt
			if jt, ok := jsonTypeOf[dt]; ok {
				f.JSONType = jt
			}
		}
		if builtInLookups[module][name] {
			f.DataType, f.JSONType = "lookup", "jsonobject"
		}
		for _, r := range spec.required {
			if r == name {
				f.SystemMandatory = true
			}
		}
		out = append(out, f)
	}
	return out
}
