package zoho

import (
	"encoding/json"
	"testing"
)

// FuzzRecordResults: whatever a write's answer holds, parsing neither
// panics nor invents a record id. An id is only ever one Zoho sent, as a
// string or a number, in details.id or details.duplicate_record.id.
func FuzzRecordResults(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"code":"SUCCESS","details":{"id":"5725767000000524157"},"message":"record added","status":"success"}]}`,
		`{"data":[{"code":"DUPLICATE_DATA","details":{"api_name":"Email","id":"1"},"status":"error"}]}`,
		`{"data":[{"code":"DUPLICATE_DATA","details":{"api_name":"Email","duplicate_record":{"id":5725767000000500004,"module":{"api_name":"Leads"},"Owner":{"id":"9"}}},"status":"error"}]}`,
		`{"data":[{"code":"SUCCESS","action":"update","duplicate_field":"Email","details":{"id":"2"}},{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"}}]}`,
		`{"data":[{"details":{"duplicate_record":"x","id":null}}]}`,
		`{"data":[]}`, `{"data":null}`, `{"code":"TOO_MANY_REQUESTS"}`, `[]`, `{"data":[1,"a",null]}`, `{"data":[{"details":[]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, ok := parseRecordResults(body)
		if !ok {
			if res != nil {
				t.Fatalf("results %v without ok", res)
			}
			return
		}
		var raw struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := decodeNumbers(body, &raw); err != nil || len(raw.Data) != len(res) {
			t.Fatalf("%d results for %d records (%v)", len(res), len(raw.Data), err)
		}
		for i, r := range res {
			if r.ID == "" {
				continue
			}
			var d struct {
				Details struct {
					ID  json.RawMessage `json:"id"`
					Dup struct {
						ID json.RawMessage `json:"id"`
					} `json:"duplicate_record"`
				} `json:"details"`
			}
			decodeNumbers(raw.Data[i], &d)
			if !sent(d.Details.ID, r.ID) && !sent(d.Details.Dup.ID, r.ID) {
				t.Fatalf("result %d: id %q is in neither details.id %s nor duplicate_record.id %s", i, r.ID, d.Details.ID, d.Details.Dup.ID)
			}
		}
	})
}

// sent reports whether the raw JSON value is id, as a string or a number.
func sent(raw json.RawMessage, id string) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == id
	}
	var n json.Number
	return json.Unmarshal(raw, &n) == nil && n.String() == id
}
