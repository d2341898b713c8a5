// Package lambdarun runs a function's real bootstrap the way Lambda runs
// it, on this machine and without Docker: under the Lambda Runtime
// Interface Emulator (aws-lambda-rie, the one inside SAM's images;
// scripts/install-rie.sh installs it), with exactly the environment it is
// given, one invocation at a time, on loopback ports of its own.
//
//	fn, err := lambdarun.Start(ctx, lambdarun.Options{Emulator: rie, Bootstrap: "bin/callback/bootstrap", Env: env, ...})
//	inv, err := fn.Invoke(ctx, event)   // inv.Payload, inv.Report, inv.Logs
//	fn.Close()
//
// What the emulator's REPORT line gets wrong is corrected in Report: its
// Init Duration times only the start of the init (the real one is in the
// emulator's own log, which Report reads), and its Max Memory Used repeats
// the memory size (the bootstrap's peak RSS is read from /proc instead).
//
// LambdaAPI serves Lambda's Invoke API for functions started here, so a
// function that invokes another through the AWS SDK reaches it
// (AWS_ENDPOINT_URL_LAMBDA). Build makes the bootstraps.
package lambdarun

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say what to run and how.
type Options struct {
	// Emulator is the aws-lambda-rie executable (FindEmulator).
	Emulator string
	// Bootstrap is the function's executable; it runs in its directory,
	// as in /var/task.
	Bootstrap string
	// Env is the function's environment: the template's variables, the
	// AWS SDK's (region, credentials, endpoints). Nothing is inherited
	// from this process; Start adds what Lambda itself sets (see
	// LambdaEnvironment).
	Env map[string]string
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME); MemoryMB
	// and Timeout its settings (0: Lambda's defaults, 128 MB and 3 s).
	Name     string
	MemoryMB int
	Timeout  time.Duration
	// Output, when set, gets every line the emulator and the function
	// print, each after Label (default Name) and " | ".
	Output io.Writer
	Label  string
}

// Invocation is one invocation's answer.
type Invocation struct {
	RequestID string
	// StatusCode is the emulator's HTTP status (200 unless the runtime
	// failed to start or crashed).
	StatusCode int
	// Payload is the function's answer, or its error object.
	Payload []byte
	// FunctionError is what Lambda's Invoke API would put in
	// X-Amz-Function-Error: "Unhandled" when the handler returned an
	// error, timed out or the runtime failed; "" on success.
	FunctionError string
	Report        Report
	// Logs are the lines the function printed during this invocation.
	Logs []string
}

// Function is a bootstrap running under the emulator.
type Function struct {
	opts Options
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the emulator exits

	invokeMu sync.Mutex // one invocation at a time, as one execution environment

	mu          sync.Mutex
	requests    map[string]*request
	logging     string          // request id between START and END (stdout)
	invoking    string          // request id after INVOKE START (stderr)
	pendingInit time.Duration   // INIT REPORT seen, not yet given to an invocation
	stderrTail  []string        // the emulator's last lines, for errors
	runtimePID  int             // the bootstrap's pid once found
	exitErr     error           // how the emulator exited
	output      *prefixedWriter // Options.Output, whole lines only
}

type request struct {
	logs     []string
	report   *Report
	init     time.Duration
	invoke   time.Duration
	done     bool          // INVOKE RTDONE seen
	reported chan struct{} // closed at REPORT
	invoked  chan struct{} // closed at INVOKE RTDONE
}

