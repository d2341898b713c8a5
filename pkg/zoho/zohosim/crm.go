package zohosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// module describes one CRM module the simulator knows. Its fields,
// mandatory and unique ones included, are in fields.go.
type module struct {
	name string
	// dupCheck are the system duplicate-check fields of upsert.
	dupCheck []string
}

var modules = []module{
	{name: "Leads", dupCheck: []string{"Email"}},
	{name: "Contacts", dupCheck: []string{"Email"}},
	{name: "Accounts", dupCheck: []string{"Account_Name"}},
	{name: "Deals", dupCheck: []string{"Deal_Name"}},
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

// moduleID is a module's id, as lookups and duplicate_record name it.
func moduleID(name string) string {
	for i, m := range modules {
		if m.name == name {
			return strconv.Itoa(4876876000000002175 + i)
		}
	}
	return ""
}

func crmError(code, message string, details map[string]any) map[string]any {
	if details == nil {
		details = map[string]any{}
	}
	return map[string]any{"code": code, "details": details, "message": message, "status": "error"}
}

const zohoTime = "2006-01-02T15:04:05-07:00"

var invalidURL = crmError("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil)

// serveCRM answers for one DC's API host in one environment. A call with a
// valid token for this host is held to its org's limits; once let in, it
// stays in flight for inFlight plus Options.CRMLatency before it is
// handled. It returns true when the client went away meanwhile.
func (s *Server) serveCRM(w http.ResponseWriter, r *http.Request, dc zoho.DataCenter, env zoho.Environment, path string, body []byte, inFlight time.Duration) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || parts[0] != "crm" || parts[1] != "v8" {
		if !sleep(r, inFlight) {
			return true
		}
		writeJSON(w, http.StatusNotFound, invalidURL)
		return false
	}
	rest := parts[2:]
	s.mu.Lock()
	s.stats.CRMRequests[r.Method+" "+path]++
	a, refusal := s.authenticateLocked(r, dc, env)
	if refusal != nil {
		s.mu.Unlock()
		if !sleep(r, inFlight) {
			return true
		}
		writeJSON(w, http.StatusUnauthorized, refusal)
		return false
	}
	adm, why := s.admitLocked(a.refresh.org, a.refresh.client, r.Method+" "+strings.Join(rest, "/"), writeRecords(r.Method, rest, body))
	s.mu.Unlock()
	if adm == nil {
		writeJSON(w, http.StatusTooManyRequests, crmError("TOO_MANY_REQUESTS", why, nil))
		return false
	}
	stayed := sleep(r, inFlight+s.opts.CRMLatency)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.releaseLocked(adm)
	if !stayed {
		return true
	}
	s.handleCRMLocked(w, r, a, rest, body)
	return false
}

// authenticateLocked returns the access token of the request, or the
// error body of a 401.
func (s *Server) authenticateLocked(r *http.Request, dc zoho.DataCenter, env zoho.Environment) (*accessRec, map[string]any) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
	a, known := s.access[strings.TrimSpace(tok)]
	if !ok || !known || !s.validLocked(a) {
		return nil, crmError(s.opts.InvalidTokenCode, "invalid oauth token", nil)
	}
	org := a.refresh.org
	if org.user.dc.Location != dc.Location || org.Environment != env {
		return nil, crmError("DOMAIN_TOKEN_MISMATCH", "the given token does not belong to this domain", nil)
	}
	return a, nil
}

// writeRecords is the number of records a write carries; 0 for other calls.
func writeRecords(method string, rest []string, body []byte) int {
	if method != http.MethodPost {
		return 0
	}
	switch {
	case len(rest) == 1, len(rest) == 2 && rest[1] == "upsert", len(rest) == 3 && rest[2] == "Notes":
		var b struct {
			Data []json.RawMessage `json:"data"`
		}
		json.Unmarshal(body, &b)
		return len(b.Data)
	}
	return 0
}

