package lambdarun

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Report is what is known of one invocation's cost: the emulator's REPORT
// line, corrected where the emulator does not measure what the line says.
type Report struct {
	// Line is the emulator's REPORT line as it printed it.
	Line      string
	RequestID string
	// Duration and BilledDuration are the REPORT line's. On a cold
	// invocation the emulator's Duration includes the init (Lambda's
	// does not): Invoke is the handler alone.
	Duration, BilledDuration time.Duration
	// Cold is true when this invocation started the runtime (the REPORT
	// line has an Init Duration).
	Cold bool
	// ReportedInitDuration is the REPORT line's Init Duration. The
	// emulator times only the call that starts the init, not the init:
	// it reads well under a millisecond whatever the function does. Init
	// is the real figure.
	ReportedInitDuration time.Duration
	// Init is the runtime's init as the emulator's own log line "INIT
	// REPORT(durationMs: ...)" has it: from starting the bootstrap to its
	// first request for an event, what Lambda reports as Init Duration.
	// Zero on warm invocations, or when the line was not seen.
	Init time.Duration
	// Invoke is the handler's time from the emulator's log line "INVOKE
	// RTDONE(... duration: ...)"; zero when the line was not seen.
	Invoke time.Duration
	// MemorySizeMB is the REPORT line's Memory Size (the function's
	// MemorySize). The line's Max Memory Used repeats it: the emulator
	// does not measure memory.
	MemorySizeMB int
	// MaxRSSBytes is the bootstrap process's peak resident set (VmHWM)
	// after the invocation; 0 when it could not be read.
	MaxRSSBytes int64
}

// ParseReport reads a REPORT line:
//
//	REPORT RequestId: <id>\tInit Duration: 0.56 ms\tDuration: 102.13 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t
func ParseReport(line string) (Report, error) {
	r := Report{Line: strings.TrimRight(line, "\r\n")}
	rest, ok := strings.CutPrefix(r.Line, "REPORT ")
	if !ok {
		return r, fmt.Errorf("lambdarun: not a REPORT line: %q", line)
	}
	for _, field := range strings.Split(rest, "\t") {
		name, value, ok := strings.Cut(strings.TrimSpace(field), ": ")
		if !ok {
			continue
		}
		var err error
		switch name {
		case "RequestId":
			r.RequestID = value
		case "Init Duration":
			r.Cold = true
			r.ReportedInitDuration, err = parseMillis(value)
		case "Duration":
			r.Duration, err = parseMillis(value)
		case "Billed Duration":
			r.BilledDuration, err = parseMillis(value)
		case "Memory Size":
			r.MemorySizeMB, err = strconv.Atoi(strings.TrimSuffix(value, " MB"))
		}
		if err != nil {
			return r, fmt.Errorf("lambdarun: REPORT field %s: %w", name, err)
		}
	}
	if r.RequestID == "" {
		return r, fmt.Errorf("lambdarun: REPORT line without RequestId: %q", line)
	}
	return r, nil
}

// parseMillis reads "12.34 ms" or "12.34ms".
func parseMillis(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "ms"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(math.Round(f * float64(time.Millisecond))), nil
}

// The emulator's own log lines (its stderr) that carry figures.
var (
	initReportLine  = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeStartLine = regexp.MustCompile(`INVOKE START\(requestId: ([^)]+)\)`)
	invokeDoneLine  = regexp.MustCompile(`INVOKE RTDONE\(.*duration: ([0-9.]+)ms\)`)
)

// String is a one-line summary with the corrected figures.
func (r Report) String() string {
	var b strings.Builder
	if r.Cold {
		fmt.Fprintf(&b, "cold start: init %s, invoke %s", ms(r.Init), ms(r.Invoke))
	} else {
		fmt.Fprintf(&b, "warm: invoke %s", ms(r.Invoke))
	}
	fmt.Fprintf(&b, "; REPORT duration %s", ms(r.Duration))
	if r.MaxRSSBytes > 0 {
		fmt.Fprintf(&b, "; max RSS %.1f MB of %d MB", float64(r.MaxRSSBytes)/(1<<20), r.MemorySizeMB)
	}
	return b.String()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}
