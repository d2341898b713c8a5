package zohosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// module describes one CRM module the simulator knows.
type module struct {
	name      string
	mandatory []string
	// unique fields refuse a second record with the same value on insert.
	unique []string
	// dupCheck are the system duplicate-check fields of upsert.
	dupCheck []string
}

var modules = []module{
	{name: "Leads", mandatory: []string{"Last_Name"}, unique: []string{"Email"}, dupCheck: []string{"Email"}},
	{name: "Contacts", mandatory: []string{"Last_Name"}, unique: []string{"Email"}, dupCheck: []string{"Email"}},
	{name: "Accounts", mandatory: []string{"Account_Name"}, dupCheck: []string{"Account_Name"}},
	{name: "Deals", mandatory: []string{"Deal_Name"}, dupCheck: []string{"Deal_Name"}},
}

func moduleByName(name string) (module, bool) {
	for _, m := range modules {
		if strings.EqualFold(m.name, name) {
			return m, true
		}
	}
	return module{}, false
}

func canonicalModule(name string) (string, bool) {
	m, ok := moduleByName(name)
	return m.name, ok
}

// textFields must be strings (or null) when present.
var textFields = []string{"Last_Name", "First_Name", "Email", "Company", "Phone", "Mobile", "Lead_Source", "Description", "Deal_Name", "Stage", "Title", "Website"}

func crmError(code, message string, details map[string]any) map[string]any {
	if details == nil {
		details = map[string]any{}
	}
	return map[string]any{"code": code, "details": details, "message": message, "status": "error"}
}

const zohoTime = "2006-01-02T15:04:05-07:00"

