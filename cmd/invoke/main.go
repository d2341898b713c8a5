// Command invoke runs one function of template.yaml as Lambda runs it, on
// this machine and without Docker: its real bootstrap (built for
// linux/<this machine's arch>) under the Lambda Runtime Interface
// Emulator, with the environment the template gives it, against a
// private slice of the local stack and the Zoho simulator. It invokes it
// with a sample event made real (internal/localinvoke: what the event
// names is made to exist first), prints the function's logs and the
// emulator's REPORT line on stderr and the answer on stdout.
//
//	. .cache/localstack.env            # or: make invoke EVENT=events/connect.json
//	go run ./cmd/invoke -event events/connect.json
//	go run ./cmd/invoke -function SyncFunction -event events/sqs-retry.json -n 3
//
// Exit status: 0 the function answered, 1 it failed (or the stage could
// not be made), 2 usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/lambdarun"
	"github.com/zohoconnect/zohoconnect/internal/localinvoke"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	function := fs.String("function", "", "the function's logical id in template.yaml (default: the one the template delivers the event to)")
	eventPath := fs.String("event", "", "the event's JSON file, e.g. events/connect.json")
	n := fs.Int("n", 1, "invocations; the event is made real again for each (the first is cold, the rest warm)")
	cold := fs.Bool("cold", true, "start the function afresh after the stage's seeding, so the first invocation is a cold start")
	raw := fs.Bool("raw", false, "send the event as it is, without making it real")
	all := fs.Bool("logs", false, "print every line of every emulator and function (seeds included), not only the invoked function's")
	tokenStore := fs.String("token-store", localinvoke.TokenStoreSecretsManager, "the template's TokenStore: SecretsManager, or DynamoDB (the tokens table and KMS keys, moto's KMS)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: invoke [-function LogicalId] -event events/NAME.json [-n N] [-cold=false] [-raw] [-logs] [-token-store SecretsManager|DynamoDB]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *eventPath == "" || fs.NArg() > 0 || *n < 1 {
		fs.Usage()
		return 2
	}
	event, err := os.ReadFile(*eventPath)
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return 2
	}
	if !json.Valid(event) {
		fmt.Fprintf(stderr, "invoke: %s is not JSON\n", *eventPath)
		return 2
	}

	if *tokenStore != localinvoke.TokenStoreSecretsManager && *tokenStore != localinvoke.TokenStoreDynamoDB {
		fmt.Fprintf(stderr, "invoke: -token-store %q: want %s or %s\n", *tokenStore, localinvoke.TokenStoreSecretsManager, localinvoke.TokenStoreDynamoDB)
		return 2
	}
	opts := localinvoke.Options{TokenStore: *tokenStore}
	if *all {
		opts.Output = stderr
	}
	start := time.Now()
	stage, err := localinvoke.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := stage.Close(cctx); err != nil {
			fmt.Fprintln(stderr, "invoke: cleaning up:", err)
		}
	}()
	fmt.Fprintf(stderr, "invoke: %d functions under the emulator in %.1fs, bootstraps for linux/%s: %s; stage %s, Zoho simulator %s\n",
		len(stage.Functions()), time.Since(start).Seconds(), runtime.GOARCH, sizes(stage.Bootstraps), stage.Deploy.Vars["Stage"], stage.SimURL)

	target := *function
	if delivered, err := stage.FunctionFor(event); err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		if target == "" {
			return 2
		}
	} else if target == "" {
		if delivered == "" {
			fmt.Fprintf(stderr, "invoke: the template delivers %s to no function: name one with -function\n", *eventPath)
			return 2
		}
		target = delivered
	} else if delivered != "" && delivered != target {
		fmt.Fprintf(stderr, "invoke: note: the template delivers this event to %s, not %s\n", delivered, target)
	}
	if !contains(stage.Functions(), target) {
		fmt.Fprintf(stderr, "invoke: no function %s in the template (it has %s)\n", target, strings.Join(stage.Functions(), ", "))
		return 2
	}

	failed := false
	for i := 0; i < *n; i++ {
		payload := event
		if !*raw {
			seeds := len(stage.Calls())
			if payload, err = stage.Prepare(ctx, *eventPath, event); err != nil {
				fmt.Fprintln(stderr, "invoke: making the event real:", err)
				return 1
			}
			for _, c := range stage.Calls()[seeds:] {
				fmt.Fprintf(stderr, "invoke: %s: %s → %s\n", c.What, c.Function, brief(c.Invocation))
			}
		}
		if i == 0 && *cold {
			if err := stage.Restart(ctx, target); err != nil {
				fmt.Fprintln(stderr, "invoke:", err)
				return 1
			}
		}
		fmt.Fprintf(stderr, "invoke: %s with %s (%d/%d)\n", target, *eventPath, i+1, *n)
		inv, err := stage.Invoke(ctx, target, *eventPath, payload)
		if err != nil {
			fmt.Fprintln(stderr, "invoke:", err)
			return 1
		}
		if !*all {
			for _, l := range inv.Logs {
				fmt.Fprintln(stderr, l)
			}
		}
		fmt.Fprintln(stdout, pretty(inv.Payload))
		if inv.Report.Line != "" {
			fmt.Fprintln(stderr, inv.Report.Line)
			fmt.Fprintf(stderr, "invoke: %s\n", inv.Report)
		} else {
			fmt.Fprintf(stderr, "invoke: no REPORT line: the runtime did not start (the emulator answered %d)\n", inv.StatusCode)
		}
		if inv.FunctionError != "" {
			fmt.Fprintf(stderr, "invoke: the function failed (X-Amz-Function-Error: %s)\n", inv.FunctionError)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// brief is one invocation in a few words: its HTTP status when it
// answered an HTTP API request, and whether it was a cold start.
func brief(inv *lambdarun.Invocation) string {
	var a struct {
		StatusCode int `json:"statusCode"`
	}
	what := "answered"
	if inv.FunctionError != "" {
		what = "failed"
	} else if json.Unmarshal(inv.Payload, &a) == nil && a.StatusCode != 0 {
		what = fmt.Sprintf("%d", a.StatusCode)
	}
	return what + " (" + inv.Report.String() + ")"
}

func pretty(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return string(b)
}

func sizes(boots map[string]string) string {
	ids := make([]string, 0, len(boots))
	for id := range boots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		st, err := os.Stat(boots[id])
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MB", id, float64(st.Size())/(1<<20)))
	}
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
