package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrRecordNotFound: Zoho has no record of that id in the module (GET
// answered 204 No Content, or INVALID_DATA on the id).
var ErrRecordNotFound = errors.New("zoho: no such record")

// GetRecord reads the fields (API names; at least one: v8 requires the
// parameter) of one record: GET /crm/v8/{module}/{recordID}?fields=...
// Values are as Zoho sent them, numbers as json.Number; a field the record
// has no value for is nil or absent.
func (c *Client) GetRecord(ctx context.Context, module, recordID string, fields []string) (Record, error) {
	if err := checkModule(module); err != nil {
		return nil, err
	}
	if !recordIDPattern.MatchString(recordID) {
		return nil, fmt.Errorf("%w %q", ErrInvalidRecordID, recordID)
	}
	if len(fields) == 0 {
		return nil, errors.New("zoho: GetRecord: name at least one field")
	}
	for _, f := range fields {
		if !moduleName.MatchString(f) {
			return nil, fmt.Errorf("zoho: GetRecord: %q is not a field API name", f)
		}
	}
	a, err := c.do(ctx, http.MethodGet, "/crm/v8/"+module+"/"+recordID+"?fields="+url.QueryEscape(strings.Join(fields, ",")), nil)
	if err != nil {
		return nil, err
	}
	if a.status == http.StatusNoContent {
		return nil, ErrRecordNotFound
	}
	if a.status != http.StatusOK {
		e := a.error()
		if ae, ok := e.(*APIError); ok && strings.EqualFold(ae.Code, "INVALID_DATA") && detailString(ae.Details, "api_name") == "id" {
			return nil, fmt.Errorf("%w: %w", ErrRecordNotFound, e)
		}
		return nil, e
	}
	var r struct {
		Data []map[string]any `json:"data"`
	}
	if decodeNumbers(a.body, &r) != nil {
		return nil, a.error()
	}
	if len(r.Data) == 0 {
		return nil, ErrRecordNotFound
	}
	return Record(r.Data[0]), nil
}

// Update changes existing records of module, each naming its own "id":
// PUT /crm/v8/{module}. Only the fields a record holds are changed. As
// for Insert, the error is for the call and each record's fate is in its
// RecordResult; opts.Trigger applies (DuplicateCheckFields does not).
func (c *Client) Update(ctx context.Context, module string, recs []Record, opts *WriteOptions) ([]RecordResult, error) {
	if err := checkModule(module); err != nil {
		return nil, err
	}
	if err := checkCount(len(recs)); err != nil {
		return nil, err
	}
	for i, r := range recs {
		id, _ := r["id"].(string)
		if !recordIDPattern.MatchString(id) {
			return nil, fmt.Errorf("%w: record %d has no usable \"id\"", ErrInvalidRecordID, i)
		}
	}
	payload := map[string]any{"data": recs}
	if opts != nil && opts.Trigger != nil {
		payload["trigger"] = opts.Trigger
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("zoho: crm: encoding records: %w", err)
	}
	a, err := c.do(ctx, http.MethodPut, "/crm/v8/"+module, body)
	if err != nil {
		return nil, err
	}
	out, ok := parseRecordResults(a.body)
	if !ok {
		return nil, a.error()
	}
	if len(out) != len(recs) {
		return out, &APIError{StatusCode: a.status, Message: fmt.Sprintf("%d results for %d records", len(out), len(recs))}
	}
	return out, nil
}
