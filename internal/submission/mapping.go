package submission

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// moduleSpec is what the mapping knows of one CRM module: its standard
// fields (API names; typed in fields.go, for when the org's own list
// cannot be read), the names forms commonly use for them, and the fields
// Zoho requires.
type moduleSpec struct {
	fields   []string
	common   map[string]string // normalized common name → API name
	required []string
	// nameField, when set, takes a whole "name" (Accounts, Deals); when
	// empty a name is split into First_Name and Last_Name.
	nameField string
}

// personCommon are the common names of the person modules (Leads,
// Contacts); the Leads and Contacts entries below add their own.
var personCommon = map[string]string{
	"email": "Email", "e_mail": "Email", "email_address": "Email", "mail": "Email", "your_email": "Email",
	"first_name": "First_Name", "firstname": "First_Name", "given_name": "First_Name", "fname": "First_Name",
	"last_name": "Last_Name", "lastname": "Last_Name", "surname": "Last_Name", "family_name": "Last_Name", "lname": "Last_Name",
	"phone": "Phone", "telephone": "Phone", "tel": "Phone", "phone_number": "Phone",
	"mobile": "Mobile", "mobile_phone": "Mobile", "cell": "Mobile", "cellphone": "Mobile",
	"message": "Description", "comments": "Description", "comment": "Description", "description": "Description", "notes": "Description", "your_message": "Description",
	"lead_source": "Lead_Source", "source": "Lead_Source",
	"salutation": "Salutation", "secondary_email": "Secondary_Email", "fax": "Fax",
	"twitter": "Twitter", "skype": "Skype_ID", "skype_id": "Skype_ID",
}

var moduleFields = map[string]*moduleSpec{
	"Leads": {
		fields: []string{"First_Name", "Last_Name", "Email", "Secondary_Email", "Phone", "Mobile", "Fax", "Company", "Designation",
			"Description", "Website", "Street", "City", "State", "Zip_Code", "Country", "Lead_Source", "Lead_Status", "Industry",
			"Annual_Revenue", "No_of_Employees", "Salutation", "Rating", "Twitter", "Skype_ID", "Email_Opt_Out"},
		common: merge(personCommon, map[string]string{
			"company": "Company", "organization": "Company", "organisation": "Company", "company_name": "Company", "business": "Company",
			"title": "Designation", "job_title": "Designation", "designation": "Designation", "position": "Designation",
			"website": "Website", "url": "Website", "web": "Website",
			"street": "Street", "address": "Street", "city": "City", "state": "State", "region": "State", "province": "State",
			"zip": "Zip_Code", "zip_code": "Zip_Code", "postal_code": "Zip_Code", "postcode": "Zip_Code", "country": "Country",
			"industry": "Industry", "employees": "No_of_Employees", "annual_revenue": "Annual_Revenue",
		}),
		required: []string{"Last_Name"},
	},
	"Contacts": {
		fields: []string{"First_Name", "Last_Name", "Email", "Secondary_Email", "Phone", "Mobile", "Home_Phone", "Other_Phone", "Fax",
			"Title", "Department", "Description", "Mailing_Street", "Mailing_City", "Mailing_State", "Mailing_Zip", "Mailing_Country",
			"Lead_Source", "Salutation", "Date_of_Birth", "Assistant", "Asst_Phone", "Twitter", "Skype_ID", "Email_Opt_Out", "Account_Name"},
		common: merge(personCommon, map[string]string{
			"title": "Title", "job_title": "Title", "position": "Title", "department": "Department",
			"street": "Mailing_Street", "address": "Mailing_Street", "city": "Mailing_City", "state": "Mailing_State", "region": "Mailing_State",
			"province": "Mailing_State", "zip": "Mailing_Zip", "zip_code": "Mailing_Zip", "postal_code": "Mailing_Zip", "postcode": "Mailing_Zip",
			"country": "Mailing_Country", "birthday": "Date_of_Birth", "date_of_birth": "Date_of_Birth",
		}),
		required: []string{"Last_Name"},
	},
	"Accounts": {
		fields: []string{"Account_Name", "Phone", "Fax", "Website", "Description", "Industry", "Employees", "Annual_Revenue",
			"Billing_Street", "Billing_City", "Billing_State", "Billing_Code", "Billing_Country", "Account_Type", "Ticker_Symbol"},
		common: map[string]string{
			"company": "Account_Name", "organization": "Account_Name", "organisation": "Account_Name", "company_name": "Account_Name",
			"account_name": "Account_Name", "business": "Account_Name",
			"phone": "Phone", "telephone": "Phone", "tel": "Phone", "fax": "Fax", "website": "Website", "url": "Website", "web": "Website",
			"message": "Description", "comments": "Description", "comment": "Description", "description": "Description", "notes": "Description",
			"industry": "Industry", "employees": "Employees", "annual_revenue": "Annual_Revenue",
			"street": "Billing_Street", "address": "Billing_Street", "city": "Billing_City", "state": "Billing_State", "region": "Billing_State",
			"province": "Billing_State", "zip": "Billing_Code", "zip_code": "Billing_Code", "postal_code": "Billing_Code", "postcode": "Billing_Code",
			"country": "Billing_Country",
		},
		required:  []string{"Account_Name"},
		nameField: "Account_Name",
	},
	"Deals": {
		fields: []string{"Deal_Name", "Amount", "Stage", "Closing_Date", "Description", "Lead_Source", "Type", "Next_Step", "Probability",
			"Account_Name", "Contact_Name"},
		common: map[string]string{
			"deal_name": "Deal_Name", "title": "Deal_Name", "subject": "Deal_Name",
			"amount": "Amount", "value": "Amount", "budget": "Amount", "stage": "Stage", "closing_date": "Closing_Date", "close_date": "Closing_Date",
			"message": "Description", "comments": "Description", "comment": "Description", "description": "Description", "notes": "Description",
			"lead_source": "Lead_Source", "source": "Lead_Source",
		},
		required:  []string{"Deal_Name"},
		nameField: "Deal_Name",
	},
}