// Start runs the emulator with the bootstrap on free loopback ports and
// waits until it accepts invocations. The runtime itself starts at the
// first invocation, as a cold start does.
func Start(ctx context.Context, opts Options) (*Function, error) {
	if opts.Emulator == "" {
		return nil, errors.New("lambdarun: Options.Emulator is empty (see FindEmulator)")
	}
	boot, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(boot); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambdarun: %s is not an executable bootstrap", opts.Bootstrap)
	}
	opts.Bootstrap = boot
	var lastErr error
	// A free port can be taken between choosing and binding it: try again.
	for attempt := 0; attempt < 3; attempt++ {
		f, err := start(ctx, opts)
		if err == nil {
			return f, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, opts Options) (*Function, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Emulator,
		"--log-level", "info", // its INIT REPORT and INVOKE RTDONE lines carry the real figures
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", apiAddr,
		opts.Bootstrap)
	cmd.Dir = filepath.Dir(opts.Bootstrap)
	cmd.Env = environList(LambdaEnvironment(opts))
	// Its own process group, so that Close stops the bootstrap with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	f := &Function{
		opts:     opts,
		cmd:      cmd,
		url:      "http://" + addr + "/2015-03-31/functions/function/invocations",
		done:     make(chan struct{}),
		requests: map[string]*request{},
	}
	if opts.Output != nil {
		label := opts.Label
		if label == "" {
			label = opts.Name
		}
		f.output = &prefixedWriter{w: opts.Output, prefix: label}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdarun: start %s: %w", opts.Emulator, err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); f.readStdout(stdout) }()
	go func() { defer readers.Done(); f.readStderr(stderr) }()
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		err := cmd.Wait()
		f.mu.Lock()
		f.exitErr = err
		f.mu.Unlock()
		close(f.done)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return f, nil
		}
		select {
		case <-f.done:
			return nil, fmt.Errorf("lambdarun: the emulator exited at start (%v): %s", f.exitErr, f.tail())
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lambdarun: the emulator does not listen on %s after 10 s: %s", addr, f.tail())
		}
	}
}

// LambdaEnvironment is the environment the bootstrap gets: opts.Env with
// what Lambda's runtime environment sets itself (the function's name,
// memory and version, the handler, the task root, UTC, a PATH), and
// AWS_LAMBDA_FUNCTION_TIMEOUT, which the emulator reads for the timeout.
// What opts.Env sets wins.
func LambdaEnvironment(opts Options) map[string]string {
	mem := opts.MemoryMB
	if mem == 0 {
		mem = 128
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	name := opts.Name
	if name == "" {
		name = "function"
	}
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(mem),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int((timeout + time.Second - 1) / time.Second)),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                filepath.Dir(opts.Bootstrap),
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	return env
}

func environList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// URL is the emulator's invocation endpoint.
func (f *Function) URL() string { return f.url }

// Name is the function's name.
func (f *Function) Name() string { return f.opts.Name }

// Invoke sends one event and waits for the answer and its REPORT line.
// An error means the invocation could not be made or read; a function
// that failed answers an Invocation with FunctionError set (and, when its
// runtime did not start, an empty Report).
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Invocation, error) {
	f.invokeMu.Lock()
	defer f.invokeMu.Unlock()
	select {
	case <-f.done:
		return nil, fmt.Errorf("lambdarun: %s: the emulator has exited (%v): %s", f.opts.Name, f.exitErr, f.tail())
	default:
	}
	id := newRequestID()
	req := &request{reported: make(chan struct{}), invoked: make(chan struct{})}
	f.mu.Lock()
	f.requests[id] = req
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.requests, id)
		f.mu.Unlock()
	}()

	timeout := f.opts.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	// The emulator answers a timed-out invocation itself: wait past it.
	hctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(hctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Amzn-RequestId", id)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: invoke %s: %w", f.opts.Name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("lambdarun: invoke %s: reading the answer: %w", f.opts.Name, err)
	}
	inv := &Invocation{RequestID: id, StatusCode: resp.StatusCode, Payload: body, FunctionError: functionError(resp.StatusCode, body)}
	if resp.StatusCode != http.StatusOK && len(bytes.TrimSpace(body)) == 0 {
		// What Lambda answers when the runtime exits; the emulator says nothing.
		inv.Payload, _ = json.Marshal(map[string]string{
			"errorType":    "Runtime.ExitError",
			"errorMessage": fmt.Sprintf("RequestId: %s Error: the runtime exited or failed to start (the emulator answered %d)", id, resp.StatusCode),
		})
	}

	// The emulator prints REPORT before it answers, but its output is
	// read on other goroutines: give them a moment. A runtime that failed
	// to start gets no REPORT line.
	wait := 5 * time.Second
	if resp.StatusCode != http.StatusOK {
		wait = 200 * time.Millisecond
	}
	select {
	case <-req.reported:
		select {
		case <-req.invoked:
		case <-f.done:
		case <-time.After(time.Second):
		}
	case <-f.done:
	case <-time.After(wait):
	}
	f.mu.Lock()
	if req.report != nil {
		inv.Report = *req.report
	}
	inv.Report.Init, inv.Report.Invoke = req.init, req.invoke
	inv.Logs = append([]string(nil), req.logs...)
	f.mu.Unlock()
	inv.Report.MaxRSSBytes = f.peakRSS()
	return inv, nil
}

