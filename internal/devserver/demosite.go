package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
)

// DemoSite is a customer's web site on a second local origin, for the
// public forms: GET /?form=<form_id> is a plain page with the form's
// ready snippet (as the product API made it), posting to the API's
// /f/{form_id} from this other origin; GET /thanks, the
// demo form's redirect_url (?connection=<connection_id>), shows the leads
// the simulator holds for the connection's org, so a person sees where the
// post went.
type DemoSite struct {
	Bundle *localrun.Bundle
	// APIBase is the dev server's address (where forms post).
	APIBase string
	// Origin is this site's own origin (http://127.0.0.1:PORT).
	Origin string
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}td,th{padding:.2rem .6rem;text-align:left}</style></head>
<body><h1 id="title">{{.Title}}</h1>
{{if .Snippet}}<p>A page of <code>{{.Origin}}</code>, with the snippet <code>POST /connections/{id}/forms</code> answered, pasted as it is:</p>
{{.Snippet}}{{end}}
{{if .Leads}}<p>The simulated Zoho CRM org <code>{{.Org}}</code> now holds these {{.Module}}:</p>
<table id="leads"><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Leads}}<tr class="lead">{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
{{with .Note}}<p id="note">{{.}}</p>{{end}}
</body></html>`))

func (d *DemoSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := map[string]any{"Origin": d.Origin}
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	case r.URL.Path == "/":
		var f *forms.Form
		if id := q.Get("form"); forms.ValidID(id) {
			f, _ = d.Bundle.Forms().Get(r.Context(), id)
		}
		if f == nil {
			data["Title"] = "Demo site"
			data["Note"] = "No such form. Connect an org through the dev server: make dev prints this site's address with the demo form it makes for the connection."
			break
		}
		data["Title"] = "Contact us"
		data["Snippet"] = template.HTML(forms.Snippet(f, forms.ActionURL(d.APIBase, f.ID))) // made by forms.Snippet, escaped there
	case r.URL.Path == "/thanks":
		data["Title"] = "Thank you"
		c, err := d.Bundle.Connections().Get(r.Context(), q.Get("connection"))
		if err != nil {
			data["Note"] = "No such connection."
			break
		}
		cols, rows := table(d.Bundle.Sim.Records(c.OrgID, "Leads"))
		data["Org"], data["Module"], data["Columns"], data["Leads"] = c.OrgID, "leads", cols, rows
	default:
		http.NotFound(w, r)
		return
	}
	var b bytes.Buffer
	if err := demoPage.Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// table is records as rows of the columns a person cares about.
func table(recs []map[string]any) ([]string, [][]string) {
	cols := []string{"First_Name", "Last_Name", "Email", "Company", "Description"}
	rows := make([][]string, 0, len(recs))
	for _, r := range recs {
		row := make([]string, len(cols))
		for i, c := range cols {
			if v, ok := r[c]; ok && v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		rows = append(rows, row)
	}
	return cols, rows
}

// CreateForm makes a demo form of connection id through the product API
// (in process, with the product's key): allowed from this site's origin,
// redirecting to its /thanks, with a honeypot. It answers the form's id.
func (d *DemoSite) CreateForm(ctx context.Context, connectionID string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"allowed_origins": []string{d.Origin}, "honeypot_field": "website",
		"redirect_url": d.Origin + "/thanks?connection=" + connectionID,
	})
	req := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /connections/{connection_id}/forms", RawPath: "/connections/" + connectionID + "/forms",
		PathParameters: map[string]string{"connection_id": connectionID},
		Headers:        map[string]string{"authorization": "Bearer " + d.Bundle.ProductAPIKey, "content-type": "application/json"},
		Body:           string(body),
	}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.DomainName = strings.TrimPrefix(d.APIBase, "http://")
	resp, err := d.Bundle.ProductAPI.Handle(ctx, req)
	if err != nil {
		return "", err
	}
	var out struct {
		FormID  string `json:"form_id"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != 201 {
		return "", fmt.Errorf("POST /connections/%s/forms answered %d: %s", connectionID, resp.StatusCode, out.Message)
	}
	if out.FormID == "" {
		return "", errors.New("the product API made a form without an id")
	}
	return out.FormID, nil
}
