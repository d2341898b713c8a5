package samtemplate

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeConfigurationMatchesTemplate keeps README.md's configuration
// reference true: every template parameter and every function environment
// variable is documented there, and every parameter the README's table
// lists exists, with the default the template gives it.
func TestReadmeConfigurationMatchesTemplate(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "\n## Configuration")
	if start < 0 {
		t.Fatal("README.md has no Configuration section")
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}

	params := map[string]Parameter{}
	for _, p := range tpl.Parameters {
		params[p.Name] = p
		if !strings.Contains(section, "`"+p.Name+"`") {
			t.Errorf("template parameter %s is not documented in README.md's Configuration section", p.Name)
		}
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\| ([^|]*) \\|")
	listed := 0
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		name, def := m[1], strings.TrimSpace(m[2])
		p, ok := params[name]
		if !ok {
			if strings.ToUpper(name) == name { // the variables' table
				continue
			}
			t.Errorf("README.md documents a parameter %s the template does not have", name)
			continue
		}
		listed++
		want := "`" + p.Default + "`"
		if p.Default == "" {
			want = "empty"
		}
		if def != want {
			t.Errorf("README.md gives %s the default %s, the template %s", name, def, want)
		}
	}
	if listed != len(tpl.Parameters) {
		t.Errorf("README.md's parameter table lists %d of the template's %d parameters", listed, len(tpl.Parameters))
	}
	for _, fn := range tpl.Functions {
		for _, name := range fn.EnvironmentNames {
			if !strings.Contains(section, "`"+name+"`") {
				t.Errorf("%s's variable %s is not documented in README.md's Configuration section", fn.LogicalID, name)
			}
		}
	}
}
