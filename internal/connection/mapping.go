package connection

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// A field mapping maps a submitted field name to a Zoho field's API name
// (the connection's field_mapping); its rules are the domain's, shared by
// the product API and the operator's command.

// MaxMappingEntries bounds a mapping; a CRM module has a few hundred
// fields at most.
const MaxMappingEntries = 500

// maxFieldNameLen bounds a posted field name.
const maxFieldNameLen = 200

// zohoAPIName is the shape of a Zoho field API name, standard or custom:
// letters, digits and underscores, starting with a capital letter, at most
// 100 characters. It is the shape the submission mapping
// (internal/submission) accepts as a target; a target of any other shape
// would be ignored there, so it is refused here.
var zohoAPIName = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,99}$`)

// MappingError lists every bad entry of a mapping.
type MappingError struct {
	Problems []string
}

func (e *MappingError) Error() string {
	return "invalid field mapping: " + strings.Join(e.Problems, "; ")
}

// ValidateMapping checks a mapping of posted field names to Zoho API names.
func ValidateMapping(m map[string]string) error {
	var problems []string
	if len(m) > MaxMappingEntries {
		problems = append(problems, fmt.Sprintf("%d entries, at most %d", len(m), MaxMappingEntries))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch {
		case strings.TrimSpace(k) == "":
			problems = append(problems, "an empty field name")
		case k != strings.TrimSpace(k):
			problems = append(problems, fmt.Sprintf("field name %q has surrounding spaces", k))
		case len(k) > maxFieldNameLen || !utf8.ValidString(k) || strings.ContainsAny(k, "\x00\r\n\t"):
			problems = append(problems, fmt.Sprintf("field name %q is not a plain name of at most %d bytes", k, maxFieldNameLen))
		}
		if !zohoAPIName.MatchString(v) {
			problems = append(problems, fmt.Sprintf("%q → %q: a Zoho API name is letters, digits and underscores, starting with a capital letter (e.g. Last_Name)", k, v))
		}
	}
	if len(problems) > 0 {
		return &MappingError{Problems: problems}
	}
	return nil
}

// ValidateFieldNames checks a list of Zoho field API names (a
// connection's allowed_fields).
func ValidateFieldNames(names []string) error {
	var problems []string
	if len(names) > MaxMappingEntries {
		problems = append(problems, fmt.Sprintf("%d names, at most %d", len(names), MaxMappingEntries))
	}
	for _, n := range names {
		if !zohoAPIName.MatchString(n) {
			problems = append(problems, fmt.Sprintf("%q is not a Zoho API name (letters, digits and underscores, starting with a capital letter)", n))
		}
	}
	if len(problems) > 0 {
		return &MappingError{Problems: problems}
	}
	return nil
}