// serveCRM answers for one DC's API host in one environment.
func (s *Server) serveCRM(w http.ResponseWriter, r *http.Request, dc zoho.DataCenter, env zoho.Environment, path string, body []byte) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || parts[0] != "crm" || parts[1] != "v8" {
		writeJSON(w, http.StatusNotFound, crmError("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CRMRequests[r.Method+" "+path]++

	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	a, known := s.access[strings.TrimSpace(tok)]
	if !ok || !known || !s.validLocked(a) {
		writeJSON(w, http.StatusUnauthorized, crmError("INVALID_TOKEN", "invalid oauth token", nil))
		return
	}
	org := a.refresh.org
	if org.user.dc.Location != dc.Location || org.Environment != env {
		writeJSON(w, http.StatusUnauthorized, crmError("DOMAIN_TOKEN_MISMATCH", "the given token does not belong to this domain", nil))
		return
	}
	rest := parts[2:]
	switch {
	case len(rest) == 1 && rest[0] == "org":
		if !methodIs(w, r, http.MethodGet) || !s.scopeOK(w, a, "ZohoCRM.org.READ", "ZohoCRM.org.ALL") {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"org": []any{orgJSON(org)}})
	case len(rest) == 1 && rest[0] == "users":
		if !methodIs(w, r, http.MethodGet) || !s.scopeOK(w, a, "ZohoCRM.users.READ", "ZohoCRM.users.ALL") {
			return
		}
		u := org.user
		first, last, _ := strings.Cut(u.FullName, " ")
		writeJSON(w, http.StatusOK, map[string]any{
			"users": []any{map[string]any{
				"id": org.crmUserID, "zuid": u.ID, "email": u.Email, "full_name": u.FullName,
				"first_name": first, "last_name": last, "status": "active", "confirm": true,
				"role":    map[string]any{"name": "CEO", "id": org.zgid + "026"},
				"profile": map[string]any{"name": "Administrator", "id": org.zgid + "029"},
			}},
			"info": map[string]any{"per_page": 200, "count": 1, "page": 1, "more_records": false},
		})
	case len(rest) <= 2:
		m, ok := moduleByName(rest[0])
		if !ok {
			writeJSON(w, http.StatusBadRequest, crmError("INVALID_MODULE", "the module name given seems to be invalid", map[string]any{"resource_path_index": 0}))
			return
		}
		switch {
		case len(rest) == 1 && r.Method == http.MethodGet:
			if s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL", "ZohoCRM.modules."+m.name+".READ") {
				s.listRecords(w, org, m)
			}
		case len(rest) == 1 && r.Method == http.MethodPost:
			if s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL", "ZohoCRM.modules."+m.name+".CREATE") {
				s.write(w, org, m, body, false)
			}
		case len(rest) == 2 && rest[1] == "upsert" && r.Method == http.MethodPost:
			if s.scopeAll(a, "ZohoCRM.modules."+m.name+".CREATE", "ZohoCRM.modules."+m.name+".UPDATE") ||
				s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL") {
				s.write(w, org, m, body, true)
			}
		default:
			writeJSON(w, http.StatusNotFound, crmError("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil))
		}
	default:
		writeJSON(w, http.StatusNotFound, crmError("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil))
	}
}

func methodIs(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m {
		return true
	}
	w.Header().Set("Allow", m)
	writeJSON(w, http.StatusMethodNotAllowed, crmError("INVALID_REQUEST_METHOD", "The http request method type is not a valid one", nil))
	return false
}

func (a *accessRec) hasScope(scope string) bool {
	return slices.Contains(a.refresh.scopes, strings.ToLower(scope))
}

// scopeOK answers OAUTH_SCOPE_MISMATCH unless the token has one of the
// scopes. ZohoCRM.ALL grants everything, as in Zoho.
func (s *Server) scopeOK(w http.ResponseWriter, a *accessRec, anyOf ...string) bool {
	if a.hasScope("ZohoCRM.ALL") {
		return true
	}
	for _, sc := range anyOf {
		if a.hasScope(sc) {
			return true
		}
	}
	writeJSON(w, http.StatusUnauthorized, crmError("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", nil))
	return false
}

func (s *Server) scopeAll(a *accessRec, all ...string) bool {
	for _, sc := range all {
		if !a.hasScope(sc) {
			return false
		}
	}
	return true
}

func orgJSON(o *orgRec) map[string]any {
	return map[string]any{
		"id":            o.ID,
		"zgid":          o.zgid,
		"domain_name":   "org" + o.zgid,
		"company_name":  o.Name,
		"type":          titles[o.Environment],
		"primary_email": o.user.Email,
		"primary_zuid":  o.user.ID,
		"country_code":  strings.ToUpper(o.user.dc.Location),
		"license_details": map[string]any{
			"paid": !strings.EqualFold(o.Edition, "Free"), "paid_type": strings.ToLower(o.Edition), "users_license_purchased": 10,
		},
	}
}

func (s *Server) listRecords(w http.ResponseWriter, org *orgRec, m module) {
	recs := org.records[m.name]
	if len(recs) == 0 {
		w.WriteHeader(http.StatusNoContent) // Zoho answers an empty module with 204 and no body
		return
	}
	data := make([]any, 0, len(recs))
	for _, rec := range recs {
		data = append(data, deepCopy(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data,
		"info": map[string]any{"per_page": 200, "count": len(data), "page": 1, "more_records": false}})
}

type writeBody struct {
	Data                 []json.RawMessage `json:"data"`
	Trigger              []string          `json:"trigger"`
	DuplicateCheckFields []string          `json:"duplicate_check_fields"`
}

// write inserts or upserts the body's records, one answer per record.
func (s *Server) write(w http.ResponseWriter, org *orgRec, m module, body []byte, upsert bool) {
	var b writeBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, crmError("INVALID_DATA", "body is not a valid JSON", map[string]any{"error": err.Error()}))
		return
	}
	switch {
	case len(b.Data) == 0:
		writeJSON(w, http.StatusBadRequest, crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "data", "json_path": "$.data"}))
		return
	case len(b.Data) > 100:
		writeJSON(w, http.StatusBadRequest, crmError("LIMIT_EXCEEDED", "Limit exceeded", map[string]any{"limit": 100, "api_name": "data", "json_path": "$.data"}))
		return
	}
	dupFields := b.DuplicateCheckFields
	if len(dupFields) == 0 {
		dupFields = m.dupCheck
	}
	out := make([]any, 0, len(b.Data))
	ok, updates := 0, 0
	for i, raw := range b.Data {
		res := s.writeOne(org, m, i, raw, upsert, dupFields)
		if res["status"] == "success" {
			ok++
			if res["action"] == "update" {
				updates++
			}
		}
		out = append(out, res)
	}
	status := http.StatusCreated
	switch {
	case ok == 0:
		status = http.StatusBadRequest
	case ok < len(b.Data):
		status = 207 // Multi-Status
	case upsert && updates == ok:
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"data": out})
}

