package admin

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

func TestParseMappingArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]string
		problem string // in the error, "" for none
	}{
		{[]string{"email=Email", "your-name=Last_Name"}, map[string]string{"email": "Email", "your-name": "Last_Name"}, ""},
		{[]string{"First Name=First_Name"}, map[string]string{"First Name": "First_Name"}, ""},
		{[]string{"budget=Custom_Budget_2"}, map[string]string{"budget": "Custom_Budget_2"}, ""},
		{[]string{"a=B=C"}, nil, `"a" → "B=C"`},
		{[]string{"email"}, nil, "not field=Zoho_Field"},
		{[]string{"=Email"}, nil, "empty field name"},
		{[]string{" email=Email"}, nil, "surrounding spaces"},
		{[]string{"email=email"}, nil, "starting with a capital letter"},
		{[]string{"email=Last Name"}, nil, "letters, digits and underscores"},
		{[]string{"email=Last-Name"}, nil, "letters, digits and underscores"},
		{[]string{"email="}, nil, `"email" → ""`},
		{[]string{"email=Émail"}, nil, "letters, digits"},
		{[]string{"email=Email", "email=Secondary_Email"}, nil, "mapped twice"},
		{[]string{"email=Email", "email=Email"}, map[string]string{"email": "Email"}, ""},
		{[]string{"a\tb=Email"}, nil, "plain name"},
		{[]string{strings.Repeat("x", 201) + "=Email"}, nil, "plain name"},
		{[]string{"x=A" + strings.Repeat("b", 100)}, nil, "capital letter"},
	}
	for _, tt := range tests {
		got, err := ParseMappingArgs(tt.args)
		if tt.problem == "" {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q: %v, %v; want %v", tt.args, got, err, tt.want)
			}
			continue
		}
		var me *connection.MappingError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("%q: error %v, want one mentioning %q", tt.args, err, tt.problem)
		}
	}
}

func TestValidateMappingListsEveryProblem(t *testing.T) {
	err := connection.ValidateMapping(map[string]string{"a": "bad", "b": "Good", "c": "al-so"})
	var me *connection.MappingError
	if !errors.As(err, &me) || len(me.Problems) != 2 {
		t.Fatalf("%v", err)
	}
	big := map[string]string{}
	for i := range connection.MaxMappingEntries + 1 {
		big[fmt.Sprint("f", i)] = "Field"
	}
	if err := connection.ValidateMapping(big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("%d entries: %v", len(big), err)
	}
	if err := connection.ValidateMapping(nil); err != nil {
		t.Fatal(err)
	}
}

func TestParseMappingJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		problem string
	}{
		{`{"email":"Email","phone":"Mobile"}`, map[string]string{"email": "Email", "phone": "Mobile"}, ""},
		{`{}`, map[string]string{}, ""},
		{`null`, nil, "null"},
		{`[]`, nil, "not a JSON object"},
		{`{"email":1}`, nil, "not a string"},
		{`{"email":"email"}`, nil, "capital letter"},
		{`{"a":"A"} {"b":"B"}`, nil, "more than one"},
		{`{"a":`, nil, "not a JSON object"},
	}
	for _, tt := range tests {
		got, err := ParseMappingJSON([]byte(tt.in))
		if tt.problem == "" {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: %v, %v", tt.in, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.in, err, tt.problem)
		}
	}
}