func (s *Server) handleCRMLocked(w http.ResponseWriter, r *http.Request, a *accessRec, rest []string, body []byte) {
	org := a.refresh.org
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
	case len(rest) == 2 && rest[0] == "settings" && rest[1] == "fields":
		if methodIs(w, r, http.MethodGet) && s.scopeOK(w, a, "ZohoCRM.settings.ALL", "ZohoCRM.settings.READ", "ZohoCRM.settings.fields.ALL", "ZohoCRM.settings.fields.READ") {
			s.listFields(w, org, r.URL.Query())
		}
	case rest[0] == "settings":
		writeJSON(w, http.StatusNotFound, invalidURL)
	case len(rest) <= 3:
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
		case len(rest) == 1 && r.Method == http.MethodPut:
			if s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL", "ZohoCRM.modules."+m.name+".UPDATE") {
				s.updateRecords(w, org, m, body)
			}
		case len(rest) == 2 && r.Method == http.MethodGet:
			if s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL", "ZohoCRM.modules."+m.name+".READ") {
				s.getRecord(w, org, m, rest[1], r.URL.Query())
			}
		case len(rest) == 2 && rest[1] == "upsert" && r.Method == http.MethodPost:
			if s.scopeAll(a, "ZohoCRM.modules."+m.name+".CREATE", "ZohoCRM.modules."+m.name+".UPDATE") ||
				s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules."+m.name+".ALL") {
				s.write(w, org, m, body, true)
			}
		case len(rest) == 3 && rest[2] == "Notes" && r.Method == http.MethodPost:
			if s.scopeOK(w, a, "ZohoCRM.modules.ALL", "ZohoCRM.modules.notes.ALL", "ZohoCRM.modules.notes.CREATE") {
				s.addNotes(w, org, m, rest[1], body)
			}
		default:
			writeJSON(w, http.StatusNotFound, invalidURL)
		}
	default:
		writeJSON(w, http.StatusNotFound, invalidURL)
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
			"paid": !strings.EqualFold(o.Edition, "Free"), "paid_type": strings.ToLower(o.Edition), "users_license_purchased": o.Users,
			"paid_expiry": nil, "trial_type": nil, "trial_expiry": nil,
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
	if !dataCountOK(w, len(b.Data)) {
		return
	}
	out := make([]any, 0, len(b.Data))
	ok, updates := 0, 0
	// before is the module's records as the call found them: with
	// BatchBlindDuplicates, an insert's duplicate check sees only those.
	before := len(org.records[m.name])
	for i, raw := range b.Data {
		var res map[string]any
		if upsert {
			dup := b.DuplicateCheckFields
			if len(dup) == 0 {
				dup = m.dupCheck
			}
			res = s.writeOne(org, m, i, raw, dup, nil, len(org.records[m.name]))
		} else {
			seen := len(org.records[m.name])
			if s.opts.BatchBlindDuplicates {
				seen = before
			}
			res = s.writeOne(org, m, i, raw, nil, b.DuplicateCheckFields, seen)
		}
		if res["status"] == "success" {
			ok++
			if res["action"] == "update" {
				updates++
			}
		}
		out = append(out, res)
	}
	writeJSON(w, batchStatus(ok, len(b.Data), upsert && updates == ok), map[string]any{"data": out})
}

// dataCountOK answers the call's error for no records or too many.
func dataCountOK(w http.ResponseWriter, n int) bool {
	switch {
	case n == 0:
		writeJSON(w, http.StatusBadRequest, crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "data", "json_path": "$.data"}))
		return false
	case n > 100:
		writeJSON(w, http.StatusBadRequest, crmError("LIMIT_EXCEEDED", "Limit exceeded", map[string]any{"limit": 100, "api_name": "data", "json_path": "$.data"}))
		return false
	}
	return true
}

// batchStatus: 201 when every record succeeded (200 when all were
// updates), 207 when mixed, 400 when none did.
func batchStatus(ok, n int, allUpdates bool) int {
	switch {
	case ok == 0:
		return http.StatusBadRequest
	case ok < n:
		return 207 // Multi-Status
	case allUpdates:
		return http.StatusOK
	}
	return http.StatusCreated
}

