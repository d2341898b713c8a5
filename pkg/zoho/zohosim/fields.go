package zohosim

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Field is a field of a CRM module, as the fields API describes it. Tests
// add custom ones to an org with AddField.
type Field struct {
	APIName string
	Label   string // default: APIName with spaces
	// DataType is Zoho's data_type, default text: text, textarea, email,
	// phone, website, picklist, multiselectpicklist, integer, bigint,
	// double, currency, percent, decimal, boolean, date, datetime, lookup,
	// ownerlookup, userlookup, multiselectlookup, layout, profileimage.
	DataType string
	Length   int
	// ReadOnly fields are listed read_only; Mandatory ones
	// system_mandatory (a record without a value is MANDATORY_NOT_FOUND);
	// Unique ones refuse a second record with the same value on insert.
	ReadOnly, Mandatory, Unique bool
	// LookupModule is the module a lookup points to.
	LookupModule string
	// PickList are a picklist's values.
	PickList []string
}

// fieldDef is a Field with what the simulator derives from it.
type fieldDef struct {
	Field
	id     string
	custom bool
}

// jsonTypes is the JSON shape of each data type's values.
var jsonTypes = map[string]string{
	"text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
	"picklist": "string", "date": "string", "datetime": "string", "autonumber": "string", "formula": "string",
	"integer": "integer", "bigint": "integer",
	"double": "double", "currency": "double", "percent": "double", "decimal": "double",
	"boolean": "boolean",
	"lookup":  "jsonobject", "ownerlookup": "jsonobject", "userlookup": "jsonobject", "layout": "jsonobject", "profileimage": "string",
	"multiselectpicklist": "jsonarray", "multiselectlookup": "jsonarray", "subform": "jsonarray",
}

func (f fieldDef) jsonType() string { return jsonTypes[f.DataType] }

// Shorthands for the tables below.
func text(name string, length int) Field {
	return Field{APIName: name, DataType: "text", Length: length}
}
func typed(name, dataType string) Field { return Field{APIName: name, DataType: dataType} }
func lookup(name, module string) Field {
	return Field{APIName: name, DataType: "lookup", LookupModule: module}
}
func picklist(name string, values ...string) Field {
	return Field{APIName: name, DataType: "picklist", PickList: values}
}
func readOnly(f Field) Field  { f.ReadOnly = true; return f }
func mandatory(f Field) Field { f.Mandatory = true; return f }
func unique(f Field) Field    { f.Unique = true; return f }

// systemFields are in every module, as in Zoho: the record's owner, its
// layout and tags, audit fields and a few `__s` system fields.
var systemFields = []Field{
	typed("Owner", "ownerlookup"),
	typed("Layout", "layout"),
	Field{APIName: "Tag", DataType: "multiselectlookup"},
	readOnly(typed("Created_By", "ownerlookup")),
	readOnly(typed("Modified_By", "ownerlookup")),
	readOnly(typed("Created_Time", "datetime")),
	readOnly(typed("Modified_Time", "datetime")),
	readOnly(typed("Last_Activity_Time", "datetime")),
	readOnly(typed("Locked__s", "boolean")),
	readOnly(typed("Change_Log_Time__s", "datetime")),
	typed("Record_Image", "profileimage"),
	readOnly(picklist("Unsubscribed_Mode", "Consent form", "Manual", "Unsubscribe link", "Zoho campaigns")),
	readOnly(typed("Unsubscribed_Time", "datetime")),
}

var leadSources = []string{"-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat"}

var salutations = []string{"-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."}

var industries = []string{"-None-", "ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)", "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry"}

