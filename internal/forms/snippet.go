package forms

import (
	"bytes"
	"html/template"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// snippetField is one input of the snippet.
type snippetField struct {
	Name, Label, Type, Autocomplete string
	Required, Textarea              bool
}

// moduleInputs are the inputs a form of each module starts with; the
// form's required fields and mapping add theirs.
var moduleInputs = map[string][]snippetField{
	"Leads": {
		{Name: "first_name", Label: "First name", Autocomplete: "given-name"},
		{Name: "last_name", Label: "Last name", Autocomplete: "family-name", Required: true},
		{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", Required: true},
		{Name: "company", Label: "Company", Autocomplete: "organization"},
		{Name: "message", Label: "Message", Textarea: true},
	},
	"Contacts": {
		{Name: "first_name", Label: "First name", Autocomplete: "given-name"},
		{Name: "last_name", Label: "Last name", Autocomplete: "family-name", Required: true},
		{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", Required: true},
		{Name: "phone", Label: "Phone", Type: "tel", Autocomplete: "tel"},
		{Name: "message", Label: "Message", Textarea: true},
	},
	"Accounts": {
		{Name: "company", Label: "Company", Autocomplete: "organization", Required: true},
		{Name: "phone", Label: "Phone", Type: "tel", Autocomplete: "tel"},
		{Name: "message", Label: "Message", Textarea: true},
	},
	"Deals": {
		{Name: "Deal_Name", Label: "Deal name", Required: true},
		{Name: "message", Label: "Message", Textarea: true},
	},
}

var snippetTemplate = template.Must(template.New("form").Parse(`<form action="{{.Action}}" method="post" accept-charset="UTF-8">
{{- range .Fields}}
  <p><label>{{.Label}}<br>
  {{- if .Textarea}}
  <textarea name="{{.Name}}"{{if .Required}} required{{end}}></textarea></label></p>
  {{- else}}
  <input type="{{.Type}}" name="{{.Name}}"{{if .Autocomplete}} autocomplete="{{.Autocomplete}}"{{end}}{{if .Required}} required{{end}}></label></p>
  {{- end}}
{{- end}}
{{- if .Honeypot}}
  <div aria-hidden="true" style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden">
    <label>Leave this field empty <input type="text" name="{{.Honeypot}}" value="" tabindex="-1" autocomplete="off"></label>
  </div>
{{- end}}
{{- if .Captcha}}
  <div class="{{.CaptchaClass}}" data-sitekey="{{.SiteKey}}"></div>
  <script src="{{.CaptchaScript}}" async defer></script>
{{- end}}
  <p><button type="submit">Send</button></p>
</form>
`))

// Snippet is a ready <form> for f posting to action: paste it into any
// HTML page of an allowed origin. Everything in it is escaped as HTML
// (the form's names come from the product, and still are).
func Snippet(f *Form, action string) string {
	fields := append([]snippetField(nil), moduleInputs[f.Module]...)
	have := map[string]int{}
	for i, fl := range fields {
		have[fl.Name] = i
	}
	add := func(name string, required bool) {
		if name == f.HoneypotField {
			return
		}
		if i, ok := have[name]; ok {
			fields[i].Required = fields[i].Required || required
			return
		}
		have[name] = len(fields)
		fields = append(fields, snippetField{Name: name, Label: label(name), Required: required})
	}
	for _, r := range f.RequiredFields {
		add(r, true)
	}
	for _, k := range sortedKeys(f.FieldMapping) {
		add(k, false)
	}
	for i := range fields {
		if fields[i].Type == "" {
			fields[i].Type = "text"
		}
	}
	data := map[string]any{"Action": action, "Fields": fields, "Honeypot": f.HoneypotField}
	if f.Captcha != nil {
		key := f.Captcha.SiteKey
		if key == "" {
			key = "YOUR_SITE_KEY"
		}
		data["Captcha"] = true
		data["CaptchaClass"] = f.Captcha.Provider.WidgetClass()
		data["CaptchaScript"] = template.URL(f.Captcha.Provider.Script())
		data["SiteKey"] = key
	}
	var b bytes.Buffer
	if err := snippetTemplate.Execute(&b, data); err != nil {
		panic(err) // the template and its data are ours
	}
	return b.String()
}

func label(name string) string {
	s := strings.ReplaceAll(strings.ReplaceAll(name, "_", " "), "-", " ")
	s = strings.TrimSpace(s)
	if s == "" {
		return name
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