func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// apiNameShape is what a Zoho field API name looks like (standard or
// custom): it starts with a capital letter. A mapping target of another
// shape is not followed.
var apiNameShape = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,99}$`)

// normalize turns "First Name", "first-name" and "FIRST_NAME" into "first_name".
func normalize(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return '_'
		}
		return r
	}, k)
}

// Rules are the connection's own say in what a submission sets: its
// mapping (posted name → Zoho API name) and its allowed fields (when any
// are listed, only those and the mapping's targets are set).
type Rules struct {
	Mapping map[string]string
	Allowed []string
}

// Mapped is a submission turned into a CRM record.
type Mapped struct {
	Record zoho.Record
	// Ignored are posted field names whose values reach no CRM field: no
	// field of that name, a system, read-only, lookup or list field, or
	// one the connection does not allow. Names only: they may be logged.
	Ignored []string
	// Problems are the values Zoho would refuse, by field API name:
	// required, invalid, too_long, unknown_field (a field the connection
	// names that the org does not have). Nil when there are none.
	Problems map[string]string
}

// precedence of a mapping: a connection's own mapping beats a CRM API name
// posted as such, which beats a common name, which beats a whole name
// being split.
const (
	fromSplit = iota + 1
	fromCommon
	fromAPIName
	fromConnection
)

// mapFields turns posted fields into a record of module, given the
// module's fields in the org. A posted name is resolved, in this order,
// by the connection's mapping, as an API name of the org's fields (or of
// the connection's allowed fields), as a common form name (mapping.go's
// table), as a whole name to split, and as an org field's API name in
// another case or spelling ("email_opt_out"). Then only what may reach
// Zoho is kept (ordinary and settableWhenNamed, fields.go), each value
// checked and converted to its field's type (coerce); the rest is listed
// in Ignored. Empty values are dropped, so that an optional field a form
// left blank never blanks the CRM's value.
func mapFields(module string, fields Fields, set *fieldSet, r Rules) Mapped {
	spec := moduleFields[module]
	type candidate struct {
		v     any
		prec  int
		named bool // by the connection: its mapping or allowed fields
		from  string
	}
	cands := map[string]candidate{}
	sources := map[string][]string{} // target → every posted name offered for it
	offer := func(target string, v any, p int, named bool, from string) {
		sources[target] = append(sources[target], from)
		if old, ok := cands[target]; ok && old.prec >= p {
			return
		}
		cands[target] = candidate{v, p, named, from}
	}
	ownNorm := make(map[string]string, len(r.Mapping))
	targets := make(map[string]bool, len(r.Mapping))
	for k, v := range r.Mapping {
		ownNorm[normalize(k)] = v
		targets[v] = true
	}
	allowed := make(map[string]bool, len(r.Allowed))
	allowedNorm := make(map[string]string, len(r.Allowed))
	for _, a := range r.Allowed {
		allowed[a], allowedNorm[normalize(a)] = true, a
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two names claim one field
	ignored := map[string]bool{}
	var wholeName any
	wholeFrom := ""
	for _, k := range keys {
		v, ok := clean(fields[k])
		if !ok {
			continue
		}
		n := normalize(k)
		if t, ok := r.Mapping[k]; ok && apiNameShape.MatchString(t) {
			offer(t, v, fromConnection, true, k)
			continue
		}
		if t, ok := ownNorm[n]; ok && apiNameShape.MatchString(t) {
			offer(t, v, fromConnection, true, k)
			continue
		}
		if _, ok := set.byName[k]; ok {
			offer(k, v, fromAPIName, allowed[k], k)
			continue
		}
		if a, ok := allowedNorm[n]; ok {
			offer(a, v, fromAPIName, true, k)
			continue
		}
		if t, ok := spec.common[n]; ok {
			offer(t, v, fromCommon, false, k)
			continue
		}
		if n == "name" || n == "full_name" || n == "your_name" || n == "fullname" {
			if wholeName == nil || n == "name" {
				wholeName, wholeFrom = v, k
			}
			continue
		}
		if t, ok := set.norm[n]; ok {
			offer(t, v, fromCommon, false, k)
			continue
		}
		ignored[k] = true
	}
	if wholeName != nil {
		if spec.nameField != "" {
			offer(spec.nameField, wholeName, fromSplit, false, wholeFrom)
		} else if s, ok := wholeName.(string); ok {
			first, last := splitName(s)
			if first != "" {
				offer("First_Name", first, fromSplit, false, wholeFrom)
			}
			offer("Last_Name", last, fromSplit, false, wholeFrom)
		} else {
			ignored[wholeFrom] = true
		}
	}

	rec := zoho.Record{}
	problems := map[string]string{}
	for _, target := range FieldNames(cands) {
		c := cands[target]
		f, known := set.byName[target]
		switch {
		case systemField(target):
			ignored[c.from] = true
		case !known && c.named && set.builtIn:
			// The org's own list is unknown: a field the connection names
			// goes as it is, if it is one value; Zoho judges it.
			if v, ok := scalar(c.v); ok {
				rec[target] = v
			} else {
				problems[target] = "invalid"
			}
		case !known && c.named:
			problems[target] = "unknown_field"
		case !known,
			c.named && !settableWhenNamed(f),
			!c.named && !ordinary(f),
			len(allowed) > 0 && !allowed[target] && !targets[target]:
			ignored[c.from] = true
		default:
			if v, problem := coerce(c.v, f); problem != "" {
				problems[target] = problem
			} else {
				rec[target] = v
			}
		}
	}
	for _, name := range FieldNames(set.byName) {
		f := set.byName[name]
		if _, set := rec[name]; !set && f.SystemMandatory && settableWhenNamed(f) && problems[name] == "" {
			problems[name] = "required"
		}
	}
	// Names that lost to another name for the same field are ignored when
	// that field is not set either; a name used for any field is not.
	for target := range cands {
		if _, ok := rec[target]; !ok && problems[target] == "" {
			for _, from := range sources[target] {
				ignored[from] = true
			}
		}
	}
	for target, c := range cands {
		if _, ok := rec[target]; ok {
			delete(ignored, c.from)
		}
	}
	m := Mapped{Record: rec}
	if len(ignored) > 0 {
		m.Ignored = FieldNames(ignored)
	}
	if len(problems) > 0 {
		m.Problems = problems
	}
	return m
}

// clean trims strings and drops empty values.
func clean(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		x = strings.TrimSpace(x)
		return x, x != ""
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e, ok := clean(e); ok {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	}
	return v, true
}

// splitName splits "Ada King Lovelace" into "Ada King" and "Lovelace"; a
// single word is a last name.
func splitName(s string) (first, last string) {
	parts := strings.Fields(s)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return strings.Join(parts[:len(parts)-1], " "), parts[len(parts)-1]
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	return ok && local != "" && len(s) <= 254 && !strings.ContainsAny(domain, "@ \t") && !strings.ContainsAny(local, " \t") &&
		strings.Contains(strings.Trim(domain, "."), ".")
}

// FieldNames lists a map's keys, sorted, for messages and logs.
func FieldNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// canonical is a submission's content in one byte form, whatever its
// encoding: JSON with sorted keys, HTML characters unescaped. It derives
// the idempotency key when the client gives none.
func canonical(fields Fields) ([]byte, error) {
	return marshal(map[string]any(fields))
}

func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