// writeOne writes one record. An upsert (upsertOn set) updates the first
// record matching on one of those fields; an insert refuses a duplicate
// on insertCheck (the call's duplicate_check_fields) or on a unique field,
// among the module's first seen records.
func (s *Server) writeOne(org *orgRec, m module, i int, raw json.RawMessage, upsertOn, insertCheck []string, seen int) map[string]any {
	jp := func(f string) string { return "$.data[" + strconv.Itoa(i) + "]." + f }
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil || rec == nil {
		return crmError("INVALID_DATA", "invalid data", map[string]any{"json_path": "$.data[" + strconv.Itoa(i) + "]", "expected_data_type": "jsonobject"})
	}
	fields := org.fieldsLocked(m.name)
	for _, f := range fields {
		if v, present := rec[f.APIName]; present && !f.typeOK(v) {
			return crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": f.APIName, "json_path": jp(f.APIName), "expected_data_type": f.DataType})
		}
	}
	now := s.now().UTC().Format(zohoTime)
	owner := map[string]any{"id": org.crmUserID, "name": org.user.FullName, "email": org.user.Email}

	for _, f := range upsertOn {
		v, present := rec[f]
		if !present || v == nil || v == "" {
			continue
		}
		existing := findRecord(org.records[m.name], f, v)
		if existing == nil {
			continue
		}
		for _, mf := range fields {
			if v, present := rec[mf.APIName]; mf.Mandatory && present && (v == nil || v == "") {
				return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": mf.APIName, "json_path": jp(mf.APIName)})
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
	for _, f := range fields {
		if v, _ := rec[f.APIName].(string); f.Mandatory && strings.TrimSpace(v) == "" {
			return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": f.APIName, "json_path": jp(f.APIName)})
		}
	}
	if upsertOn == nil {
		check := append([]string(nil), insertCheck...)
		for _, f := range fields {
			if org.uniqueLocked(m.name, f) {
				check = append(check, f.APIName)
			}
		}
		for _, f := range check {
			v, present := rec[f]
			if !present || v == nil || v == "" {
				continue
			}
			if existing := findRecord(org.records[m.name][:seen], f, v); existing != nil {
				return crmError("DUPLICATE_DATA", "duplicate data", s.duplicateDetails(org, m, f, jp(f), existing))
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
	if upsertOn != nil {
		res["action"] = "insert"
		res["duplicate_field"] = nil
	}
	return res
}

// duplicateDetails names the existing record of a DUPLICATE_DATA in the
// shape Options.DuplicateDetails asks for.
func (s *Server) duplicateDetails(org *orgRec, m module, field, jsonPath string, existing map[string]any) map[string]any {
	if s.opts.DuplicateDetails == DuplicateIDDetails {
		return map[string]any{"api_name": field, "json_path": jsonPath, "id": existing["id"]}
	}
	owner := map[string]any{"id": org.crmUserID, "name": org.user.FullName, "zuid": org.user.ID}
	if o, ok := existing["Owner"].(map[string]any); ok {
		owner["id"], owner["name"] = o["id"], o["name"]
	}
	return map[string]any{"api_name": field, "json_path": jsonPath, "more_records": false,
		"duplicate_record": map[string]any{"id": existing["id"], "module": map[string]any{"api_name": m.name, "id": moduleID(m.name)}, "Owner": owner}}
}

// Note is a note attached to a record, as stored by the simulator.
type Note struct {
	ID                     string
	ParentModule, ParentID string
	Title, Content         string
	CreatedTime            time.Time
}

// Notes returns the notes added to the org's records, in order.
func (s *Server) Notes(orgID string) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	if org, ok := s.orgs[orgID]; ok {
		return append([]Note(nil), org.notes...)
	}
	return nil
}

// addNotes attaches the body's notes to the record parentID of m.
func (s *Server) addNotes(w http.ResponseWriter, org *orgRec, m module, parentID string, body []byte) {
	var b struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, crmError("INVALID_DATA", "body is not a valid JSON", map[string]any{"error": err.Error()}))
		return
	}
	if !dataCountOK(w, len(b.Data)) {
		return
	}
	parent := findRecord(org.records[m.name], "id", parentID)
	now := s.now()
	owner := map[string]any{"id": org.crmUserID, "name": org.user.FullName, "email": org.user.Email}
	out := make([]any, 0, len(b.Data))
	ok := 0
	for i, raw := range b.Data {
		jp := func(f string) string { return "$.data[" + strconv.Itoa(i) + "]." + f }
		var n map[string]any
		if err := json.Unmarshal(raw, &n); err != nil || n == nil {
			out = append(out, crmError("INVALID_DATA", "invalid data", map[string]any{"json_path": "$.data[" + strconv.Itoa(i) + "]", "expected_data_type": "jsonobject"}))
			continue
		}
		title, titleOK := n["Note_Title"].(string)
		content, contentOK := n["Note_Content"].(string)
		switch {
		case parent == nil:
			out = append(out, crmError("INVALID_DATA", "the related id given seems to be invalid", map[string]any{"api_name": "Parent_Id", "json_path": jp("Parent_Id")}))
		case n["Note_Title"] != nil && !titleOK:
			out = append(out, crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": "Note_Title", "json_path": jp("Note_Title"), "expected_data_type": "text"}))
		case n["Note_Content"] != nil && !contentOK:
			out = append(out, crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": "Note_Content", "json_path": jp("Note_Content"), "expected_data_type": "textarea"}))
		case strings.TrimSpace(content) == "":
			out = append(out, crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "Note_Content", "json_path": jp("Note_Content")}))
		default:
			id := s.recordID()
			org.notes = append(org.notes, Note{ID: id, ParentModule: m.name, ParentID: parentID, Title: title, Content: content, CreatedTime: now})
			t := now.UTC().Format(zohoTime)
			out = append(out, map[string]any{"code": "SUCCESS", "status": "success", "message": "record added",
				"details": map[string]any{"id": id, "Created_Time": t, "Modified_Time": t, "Created_By": owner, "Modified_By": owner}})
			ok++
		}
	}
	writeJSON(w, batchStatus(ok, len(b.Data), false), map[string]any{"data": out})
}

// listFields answers GET /crm/v8/settings/fields?module=...
func (s *Server) listFields(w http.ResponseWriter, org *orgRec, q url.Values) {
	name := q.Get("module")
	if name == "" {
		writeJSON(w, http.StatusBadRequest, crmError("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param_name": "module"}))
		return
	}
	m, ok := moduleByName(name)
	if !ok {
		writeJSON(w, http.StatusBadRequest, crmError("INVALID_MODULE", "the module name given seems to be invalid", map[string]any{"param_name": "module"}))
		return
	}
	fields := org.fieldsLocked(m.name)
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		fj := fieldJSON(f)
		if org.uniqueLocked(m.name, f) != f.Unique {
			fj["unique"] = map[string]any{}
			if !f.Unique {
				fj["unique"] = map[string]any{"case_sensitive": false}
			}
		}
		out = append(out, fj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
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
