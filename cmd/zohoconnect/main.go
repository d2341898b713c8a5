// Command zohoconnect is the operator's command of a zohoconnect
// deployment: it lists, shows and disconnects connections, rotates their
// submission keys, sets their field mappings, and lists, replays and
// purges dead-lettered submissions. It reads the same environment
// variables as the functions (or a CloudFormation stack's Outputs with
// -stack), so it works against the local stack and real AWS alike.
//
//	zohoconnect connections list
//	zohoconnect -stack zohoconnect-prod connections show zc_0123456789abcdef01234567
//	zohoconnect help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitNotFound = 3
)

const name = "zohoconnect"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command, in process: tests call it with their own
// output and environment. AWS settings (AWS_PROFILE, AWS_REGION,
// AWS_ENDPOINT_URL_*) are read by the AWS SDK from the process
// environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{
		stdin: os.Stdin, terminal: isTerminal(os.Stdin),
		stdout: stdout, stderr: stderr, getenv: getenv,
		now: time.Now, loadAWS: loadAWSConfig, stackOutputs: describeStackOutputs,
	}
	return c.run(ctx, args)
}

// cli is one run of the command and its outside world.
type cli struct {
	stdin    io.Reader
	terminal bool // stdin is a terminal: confirmations may be asked
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	now      func() time.Time

	loadAWS      func(ctx context.Context) (aws.Config, error)
	stackOutputs func(ctx context.Context, cfg aws.Config, stack string) (map[string]string, error)

	stack  string // -stack, or ZOHOCONNECT_STACK
	aws    *aws.Config
	stackV map[string]string
}

// command is one subcommand.
type command struct {
	group, name string
	args        string // the usage line after the name
	summary     string
	help        string // more, for `help COMMAND`
	needs       []string
	run         func(ctx context.Context, c *cli, cmd *command, args []string) error
}

func (cmd *command) full() string { return strings.TrimSpace(cmd.group + " " + cmd.name) }

func (cmd *command) usageLine() string { return name + " " + cmd.full() + " " + cmd.args }

var commands []*command

func init() {
	commands = []*command{
		cmdConnectionsList, cmdConnectionsShow, cmdConnectionsDisconnect, cmdConnectionsRotateKey, cmdConnectionsSetMapping, cmdConnectionsSetConcurrency,
		cmdDeadLettersList, cmdDeadLettersReplay, cmdDeadLettersPurge,
		cmdFormsCreate, cmdFormsList, cmdFormsDelete,
		cmdTokensMigrate,
		cmdTeardown,
	}
}

func findCommand(group, sub string) *command {
	for _, cmd := range commands {
		if cmd.group == group && cmd.name == sub {
			return cmd
		}
	}
	return nil
}

func hasGroup(group string) bool {
	for _, cmd := range commands {
		if cmd.group == group {
			return true
		}
	}
	return false
}

// usageError is a mistake in how the command was called (exit 2).
type usageError struct {
	msg string
	cmd *command // whose usage to show; nil for the command's own
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd *command, format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), cmd: cmd}
}

func (c *cli) run(ctx context.Context, args []string) int {
	global := flag.NewFlagSet(name, flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&c.stack, "stack", c.getenv("ZOHOCONNECT_STACK"), "read the configuration from the Outputs of the CloudFormation stack `NAME`")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(c.stdout)
			return exitOK
		}
		return c.fail(usagef(nil, "%v", err))
	}
	rest := global.Args()
	if len(rest) == 0 {
		c.printUsage(c.stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		return c.help(rest[1:])
	}
	group := rest[0]
	if cmd := findCommand(group, ""); cmd != nil { // a command of one word: teardown
		return c.fail(cmd.run(ctx, c, cmd, rest[1:]))
	}
	if !hasGroup(group) {
		return c.fail(usagef(nil, "unknown command %q", group))
	}
	if len(rest) < 2 || rest[1] == "-h" || rest[1] == "-help" || rest[1] == "--help" || rest[1] == "help" {
		w, code := c.stdout, exitOK
		if len(rest) < 2 {
			w, code = c.stderr, exitUsage
		}
		c.printGroupUsage(w, group)
		return code
	}
	cmd := findCommand(group, rest[1])
	if cmd == nil {
		return c.fail(usagef(nil, "unknown command %q", group+" "+rest[1]))
	}
	return c.fail(cmd.run(ctx, c, cmd, rest[2:]))
}

// fail reports err and picks the exit code.
func (c *cli) fail(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "%s: %s\n", name, ue.msg)
		if ue.cmd != nil {
			fmt.Fprintf(c.stderr, "usage: %s\nRun '%s help %s' for details.\n", ue.cmd.usageLine(), name, ue.cmd.full())
		} else {
			fmt.Fprintf(c.stderr, "Run '%s help' for usage.\n", name)
		}
		return exitUsage
	case errors.Is(err, connection.ErrNotFound), errors.Is(err, admin.ErrMessageNotFound):
		fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
		return exitNotFound
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(c.stderr, "%s: interrupted\n", name)
		return exitFailed
	default:
		fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
		return exitFailed
	}
}

