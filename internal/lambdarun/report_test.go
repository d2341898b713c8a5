package lambdarun

import (
	"testing"
	"time"
)

func TestParseReport(t *testing.T) {
	cold, err := ParseReport("REPORT RequestId: req-1\tInit Duration: 0.56 ms\tDuration: 102.13 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n")
	if err != nil {
		t.Fatal(err)
	}
	if cold.RequestID != "req-1" || !cold.Cold || cold.ReportedInitDuration != 560*time.Microsecond ||
		cold.Duration != 102130*time.Microsecond || cold.BilledDuration != 103*time.Millisecond || cold.MemorySizeMB != 256 {
		t.Errorf("cold = %+v", cold)
	}
	warm, err := ParseReport("REPORT RequestId: 679fbd19-642c\tDuration: 67.66 ms\tBilled Duration: 68 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t")
	if err != nil {
		t.Fatal(err)
	}
	if warm.Cold || warm.RequestID != "679fbd19-642c" || warm.Duration != 67660*time.Microsecond || warm.MemorySizeMB != 3008 {
		t.Errorf("warm = %+v", warm)
	}
	for _, bad := range []string{"", "START RequestId: x", "REPORT Duration: 1 ms", "REPORT RequestId: x\tDuration: fast"} {
		if _, err := ParseReport(bad); err == nil {
			t.Errorf("ParseReport(%q) = nil error", bad)
		}
	}
}

// The emulator's own log lines, as its stderr has them, give the real
// init and invoke figures to the invocation they belong to.
func TestEmulatorLogLines(t *testing.T) {
	f := &Function{requests: map[string]*request{}}
	a := &request{reported: make(chan struct{}), invoked: make(chan struct{})}
	b := &request{reported: make(chan struct{}), invoked: make(chan struct{})}
	f.requests["req-a"], f.requests["req-b"] = a, b
	lines := "02 Dec 2026 00:32:16,874 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n" +
		"02 Dec 2026 00:32:16,886 [INFO] (rapid) INIT RTDONE(status: success)\n" +
		"02 Dec 2026 00:32:16,886 [INFO] (rapid) INIT REPORT(durationMs: 12.049000)\n" +
		"02 Dec 2026 00:32:16,886 [INFO] (rapid) INVOKE START(requestId: req-a)\n" +
		"02 Dec 2026 00:32:16,976 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 89.820000ms)\n" +
		"02 Dec 2026 00:32:16,990 [INFO] (rapid) INVOKE START(requestId: req-b)\n" +
		"02 Dec 2026 00:32:17,006 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 16.432000ms)\n"
	f.readStderr(stringsReader(lines))
	if a.init != 12049*time.Microsecond || a.invoke != 89820*time.Microsecond {
		t.Errorf("req-a: init %v, invoke %v", a.init, a.invoke)
	}
	if b.init != 0 || b.invoke != 16432*time.Microsecond {
		t.Errorf("req-b: init %v, invoke %v", b.init, b.invoke)
	}
	for _, r := range []*request{a, b} {
		select {
		case <-r.invoked:
		default:
			t.Error("RTDONE did not mark the invocation done")
		}
	}

	out := "START RequestId: req-a Version: $LATEST\n" +
		`{"level":"INFO","msg":"connect started"}` + "\n" +
		"END RequestId: req-a\n" +
		"REPORT RequestId: req-a\tInit Duration: 0.56 ms\tDuration: 102.13 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n" +
		"a line outside any invocation\n"
	f.readStdout(stringsReader(out))
	if len(a.logs) != 1 || a.logs[0] != `{"level":"INFO","msg":"connect started"}` {
		t.Errorf("req-a logs = %q", a.logs)
	}
	if a.report == nil || a.report.Duration != 102130*time.Microsecond {
		t.Errorf("req-a report = %+v", a.report)
	}
}

func TestFunctionError(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{200, `{"statusCode":302}`, ""},
		{200, `{"errorMessage":"refresh: the connection id is malformed","errorType":"errorString"}`, "Unhandled"},
		{200, `{"errorMessage":"x","errorType":"y","stackTrace":[]}`, "Unhandled"},
		{200, `{"errorMessage":"x","errorType":"y","outcome":"refreshed"}`, ""}, // an answer that merely has the names
		{200, `{"errorMessage":"x"}`, ""},
		{200, "Task timed out after 3.00 seconds", "Unhandled"},
		{502, ``, "Unhandled"},
		{200, `"a string"`, ""},
	} {
		if got := functionError(c.status, []byte(c.body)); got != c.want {
			t.Errorf("functionError(%d, %s) = %q, want %q", c.status, c.body, got, c.want)
		}
	}
}

func TestLambdaEnvironment(t *testing.T) {
	env := LambdaEnvironment(Options{Bootstrap: "/x/task/bootstrap", Name: "zohoconnect-t1-refresh", MemoryMB: 256, Timeout: 29 * time.Second,
		Env: map[string]string{"CONNECTIONS_TABLE": "t", "TZ": "Europe/Berlin"}})
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "zohoconnect-t1-refresh", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "29", "LAMBDA_TASK_ROOT": "/x/task", "_HANDLER": "bootstrap",
		"CONNECTIONS_TABLE": "t", "TZ": "Europe/Berlin",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if d := LambdaEnvironment(Options{}); d["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] != "128" || d["AWS_LAMBDA_FUNCTION_TIMEOUT"] != "3" {
		t.Errorf("defaults: %v", d)
	}
}