func (s *Server) writeOne(org *orgRec, m module, i int, raw json.RawMessage, upsert bool, dupFields []string) map[string]any {
	jp := func(f string) string { return "$.data[" + strconv.Itoa(i) + "]." + f }
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil || rec == nil {
		return crmError("INVALID_DATA", "invalid data", map[string]any{"json_path": "$.data[" + strconv.Itoa(i) + "]", "expected_data_type": "jsonobject"})
	}
	for _, f := range textFields {
		v, present := rec[f]
		if !present || v == nil {
			continue
		}
		str, isStr := v.(string)
		if !isStr || (f == "Email" && str != "" && !validEmail(str)) {
			want := "text"
			if f == "Email" {
				want = "email"
			}
			return crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": f, "json_path": jp(f), "expected_data_type": want})
		}
	}
	now := s.now().UTC().Format(zohoTime)
	owner := map[string]any{"id": org.crmUserID, "name": org.user.FullName, "email": org.user.Email}

	if upsert {
		for _, f := range dupFields {
			v, present := rec[f]
			if !present || v == nil || v == "" {
				continue
			}
			if existing := findRecord(org.records[m.name], f, v); existing != nil {
				for _, mf := range m.mandatory {
					if v, present := rec[mf]; present && (v == nil || v == "") {
						return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": mf, "json_path": jp(mf)})
					}
				}
				for k, v := range rec {
					if k != "id" && k != "Created_Time" && k != "Owner" {
						existing[k] = v
					}
				}
				existing["Modified_Time"] = now
				return map[string]any{
					"code": "SUCCESS", "status": "success", "message": "record updated",
					"action": "update", "duplicate_field": f,
					"details": map[string]any{"id": existing["id"], "Modified_Time": now, "Modified_By": owner,
						"Created_Time": existing["Created_Time"], "Created_By": owner},
				}
			}
		}
	}
	for _, f := range m.mandatory {
		if v, _ := rec[f].(string); strings.TrimSpace(v) == "" {
			return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": f, "json_path": jp(f)})
		}
	}
	if !upsert {
		for _, f := range m.unique {
			v, present := rec[f]
			if !present || v == nil || v == "" {
				continue
			}
			if existing := findRecord(org.records[m.name], f, v); existing != nil {
				return crmError("DUPLICATE_DATA", "duplicate data", map[string]any{
					"api_name": f, "json_path": jp(f), "id": existing["id"],
					"duplicate_record": map[string]any{"id": existing["id"], "module": map[string]any{"api_name": m.name}, "Owner": owner},
				})
			}
		}
	}
	id := s.recordID()
	stored := deepCopy(rec).(map[string]any)
	stored["id"] = id
	stored["Created_Time"] = now
	stored["Modified_Time"] = now
	stored["Owner"] = owner
	org.records[m.name] = append(org.records[m.name], stored)
	res := map[string]any{
		"code": "SUCCESS", "status": "success", "message": "record added",
		"details": map[string]any{"id": id, "Modified_Time": now, "Modified_By": owner, "Created_Time": now, "Created_By": owner},
	}
	if upsert {
		res["action"] = "insert"
		res["duplicate_field"] = nil
	}
	return res
}

// findRecord finds the first record whose field equals v (strings compare
// case-insensitively, as Zoho's duplicate check does for Email).
func findRecord(recs []map[string]any, field string, v any) map[string]any {
	for _, r := range recs {
		x, ok := r[field]
		if !ok {
			continue
		}
		if xs, ok := x.(string); ok {
			if vs, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(xs), strings.TrimSpace(vs)) {
				return r
			}
			continue
		}
		if xb, err := json.Marshal(x); err == nil {
			if vb, err := json.Marshal(v); err == nil && bytes.Equal(xb, vb) {
				return r
			}
		}
	}
	return nil
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	return ok && local != "" && !strings.ContainsAny(domain, "@ ") && strings.Contains(strings.Trim(domain, "."), ".")
}
