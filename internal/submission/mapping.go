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
// fields (API names), the names forms commonly use for them, and the
// fields Zoho requires.
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
// custom): it starts with a capital letter. Such names pass through.
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

// Mapped is a submission turned into a CRM record.
type Mapped struct {
	Record zoho.Record
	// Ignored are posted field names that map to no CRM field (submit
	// buttons, captcha answers...). Names only: they may be logged.
	Ignored []string
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

// Map turns posted fields into a record of module: the connection's own
// mapping first (posted name → API name), then API names as they are,
// then the common names, then any other API-name-shaped field (custom
// fields) as it is. Empty values are dropped, so that an optional field a
// form left blank does not blank the CRM's value on an update.
func Map(module string, fields Fields, own map[string]string) Mapped {
	spec := moduleFields[module]
	rec := zoho.Record{}
	prec := map[string]int{}
	set := func(field string, v any, p int) {
		if old, ok := prec[field]; ok && old >= p {
			return
		}
		rec[field], prec[field] = v, p
	}
	ownNorm := make(map[string]string, len(own))
	for k, v := range own {
		ownNorm[normalize(k)] = v
	}
	known := make(map[string]bool, len(spec.fields))
	for _, f := range spec.fields {
		known[f] = true
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two names claim one field
	var ignored []string
	var wholeName any
	for _, k := range keys {
		v, ok := clean(fields[k])
		if !ok {
			continue
		}
		n := normalize(k)
		if target, ok := own[k]; ok && apiNameShape.MatchString(target) {
			set(target, v, fromConnection)
			continue
		}
		if target, ok := ownNorm[n]; ok && apiNameShape.MatchString(target) {
			set(target, v, fromConnection)
			continue
		}
		if known[k] {
			set(k, v, fromAPIName)
			continue
		}
		if target, ok := spec.common[n]; ok {
			set(target, v, fromCommon)
			continue
		}
		if n == "name" || n == "full_name" || n == "your_name" || n == "fullname" {
			if wholeName == nil || n == "name" {
				wholeName = v
			}
			continue
		}
		if apiNameShape.MatchString(k) {
			set(k, v, fromAPIName)
			continue
		}
		ignored = append(ignored, k)
	}
	if wholeName != nil {
		if spec.nameField != "" {
			set(spec.nameField, wholeName, fromSplit)
		} else if s, ok := wholeName.(string); ok {
			first, last := splitName(s)
			if first != "" {
				set("First_Name", first, fromSplit)
			}
			set("Last_Name", last, fromSplit)
		}
	}
	return Mapped{Record: rec, Ignored: ignored}
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

// Validate checks what Zoho would refuse before it is asked: required
// fields, and the shape of an Email. It returns field → problem
// ("required", "invalid"), or nil.
func Validate(module string, rec zoho.Record) map[string]string {
	spec := moduleFields[module]
	problems := map[string]string{}
	for _, f := range spec.required {
		s, ok := rec[f].(string)
		if !ok || strings.TrimSpace(s) == "" {
			if _, present := rec[f]; present && !ok {
				problems[f] = "invalid"
			} else {
				problems[f] = "required"
			}
		}
	}
	for _, f := range []string{"Email", "Secondary_Email"} {
		if v, present := rec[f]; present {
			if s, ok := v.(string); !ok || !validEmail(s) {
				problems[f] = "invalid"
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return problems
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