// functionError says what Lambda's Invoke API would put in
// X-Amz-Function-Error. The emulator answers 200 with the runtime's error
// object ({"errorMessage","errorType"}) and no header, or a plain text
// timeout message, so the answer itself is read.
func functionError(status int, body []byte) string {
	if status != http.StatusOK {
		return "Unhandled"
	}
	if bytes.HasPrefix(body, []byte("Task timed out after")) {
		return "Unhandled"
	}
	var e map[string]json.RawMessage
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	_, msg := e["errorMessage"]
	_, typ := e["errorType"]
	for k := range e {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return ""
		}
	}
	if msg && typ {
		return "Unhandled"
	}
	return ""
}

// Close stops the emulator and the bootstrap (their process group): a
// SIGTERM, then a SIGKILL after 3 s.
func (f *Function) Close() error {
	if f == nil || f.cmd == nil || f.cmd.Process == nil {
		return nil
	}
	// The group is signalled even when the emulator has exited: a
	// bootstrap it left behind is still in it.
	pgid := f.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-f.done
	}
	return nil
}

func (f *Function) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20) // a function's log line may be long
	for sc.Scan() {
		line := sc.Text()
		f.write(line)
		f.mu.Lock()
		switch {
		case strings.HasPrefix(line, "START RequestId: "):
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "START RequestId: "), " ")
			f.logging = id
		case strings.HasPrefix(line, "END RequestId: "):
			f.logging = ""
		case strings.HasPrefix(line, "REPORT RequestId: "):
			if rep, err := ParseReport(line); err == nil {
				if req := f.requests[rep.RequestID]; req != nil && req.report == nil {
					req.report = &rep
					close(req.reported)
				}
			}
		default:
			if req := f.requests[f.logging]; req != nil {
				req.logs = append(req.logs, line)
			}
		}
		f.mu.Unlock()
	}
}

func (f *Function) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		f.write(line)
		f.mu.Lock()
		f.stderrTail = append(f.stderrTail, line)
		if len(f.stderrTail) > 20 {
			f.stderrTail = f.stderrTail[1:]
		}
		if m := initReportLine.FindStringSubmatch(line); m != nil {
			f.pendingInit, _ = parseMillis(m[1])
		} else if m := invokeStartLine.FindStringSubmatch(line); m != nil {
			f.invoking = m[1]
			if req := f.requests[m[1]]; req != nil {
				req.init, f.pendingInit = f.pendingInit, 0
			}
		} else if m := invokeDoneLine.FindStringSubmatch(line); m != nil {
			if req := f.requests[f.invoking]; req != nil && !req.done {
				req.done = true
				req.invoke, _ = parseMillis(m[1])
				close(req.invoked)
			}
		}
		f.mu.Unlock()
	}
}

func (f *Function) write(line string) {
	if f.output != nil {
		f.output.line(line)
	}
}

func (f *Function) tail() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.stderrTail, "\n")
}

// peakRSS is the bootstrap's VmHWM: the emulator's child process.
func (f *Function) peakRSS() int64 {
	f.mu.Lock()
	pid := f.runtimePID
	f.mu.Unlock()
	if pid == 0 {
		pid = childPID(f.cmd.Process.Pid)
		f.mu.Lock()
		f.runtimePID = pid
		f.mu.Unlock()
	}
	if pid == 0 {
		return 0
	}
	rss := vmHWM(pid)
	if rss == 0 { // the runtime was restarted (a crash): find it again
		f.mu.Lock()
		f.runtimePID = 0
		f.mu.Unlock()
	}
	return rss
}

// childPID finds a child of pid through /proc/<pid>/task/*/children
// (Linux); 0 when there is none or /proc cannot tell.
func childPID(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				return n
			}
		}
	}
	return 0
}

// vmHWM reads a process's peak resident set size; 0 when unknown.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// prefixedWriter writes whole lines, each after a prefix, under a lock:
// many functions may share one Output.
type prefixedWriter struct {
	w      io.Writer
	prefix string
}

var outputMu sync.Mutex // Outputs are often shared (os.Stderr)

func (p *prefixedWriter) line(s string) {
	outputMu.Lock()
	defer outputMu.Unlock()
	if p.prefix != "" {
		fmt.Fprintf(p.w, "%s | %s\n", p.prefix, s)
		return
	}
	fmt.Fprintln(p.w, s)
}