func (c *cli) help(args []string) int {
	switch len(args) {
	case 0:
		c.printUsage(c.stdout)
		return exitOK
	case 1:
		if cmd := findCommand(args[0], ""); cmd != nil {
			return c.fail(cmd.run(context.Background(), c, cmd, []string{"-h"}))
		}
		if hasGroup(args[0]) {
			c.printGroupUsage(c.stdout, args[0])
			return exitOK
		}
	case 2:
		if cmd := findCommand(args[0], args[1]); cmd != nil {
			// The command prints its help, flags included, on -h.
			return c.fail(cmd.run(context.Background(), c, cmd, []string{"-h"}))
		}
	}
	return c.fail(usagef(nil, "no help for %q", strings.Join(args, " ")))
}

const usageHead = `zohoconnect operates a zohoconnect deployment: its connections to
customers' Zoho CRM orgs and its dead-lettered submissions.

Usage:
  zohoconnect [-stack NAME] COMMAND [flags] [arguments]

Commands:
`

const usageTail = `  help [COMMAND]   this text, or a command's details

Every command takes -h, and -stack NAME anywhere among its flags.

Configuration (only what a command needs is required):
  From the environment, with the functions' own variable names:
    CONNECTIONS_TABLE, TOKEN_SECRET_PREFIX, ZOHO_CLIENT_SECRET_ID,
    SUBMISSION_KEY_SECRET_ID, SUBMISSION_QUEUE_URL, DEAD_LETTER_QUEUE_URL
    (found from SUBMISSION_QUEUE_URL's redrive policy when unset),
    IDEMPOTENCY_TABLE, and ZOHO_ENDPOINT_OVERRIDE (local runs only).
    Locally: . .cache/localstack.env; eval "$(go run ./cmd/localstack | sed 's/^/export /')"
  Or from a deployed stack's Outputs: -stack NAME or ZOHOCONNECT_STACK
    (ConnectionsTableName, TokenSecretPrefix, ZohoClientSecretArn,
    SubmissionKeySecretArn, SubmissionQueueUrl, SubmissionDeadLetterQueueUrl,
    IdempotencyTableName);
    an Output the stack lacks may be given as its variable.
  AWS: the SDK's usual AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_*.

Output: tables for people, -json (one JSON object per line) for scripts;
data goes to stdout, messages to stderr. No token or key is ever printed,
except the new submission key that rotate-key exists to show, once.

Exit status: 0 done, 1 failed, 2 usage error, 3 not found.
`

func (c *cli) printUsage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %s %s\n      %s\n", cmd.full(), cmd.args, cmd.summary)
	}
	fmt.Fprint(w, usageTail)
}

func (c *cli) printGroupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n")
	for _, cmd := range commands {
		if cmd.group == group {
			fmt.Fprintf(w, "  %s\n      %s\n", cmd.usageLine(), cmd.summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s help %s COMMAND' for a command's details.\n", name, group)
}

func (c *cli) printCommandHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", cmd.usageLine(), cmd.summary)
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	if len(cmd.needs) > 0 {
		fmt.Fprintf(w, "\nNeeds: %s\n", strings.Join(cmd.needs, ", "))
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// flagSet is a subcommand's flags, with -stack.
func (c *cli) flagSet(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.full(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.stack, "stack", c.stack, "read the configuration from the Outputs of the CloudFormation stack `NAME`")
	return fs
}

// parse reads a subcommand's flags, which may come before, between or
// after its arguments, and returns the arguments. -h prints the command's
// help.
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printCommandHelp(c.stdout, cmd, fs)
				return nil, err
			}
			return nil, usagef(cmd, "%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// connectionID reads the one ID argument.
func connectionID(cmd *command, args []string) (string, error) {
	if len(args) == 0 {
		return "", usagef(cmd, "a connection ID is required")
	}
	if len(args) > 1 {
		return "", usagef(cmd, "unexpected arguments after the connection ID: %q", args[1:])
	}
	if !connection.ValidID(args[0]) {
		return "", usagef(cmd, "%q is not a connection ID (zc_ and 24 hex digits)", args[0])
	}
	return args[0], nil
}

func noArgs(cmd *command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "unexpected arguments %q", args)
	}
	return nil
}

// confirm asks a yes/no question on the terminal.
func (c *cli) confirm(cmd *command, question string) error {
	if !c.terminal {
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	fmt.Fprintf(c.stderr, "%s [y/N] ", question)
	var answer string
	buf := make([]byte, 1)
	for {
		n, err := c.stdin.Read(buf)
		if n == 1 && buf[0] != '\n' {
			answer += string(buf[0])
		}
		if err != nil || (n == 1 && buf[0] == '\n') || len(answer) > 16 {
			break
		}
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed: nothing was changed")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