// baseFields are every org's fields of a module before custom ones: the
// fields of Zoho's standard layouts, the system ones first.
var baseFields = map[string][]Field{
	"Leads": append([]Field{
		picklist("Salutation", salutations...),
		text("First_Name", 40),
		mandatory(text("Last_Name", 80)),
		readOnly(text("Full_Name", 120)),
		text("Company", 200),
		text("Designation", 100),
		unique(Field{APIName: "Email", DataType: "email", Length: 100}),
		Field{APIName: "Secondary_Email", DataType: "email", Length: 100},
		Field{APIName: "Phone", DataType: "phone", Length: 30},
		Field{APIName: "Mobile", DataType: "phone", Length: 30},
		text("Fax", 30),
		Field{APIName: "Website", DataType: "website", Length: 255},
		picklist("Lead_Source", leadSources...),
		picklist("Lead_Status", "-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead", "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"),
		picklist("Industry", industries...),
		typed("No_of_Employees", "integer"),
		typed("Annual_Revenue", "currency"),
		picklist("Rating", "-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"),
		typed("Email_Opt_Out", "boolean"),
		text("Skype_ID", 50),
		text("Twitter", 50),
		text("Street", 250), text("City", 100), text("State", 100), text("Zip_Code", 30), text("Country", 100),
		Field{APIName: "Description", DataType: "textarea", Length: 32000},
		readOnly(typed("Converted__s", "boolean")),
		readOnly(typed("Converted_Date_Time", "datetime")),
	}, systemFields...),
	"Contacts": append([]Field{
		picklist("Salutation", salutations...),
		text("First_Name", 40),
		mandatory(text("Last_Name", 80)),
		readOnly(text("Full_Name", 120)),
		lookup("Account_Name", "Accounts"),
		lookup("Vendor_Name", "Vendors"),
		lookup("Reporting_To", "Contacts"),
		text("Title", 100),
		text("Department", 100),
		unique(Field{APIName: "Email", DataType: "email", Length: 100}),
		Field{APIName: "Secondary_Email", DataType: "email", Length: 100},
		Field{APIName: "Phone", DataType: "phone", Length: 30},
		Field{APIName: "Mobile", DataType: "phone", Length: 30},
		Field{APIName: "Home_Phone", DataType: "phone", Length: 30},
		Field{APIName: "Other_Phone", DataType: "phone", Length: 30},
		text("Fax", 30),
		text("Assistant", 50),
		Field{APIName: "Asst_Phone", DataType: "phone", Length: 30},
		typed("Date_of_Birth", "date"),
		picklist("Lead_Source", leadSources...),
		typed("Email_Opt_Out", "boolean"),
		text("Skype_ID", 50),
		text("Twitter", 50),
		text("Mailing_Street", 250), text("Mailing_City", 100), text("Mailing_State", 100), text("Mailing_Zip", 30), text("Mailing_Country", 100),
		Field{APIName: "Description", DataType: "textarea", Length: 32000},
	}, systemFields...),
	"Accounts": append([]Field{
		mandatory(text("Account_Name", 200)),
		text("Account_Number", 40),
		text("Account_Site", 80),
		lookup("Parent_Account", "Accounts"),
		picklist("Account_Type", "-None-", "Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor", "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor"),
		picklist("Industry", industries...),
		typed("Annual_Revenue", "currency"),
		typed("Employees", "integer"),
		picklist("Ownership", "-None-", "Other", "Private", "Public", "Subsidiary", "Partnership", "Government", "Privately Held", "Public Company"),
		picklist("Rating", "-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"),
		Field{APIName: "Phone", DataType: "phone", Length: 30},
		text("Fax", 30),
		Field{APIName: "Website", DataType: "website", Length: 255},
		text("Ticker_Symbol", 30),
		typed("SIC_Code", "integer"),
		text("Billing_Street", 250), text("Billing_City", 100), text("Billing_State", 100), text("Billing_Code", 30), text("Billing_Country", 100),
		text("Shipping_Street", 250), text("Shipping_City", 100), text("Shipping_State", 100), text("Shipping_Code", 30), text("Shipping_Country", 100),
		Field{APIName: "Description", DataType: "textarea", Length: 32000},
	}, systemFields...),
	"Deals": append([]Field{
		mandatory(text("Deal_Name", 120)),
		typed("Amount", "currency"),
		typed("Closing_Date", "date"),
		lookup("Account_Name", "Accounts"),
		lookup("Contact_Name", "Contacts"),
		lookup("Campaign_Source", "Campaigns"),
		picklist("Stage", "Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Closed-Lost to Competition"),
		picklist("Type", "-None-", "Existing Business", "New Business"),
		typed("Probability", "integer"),
		readOnly(typed("Expected_Revenue", "currency")),
		text("Next_Step", 100),
		picklist("Lead_Source", leadSources...),
		Field{APIName: "Description", DataType: "textarea", Length: 32000},
	}, systemFields...),
}

// baseDefs are baseFields with ids, built once.
var baseDefs = func() map[string][]fieldDef {
	out := map[string][]fieldDef{}
	for mi, m := range modules {
		for i, f := range baseFields[m.name] {
			if f.Label == "" {
				f.Label = strings.ReplaceAll(strings.TrimSuffix(f.APIName, "__s"), "_", " ")
			}
			out[m.name] = append(out[m.name], fieldDef{Field: f, id: strconv.Itoa(4876876000000002000 + mi*100 + i)})
		}
	}
	return out
}()

// fieldsLocked are the org's fields of module: Zoho's, then the org's own.
func (o *orgRec) fieldsLocked(module string) []fieldDef {
	return append(append([]fieldDef(nil), baseDefs[module]...), o.custom[module]...)
}

func (o *orgRec) fieldLocked(module, apiName string) (fieldDef, bool) {
	for _, f := range o.fieldsLocked(module) {
		if f.APIName == apiName {
			return f, true
		}
	}
	return fieldDef{}, false
}

