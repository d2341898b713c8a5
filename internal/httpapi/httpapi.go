// Package httpapi builds every API Gateway answer the functions give: JSON
// bodies, error bodies and the small pages people see. Handlers decide the
// status and content; this package decides the shape, in one place.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Error is an answer that failed: the interface's {"error","message"}
// body, optionally with the fields that were wrong.
type Error struct {
	Status  int               `json:"-"`
	Code    string            `json:"error"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// Retry is a link a person can follow to try again (pages only).
	Retry string `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Failure is one row of a function's table of failures: the error it
// matches (with errors.Is) and the answer it becomes.
type Failure struct {
	Err     error
	Status  int
	Code    string
	Message string // empty: the error's own text
}

// Match is the one way a function's error becomes an answer: the first
// row of table that err matches, or nil when none does.
func Match(err error, table []Failure) *Error {
	for _, f := range table {
		if errors.Is(err, f.Err) {
			msg := f.Message
			if msg == "" {
				msg = err.Error()
			}
			return &Error{Status: f.Status, Code: f.Code, Message: msg}
		}
	}
	return nil
}

var securityHeaders = map[string]string{
	"Cache-Control":          "no-store",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
}

func headers(contentType string) map[string]string {
	h := make(map[string]string, len(securityHeaders)+1)
	for k, v := range securityHeaders {
		h[k] = v
	}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return h
}

// JSON answers v as JSON.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":"internal","message":"the answer could not be encoded"}`)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers("application/json"), Body: string(b)}
}

// Redirect answers 302 to location.
func Redirect(location string) events.APIGatewayV2HTTPResponse {
	h := headers("")
	h["Location"] = location
	return events.APIGatewayV2HTTPResponse{StatusCode: 302, Headers: h}
}

// WantsJSON reports whether the request's Accept header asks for JSON.
func WantsJSON(req events.APIGatewayV2HTTPRequest) bool {
	for k, v := range req.Headers {
		if strings.EqualFold(k, "accept") && strings.Contains(strings.ToLower(v), "application/json") {
			return true
		}
	}
	return false
}

// Fail answers an error as JSON, or as a page when the request did not ask
// for JSON and asPage is true.
func Fail(req events.APIGatewayV2HTTPRequest, e *Error, asPage bool) events.APIGatewayV2HTTPResponse {
	if !asPage || WantsJSON(req) {
		return JSON(e.Status, e)
	}
	return Page(e.Status, PageContent{Title: "Connection failed", Error: e, Retry: e.Retry})
}

// PageContent is what a page shows.
type PageContent struct {
	Title string
	Error *Error
	Facts [][2]string // label, value rows
	Note  string
	Retry string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}table{border-collapse:collapse}td{padding:.3rem .8rem .3rem 0;vertical-align:top}
td:first-child{color:#666}code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all}
.error{color:#a00}.note{background:#fff8e1;padding:.8rem;border-left:4px solid #f0b400}</style></head>
<body><h1 id="title">{{.Title}}</h1>
{{with .Error}}<p class="error" id="error-code" data-code="{{.Code}}">{{.Message}}</p>{{end}}
{{with .Facts}}<table id="facts">{{range .}}<tr><td>{{index . 0}}</td><td><code>{{index . 1}}</code></td></tr>{{end}}</table>{{end}}
{{with .Note}}<p class="note" id="note">{{.}}</p>{{end}}
{{with .Retry}}<p><a id="retry" href="{{.}}">Try again</a></p>{{end}}
</body></html>`))

// Page answers a small HTML page for a person.
func Page(status int, c PageContent) events.APIGatewayV2HTTPResponse {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, c); err != nil {
		return JSON(500, &Error{Code: "internal", Message: "the page could not be rendered"})
	}
	h := headers("text/html; charset=utf-8")
	h["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: b.String()}
}
