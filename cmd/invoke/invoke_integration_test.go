//go:build integration && rie

package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// What make invoke runs: the answer on stdout, the logs, the REPORT line
// and the corrected figures on stderr; a cold start by default.
func TestInvokeConnect(t *testing.T) {
	if err := os.Chdir("../.."); err != nil { // make invoke runs at the module root
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"-event", "events/connect.json", "-n", "2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if got := strings.Count(stdout.String(), `"statusCode": 302`); got != 2 {
		t.Errorf("stdout has %d answers with status 302, want 2:\n%s", got, stdout.String())
	}
	errs := stderr.String()
	for _, want := range []string{
		"invoke: CallbackFunction with events/connect.json (1/2)", // the template's route decides the function
		"REPORT RequestId: ", "Init Duration: ", "invoke: cold start: init ", "invoke: warm: invoke ",
		`"msg":"connect started"`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}