// uniqueLocked tells whether the org refuses duplicates of the field.
func (o *orgRec) uniqueLocked(module string, f fieldDef) bool {
	if u, ok := o.unique[module][f.APIName]; ok {
		return u
	}
	return f.Unique
}

// Errors of AddField and SetUnique.
var (
	ErrUnknownModule = errors.New("zohosim: unknown module")
	ErrFieldExists   = errors.New("zohosim: the module has a field of that name")
	ErrUnknownField  = errors.New("zohosim: the module has no such field")
	ErrBadField      = errors.New("zohosim: invalid field")
)

var apiNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// AddField adds a custom field to an org's module, as an administrator
// would in Zoho's settings; the fields API lists it (custom_field true)
// and writes are checked against its type.
func (s *Server) AddField(orgID, module string, f Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownOrg, orgID)
	}
	mod, ok := canonicalModule(module)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownModule, module)
	}
	if f.DataType == "" {
		f.DataType = "text"
	}
	switch {
	case !apiNamePattern.MatchString(f.APIName):
		return fmt.Errorf("%w: api name %q", ErrBadField, f.APIName)
	case jsonTypes[f.DataType] == "":
		return fmt.Errorf("%w: data type %q", ErrBadField, f.DataType)
	case (f.DataType == "lookup") != (f.LookupModule != ""):
		return fmt.Errorf("%w: a lookup, and only a lookup, names its module", ErrBadField)
	}
	if _, dup := org.fieldLocked(mod, f.APIName); dup {
		return fmt.Errorf("%w: %s.%s", ErrFieldExists, mod, f.APIName)
	}
	if f.Label == "" {
		f.Label = strings.ReplaceAll(f.APIName, "_", " ")
	}
	org.custom[mod] = append(org.custom[mod], fieldDef{Field: f, id: s.recordID(), custom: true})
	return nil
}

// SetUnique makes the org refuse (or accept) a second record with the
// same value of field on insert, as Zoho's "do not allow duplicate
// values" setting does. Leads' and Contacts' Email are unique unless
// turned off here.
func (s *Server) SetUnique(orgID, module, field string, unique bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownOrg, orgID)
	}
	mod, ok := canonicalModule(module)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownModule, module)
	}
	if _, ok := org.fieldLocked(mod, field); !ok {
		return fmt.Errorf("%w: %s.%s", ErrUnknownField, mod, field)
	}
	if org.unique[mod] == nil {
		org.unique[mod] = map[string]bool{}
	}
	org.unique[mod][field] = unique
	return nil
}

// fieldJSON is a field as GET /crm/v8/settings/fields lists it.
func fieldJSON(f fieldDef) map[string]any {
	m := map[string]any{
		"api_name": f.APIName, "id": f.id, "field_label": f.Label, "display_label": f.Label,
		"data_type": f.DataType, "json_type": f.jsonType(), "length": f.Length,
		"read_only": f.ReadOnly, "field_read_only": f.ReadOnly, "system_mandatory": f.Mandatory,
		"custom_field": f.custom, "visible": true, "unique": map[string]any{},
		"lookup": map[string]any{}, "pick_list_values": []any{},
	}
	if f.Unique {
		m["unique"] = map[string]any{"case_sensitive": false}
	}
	if f.LookupModule != "" {
		m["lookup"] = map[string]any{"display_label": f.Label, "api_name": f.APIName,
			"module": map[string]any{"api_name": f.LookupModule, "id": strconv.Itoa(4876876000000001000 + len(f.LookupModule))}}
	}
	for i, v := range f.PickList {
		m["pick_list_values"] = append(m["pick_list_values"].([]any), map[string]any{
			"display_value": v, "actual_value": v, "id": f.id + strconv.Itoa(i), "sequence_number": i + 1,
		})
	}
	return m
}

// typeOK tells whether v is a value of the field's type. A null clears
// any field.
func (f fieldDef) typeOK(v any) bool {
	if v == nil {
		return true
	}
	switch f.jsonType() {
	case "string":
		str, ok := v.(string)
		if ok && f.DataType == "email" && str != "" {
			return validEmail(str)
		}
		return ok
	case "integer":
		n, ok := number(v)
		return ok && n == math.Trunc(n)
	case "double":
		_, ok := number(v)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "jsonobject":
		_, ok := v.(map[string]any)
		return ok
	case "jsonarray":
		_, ok := v.([]any)
		return ok
	}
	return true
}

// number reads a JSON number, or a string holding one: whether Zoho
// accepts "100" for a currency field is not documented, and forms send
// nothing but strings, so the simulator takes both.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}
