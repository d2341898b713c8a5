package submission

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Errors of reading a request. The handler maps each to its status.
var (
	ErrBodyTooLarge       = errors.New("the body is over the size limit")
	ErrUnsupportedMedia   = errors.New("the content type is not application/json or application/x-www-form-urlencoded")
	ErrMalformedBody      = errors.New("the body is malformed")
	ErrUnknownModule      = errors.New("the module is not one submissions may go to")
	ErrBadIdempotencyKey  = errors.New("the Idempotency-Key header is not 1 to 255 visible ASCII characters")
	errMalformedSignature = errors.New("the signature header is malformed")
)

// Fields is a parsed submission: field name → value as posted. Values are
// strings, json.Number, bools, nil, or (JSON arrays and objects, repeated
// form fields) []any and map[string]any.
type Fields map[string]any

// maxFields bounds how many fields a submission may have; Zoho modules have
// a few hundred at most.
const maxFields = 500

// DecodeBody returns the bytes the client sent: API Gateway delivers form
// bodies base64-encoded. Both the encoded and the decoded length are
// checked against max, the encoded one first so that a huge body is never
// decoded.
func DecodeBody(body string, isBase64 bool, max int) ([]byte, error) {
	if !isBase64 {
		if len(body) > max {
			return nil, ErrBodyTooLarge
		}
		return []byte(body), nil
	}
	if len(body) > base64.StdEncoding.EncodedLen(max)+4 {
		return nil, ErrBodyTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: the body is marked base64 but is not", ErrMalformedBody)
	}
	if len(b) > max {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// MediaType is a body's kind.
type MediaType int

// The media types a submission may have.
const (
	MediaJSON MediaType = iota + 1
	MediaForm
)

// ParseContentType accepts application/json and
// application/x-www-form-urlencoded, with a UTF-8 (or ASCII) charset or
// none.
func ParseContentType(ct string) (MediaType, error) {
	if strings.TrimSpace(ct) == "" {
		return 0, ErrUnsupportedMedia
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, ErrUnsupportedMedia
	}
	for k, v := range params {
		if k != "charset" {
			continue
		}
		switch strings.ToLower(v) {
		case "utf-8", "utf8", "us-ascii":
		default:
			return 0, fmt.Errorf("%w (charset %q)", ErrUnsupportedMedia, v)
		}
	}
	switch mt {
	case "application/json":
		return MediaJSON, nil
	case "application/x-www-form-urlencoded":
		return MediaForm, nil
	}
	return 0, ErrUnsupportedMedia
}

// ParseBody reads a JSON object or a URL-encoded form.
func ParseBody(mt MediaType, body []byte) (Fields, error) {
	switch mt {
	case MediaJSON:
		return ParseJSON(body)
	case MediaForm:
		return ParseForm(body)
	}
	return nil, ErrUnsupportedMedia
}

// ParseJSON reads one JSON object of field → value, and nothing after it.
func ParseJSON(body []byte) (Fields, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformedBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON", ErrMalformedBody)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformedBody)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the JSON body must be an object of field names to values", ErrMalformedBody)
	}
	if len(obj) > maxFields {
		return nil, fmt.Errorf("%w: more than %d fields", ErrMalformedBody, maxFields)
	}
	for k := range obj {
		if err := checkFieldName(k); err != nil {
			return nil, err
		}
	}
	return Fields(obj), nil
}

// ParseForm reads an application/x-www-form-urlencoded body. A field given
// more than once becomes a list (a multi-select).
func ParseForm(body []byte) (Fields, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformedBody)
	}
	vals, err := url.ParseQuery(strings.TrimSuffix(string(body), "&"))
	if err != nil {
		return nil, fmt.Errorf("%w: not valid URL encoding", ErrMalformedBody)
	}
	if len(vals) > maxFields {
		return nil, fmt.Errorf("%w: more than %d fields", ErrMalformedBody, maxFields)
	}
	out := make(Fields, len(vals))
	for k, vs := range vals {
		if err := checkFieldName(k); err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("%w: a value is not UTF-8", ErrMalformedBody)
			}
		}
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[k] = list
	}
	return out, nil
}

func checkFieldName(k string) error {
	if k == "" || len(k) > 200 || !utf8.ValidString(k) {
		return fmt.Errorf("%w: a field name is empty, too long or not UTF-8", ErrMalformedBody)
	}
	return nil
}

// Modules are the CRM modules submissions may go to. Adding one is one
// entry in moduleFields (mapping.go).
func Modules() []string {
	out := make([]string, 0, len(moduleFields))
	for m := range moduleFields {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// ParseModule reads the module query parameter (default Leads); the name
// is compared case-insensitively and returned as Zoho spells it.
func ParseModule(rawQuery string) (string, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: the query is not valid URL encoding", ErrUnknownModule)
	}
	vs := q["module"]
	switch len(vs) {
	case 0:
		return "Leads", nil
	case 1:
	default:
		return "", fmt.Errorf("%w: module is given more than once", ErrUnknownModule)
	}
	for m := range moduleFields {
		if strings.EqualFold(m, vs[0]) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: %q (allowed: %s)", ErrUnknownModule, truncate(vs[0], 40), strings.Join(Modules(), ", "))
}

var idempotencyKeyShape = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// CheckIdempotencyKey checks an Idempotency-Key header's shape.
func CheckIdempotencyKey(k string) error {
	if !idempotencyKeyShape.MatchString(k) {
		return ErrBadIdempotencyKey
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
