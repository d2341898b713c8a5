package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// ParseMappingArgs reads field=Zoho_Field arguments.
func ParseMappingArgs(args []string) (map[string]string, error) {
	m := make(map[string]string, len(args))
	var problems []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			problems = append(problems, fmt.Sprintf("%q is not field=Zoho_Field", a))
			continue
		}
		if old, dup := m[k]; dup && old != v {
			problems = append(problems, fmt.Sprintf("field %q is mapped twice", k))
			continue
		}
		m[k] = v
	}
	if len(problems) > 0 {
		return nil, &connection.MappingError{Problems: problems}
	}
	return m, connection.ValidateMapping(m)
}

// ParseMappingJSON reads a mapping file: one JSON object of field name to
// Zoho API name.
func ParseMappingJSON(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, errors.New("the mapping file is not a JSON object of field name to Zoho API name")
	}
	if raw == nil {
		return nil, errors.New("the mapping file holds null, not a JSON object (use -clear to clear the mapping)")
	}
	if dec.More() {
		return nil, errors.New("the mapping file has more than one JSON value")
	}
	m := make(map[string]string, len(raw))
	var problems []string
	for k, v := range raw {
		s, ok := v.(string)
		if !ok {
			problems = append(problems, fmt.Sprintf("field %q: the Zoho API name is not a string", k))
			continue
		}
		m[k] = s
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &connection.MappingError{Problems: problems}
	}
	return m, connection.ValidateMapping(m)
}
