package zohosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// getRecord answers GET /crm/v8/{module}/{id}?fields=a,b: the record's id
// and the fields asked for (null when it has no value). v8 requires
// fields; an unknown id is 204 No Content, as for an empty list.
func (s *Server) getRecord(w http.ResponseWriter, org *orgRec, m module, id string, q url.Values) {
	names := strings.FieldsFunc(q.Get("fields"), func(r rune) bool { return r == ',' })
	if len(names) == 0 {
		writeJSON(w, http.StatusBadRequest, crmError("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param_name": "fields"}))
		return
	}
	rec := findRecord(org.records[m.name], "id", id)
	if rec == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out := map[string]any{"id": rec["id"]}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if _, ok := org.fieldLocked(m.name, n); !ok {
			writeJSON(w, http.StatusBadRequest, crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": n, "param_name": "fields"}))
			return
		}
		out[n] = deepCopy(rec[n])
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{out}})
}

// updateRecords answers PUT /crm/v8/{module}: each record names the
// existing record's id and the fields to change; the rest stays.
func (s *Server) updateRecords(w http.ResponseWriter, org *orgRec, m module, body []byte) {
	var b writeBody
	if err := json.Unmarshal(body, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, crmError("INVALID_DATA", "body is not a valid JSON", map[string]any{"error": err.Error()}))
		return
	}
	if !dataCountOK(w, len(b.Data)) {
		return
	}
	out := make([]any, 0, len(b.Data))
	ok := 0
	for i, raw := range b.Data {
		res := s.updateOne(org, m, i, raw)
		if res["status"] == "success" {
			ok++
		}
		out = append(out, res)
	}
	writeJSON(w, batchStatus(ok, len(b.Data), true), map[string]any{"data": out})
}

func (s *Server) updateOne(org *orgRec, m module, i int, raw json.RawMessage) map[string]any {
	jp := func(f string) string { return "$.data[" + strconv.Itoa(i) + "]." + f }
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil || rec == nil {
		return crmError("INVALID_DATA", "invalid data", map[string]any{"json_path": "$.data[" + strconv.Itoa(i) + "]", "expected_data_type": "jsonobject"})
	}
	id, _ := rec["id"].(string)
	if id == "" {
		return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "id", "json_path": jp("id")})
	}
	existing := findRecord(org.records[m.name], "id", id)
	if existing == nil {
		return crmError("INVALID_DATA", "the id given seems to be invalid", map[string]any{"api_name": "id", "json_path": jp("id")})
	}
	fields := org.fieldsLocked(m.name)
	for _, f := range fields {
		v, present := rec[f.APIName]
		switch {
		case present && !f.typeOK(v):
			return crmError("INVALID_DATA", "invalid data", map[string]any{"api_name": f.APIName, "json_path": jp(f.APIName), "expected_data_type": f.DataType})
		case present && f.Mandatory && (v == nil || v == ""):
			return crmError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": f.APIName, "json_path": jp(f.APIName)})
		case present && v != nil && v != "" && org.uniqueLocked(m.name, f):
			if other := findRecord(org.records[m.name], f.APIName, v); other != nil && other["id"] != id {
				return crmError("DUPLICATE_DATA", "duplicate data", s.duplicateDetails(org, m, f.APIName, jp(f.APIName), other))
			}
		}
	}
	now := s.now().UTC().Format(zohoTime)
	for k, v := range rec {
		if k != "id" && k != "Created_Time" && k != "Owner" {
			existing[k] = deepCopy(v)
		}
	}
	existing["Modified_Time"] = now
	owner := map[string]any{"id": org.crmUserID, "name": org.user.FullName, "email": org.user.Email}
	return map[string]any{
		"code": "SUCCESS", "status": "success", "message": "record updated",
		"details": map[string]any{"id": id, "Modified_Time": now, "Modified_By": owner, "Created_Time": existing["Created_Time"], "Created_By": owner},
	}
}
