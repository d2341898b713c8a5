package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func req(accept string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{Headers: map[string]string{"accept": accept}}
}

func TestFailAnswersJSONOrAPage(t *testing.T) {
	e := &Error{Status: 409, Code: "environment_mismatch", Message: "The org is <b>not</b> a sandbox.", Retry: "../connect"}
	tests := []struct {
		accept string
		page   bool
		json   bool
	}{
		{"application/json", true, true},
		{"text/html,application/xhtml+xml;q=0.9,application/json;q=0.8", true, true},
		{"text/html", true, false},
		{"", true, false},
		{"text/html", false, true}, // an API-only answer is JSON whatever is asked
	}
	for _, tt := range tests {
		r := Fail(req(tt.accept), e, tt.page)
		if r.StatusCode != 409 || r.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("%q: status %d headers %v", tt.accept, r.StatusCode, r.Headers)
		}
		if tt.json {
			var body map[string]string
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["error"] != "environment_mismatch" || body["message"] != e.Message || r.Headers["Content-Type"] != "application/json" {
				t.Fatalf("%q: %s", tt.accept, r.Body)
			}
			continue
		}
		if !strings.HasPrefix(r.Headers["Content-Type"], "text/html") || !strings.Contains(r.Body, `data-code="environment_mismatch"`) ||
			!strings.Contains(r.Body, `href="../connect"`) || r.Headers["Content-Security-Policy"] == "" {
			t.Fatalf("%q: page %s", tt.accept, r.Body)
		}
		if strings.Contains(r.Body, "<b>not</b>") {
			t.Fatal("the page does not escape the message")
		}
	}
}

func TestErrorFieldsAndRedirect(t *testing.T) {
	r := JSON(422, &Error{Code: "invalid_submission", Message: "m", Fields: map[string]string{"Last_Name": "required"}})
	if r.Body != `{"error":"invalid_submission","message":"m","fields":{"Last_Name":"required"}}` {
		t.Fatal(r.Body)
	}
	if r := JSON(400, &Error{Code: "x", Message: "y"}); strings.Contains(r.Body, "fields") {
		t.Fatal(r.Body)
	}
	if r := JSON(200, func() {}); r.StatusCode != 500 {
		t.Fatalf("an unencodable answer is %d", r.StatusCode)
	}
	if r := Redirect("https://accounts.zoho.com/x"); r.StatusCode != 302 || r.Headers["Location"] != "https://accounts.zoho.com/x" {
		t.Fatal(r)
	}
}

func TestPageShowsFacts(t *testing.T) {
	r := Page(200, PageContent{Title: "Zoho CRM connected", Facts: [][2]string{{"Connection", "zc_1"}}, Note: "once"})
	for _, want := range []string{`id="facts"`, "zc_1", `id="note"`, "Zoho CRM connected"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestMatchTakesTheFirstRowErrorsIsFinds(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	table := []Failure{{Err: errA, Status: 400, Code: "bad_a", Message: "A went wrong."}, {Err: errB, Status: 409, Code: "bad_b"}}
	if e := Match(fmt.Errorf("wrapped: %w", errA), table); e == nil || e.Status != 400 || e.Code != "bad_a" || e.Message != "A went wrong." {
		t.Fatalf("%+v", e)
	}
	if e := Match(fmt.Errorf("detail: %w", errB), table); e == nil || e.Status != 409 || e.Message != "detail: b" {
		t.Fatalf("an empty message should be the error's own text: %+v", e)
	}
	if e := Match(errors.New("other"), table); e != nil {
		t.Fatalf("matched %+v", e)
	}
}
