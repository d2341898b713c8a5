package submission

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// coerce checks a posted value against its field and converts it to the
// JSON Zoho takes for the field's type: forms post only strings, so "12"
// for an integer field is sent as 12, "true" or "on" for a boolean as
// true, a datetime in Zoho's form (2006-01-02T15:04:05+01:00). The
// problem is "invalid" (a value of another type, a list for a one-value
// field) or "too_long" (over the field's length), else "".
func coerce(v any, f zoho.Field) (any, string) {
	v, ok := scalar(v)
	if !ok {
		return nil, "invalid"
	}
	kind := f.DataType
	if !ordinaryTypes[kind] {
		kind = f.JSONType // a scalar type this list does not know, named by the connection
	}
	switch kind {
	case "integer", "bigint":
		return integer(v)
	case "double", "currency", "percent", "decimal":
		return decimal(v)
	case "boolean":
		return boolean(v)
	}
	s, ok := v.(string)
	if !ok {
		return nil, "invalid"
	}
	if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
		return nil, "too_long"
	}
	switch kind {
	case "email":
		if !validEmail(s) {
			return nil, "invalid"
		}
	case "date":
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, "invalid"
		}
		return d.Format(time.DateOnly), ""
	case "datetime":
		d, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, "invalid"
		}
		return d.Format("2006-01-02T15:04:05-07:00"), ""
	}
	return s, ""
}

// scalar is v when it is one value (a string, number or boolean), never a
// list or an object.
func scalar(v any) (any, bool) {
	switch v.(type) {
	case string, json.Number, bool:
		return v, true
	}
	return nil, false
}

func integer(v any) (any, string) {
	s, ok := numberText(v)
	if !ok {
		return nil, "invalid"
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil {
		return nil, "invalid"
	}
	return json.Number(strconv.FormatInt(n, 10)), ""
}

// jsonNumber is JSON's number grammar; a decimal posted in another form
// ("+1.5", "1.", ".5") is sent as Go prints the float.
var (
	jsonNumber  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
	looseNumber = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
)

func decimal(v any) (any, string) {
	s, ok := numberText(v)
	if !ok || !looseNumber.MatchString(s) {
		return nil, "invalid"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, "invalid"
	}
	if jsonNumber.MatchString(s) {
		return json.Number(s), ""
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), ""
}

func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// boolean takes JSON's booleans and what forms post for a checkbox.
func boolean(v any) (any, string) {
	switch x := v.(type) {
	case bool:
		return x, ""
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "on", "yes", "1":
			return true, ""
		case "false", "off", "no", "0":
			return false, ""
		}
	}
	return nil, "invalid"
}
