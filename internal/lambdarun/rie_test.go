//go:build rie

package lambdarun

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real bootstrap under the real emulator (make invoke-test, with the
// emulator from scripts/install-rie.sh): the answer, the logs, the
// corrected figures of a cold and a warm invocation, errors and timeouts
// as Lambda's API reports them, and nothing left running after Close.
func TestUnderTheEmulator(t *testing.T) {
	mod, err := ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	rie, err := FindEmulator(mod)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	boots, err := Build(ctx, mod, t.TempDir(), "", map[string]string{"EchoFunction": "./internal/lambdarun/testdata/echo"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	fn, err := Start(ctx, Options{
		Emulator: rie, Bootstrap: boots["EchoFunction"], Name: "echo-test", MemoryMB: 256, Timeout: time.Second,
		Env:    map[string]string{"CONNECTIONS_TABLE": "it-ConnectionsTable"},
		Output: &out, // written under one lock; read after Close
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if !strings.HasPrefix(fn.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s is not on loopback", fn.URL())
	}

	cold, err := fn.Invoke(ctx, []byte(`{"echo":"one"}`))
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if err := json.Unmarshal(cold.Payload, &answer); err != nil || cold.StatusCode != 200 || cold.FunctionError != "" {
		t.Fatalf("cold: %d %q %s (%v)", cold.StatusCode, cold.FunctionError, cold.Payload, err)
	}
	want := map[string]any{"echo": "one", "table": "it-ConnectionsTable", "function_name": "echo-test", "memory": "256", "home_set": false}
	for k, v := range want {
		if answer[k] != v {
			t.Errorf("answer[%s] = %v, want %v (the environment is exactly what was given, plus Lambda's own)", k, answer[k], v)
		}
	}
	r := cold.Report
	if !r.Cold || r.Init <= 0 || r.Invoke <= 0 || r.Duration <= 0 || r.MemorySizeMB != 256 || r.MaxRSSBytes < 1<<20 {
		t.Errorf("cold report = %+v", r)
	}
	if r.RequestID != cold.RequestID || !strings.HasPrefix(r.Line, "REPORT RequestId: "+cold.RequestID) {
		t.Errorf("report %q is not this invocation's (%s)", r.Line, cold.RequestID)
	}
	if len(cold.Logs) != 1 || !strings.Contains(cold.Logs[0], `"echo":"one"`) {
		t.Errorf("cold logs = %q", cold.Logs)
	}

	t.Logf("cold: %s\n%s", r, r.Line)
	warm, err := fn.Invoke(ctx, []byte(`{"echo":"two"}`))
	if err != nil {
		t.Fatal(err)
	}
	if warm.Report.Cold || warm.Report.Init != 0 || warm.Report.Invoke <= 0 || !strings.Contains(string(warm.Payload), `"echo":"two"`) {
		t.Errorf("warm: %+v %s", warm.Report, warm.Payload)
	}
	if len(warm.Logs) != 1 || !strings.Contains(warm.Logs[0], `"echo":"two"`) {
		t.Errorf("warm logs = %q (only this invocation's)", warm.Logs)
	}

	failed, err := fn.Invoke(ctx, []byte(`{"fail":"no such thing"}`))
	if err != nil {
		t.Fatal(err)
	}
	if failed.FunctionError != "Unhandled" || !strings.Contains(string(failed.Payload), "no such thing") {
		t.Errorf("failed: %q %s", failed.FunctionError, failed.Payload)
	}

	slow, err := fn.Invoke(ctx, []byte(`{"sleep_ms":3000}`))
	if err != nil {
		t.Fatal(err)
	}
	if slow.FunctionError != "Unhandled" || slow.Report.Duration > 2*time.Second {
		t.Errorf("timed out after 1 s: %q %s, duration %v", slow.FunctionError, slow.Payload, slow.Report.Duration)
	}

	// A runtime that exits at init (a missing setting, say) is a failed
	// invocation, its last words in the logs, as Lambda reports it.
	broken, err := Start(ctx, Options{Emulator: rie, Bootstrap: boots["EchoFunction"], Name: "broken", Env: map[string]string{"ECHO_EXIT_AT_INIT": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	dead, err := broken.Invoke(ctx, []byte(`{"echo":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if dead.FunctionError != "Unhandled" || !strings.Contains(string(dead.Payload), "Runtime.ExitError") ||
		!strings.Contains(strings.Join(dead.Logs, "\n"), "cannot start") {
		t.Errorf("exit at init: %d %q %s, logs %q", dead.StatusCode, dead.FunctionError, dead.Payload, dead.Logs)
	}

	pid := fn.cmd.Process.Pid
	fn.Close()
	if err := syscall.Kill(-pid, 0); err == nil {
		t.Errorf("process group %d still runs after Close", pid)
	}
	if !strings.Contains(out.String(), "echo-test | REPORT RequestId: "+cold.RequestID) {
		t.Errorf("Output has no prefixed REPORT line:\n%s", out.String())
	}
}
