package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// offline is a cli that must not reach AWS: usage errors are found first.
func offline(t *testing.T, env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] },
		now:    time.Now,
		loadAWS: func(context.Context) (aws.Config, error) {
			t.Error("AWS configuration loaded")
			return aws.Config{}, errors.New("offline")
		},
		stackOutputs: func(context.Context, aws.Config, string) (map[string]string, error) {
			t.Error("stack read")
			return nil, errors.New("offline")
		},
	}
	return c, &stdout, &stderr
}

const id = "zc_0123456789abcdef01234567"

func TestUsageErrors(t *testing.T) {
	all := map[string]string{
		envConnectionsTable: "t", envTokenPrefix: "p/", envClientSecret: "c", envKeySecret: "k",
		envSubmissionQueue: "http://q", envDeadLetterQueue: "http://dlq",
	}
	tests := []struct {
		args []string
		env  map[string]string
		code int
		msg  string // in stderr
	}{
		{nil, all, exitUsage, "Usage:"},
		{[]string{"frobnicate"}, all, exitUsage, `unknown command "frobnicate"`},
		{[]string{"connections"}, all, exitUsage, "connections list"},
		{[]string{"connections", "purge"}, all, exitUsage, `unknown command "connections purge"`},
		{[]string{"-bogus", "connections", "list"}, all, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"connections", "list"}, nil, exitUsage, "CONNECTIONS_TABLE is not set"},
		{[]string{"connections", "list", "-status", "gone"}, all, exitUsage, `-status "gone"`},
		{[]string{"connections", "list", "extra"}, all, exitUsage, "unexpected arguments"},
		{[]string{"connections", "show"}, all, exitUsage, "a connection ID is required"},
		{[]string{"connections", "show", "zc_nothex"}, all, exitUsage, "is not a connection ID"},
		{[]string{"connections", "show", id, id}, all, exitUsage, "unexpected arguments after the connection ID"},
		{[]string{"connections", "show", id}, map[string]string{envConnectionsTable: "t"}, exitUsage, "TOKEN_SECRET_PREFIX is not set"},
		{[]string{"connections", "disconnect", id}, all, exitUsage, "pass -yes"},
		{[]string{"connections", "disconnect", id, "-yes"}, map[string]string{envConnectionsTable: "t"}, exitUsage,
			"TOKEN_SECRET_PREFIX is not set; ZOHO_CLIENT_SECRET_ID is not set"},
		{[]string{"connections", "rotate-key", id}, map[string]string{envConnectionsTable: "t"}, exitUsage, "SUBMISSION_KEY_SECRET_ID is not set"},
		{[]string{"connections", "set-mapping", id}, all, exitUsage, "exactly one"},
		{[]string{"connections", "set-mapping", id, "-clear"}, all, exitUsage, "pass -yes"},
		{[]string{"connections", "list", "-tenant", "a b"}, all, exitUsage, "-tenant"},
		{[]string{"connections", "set-mapping", id, "a=B", "-clear"}, all, exitUsage, "exactly one"},
		{[]string{"connections", "set-mapping", id, "email=email"}, all, exitUsage, "starting with a capital letter"},
		{[]string{"connections", "set-mapping", id, "email"}, all, exitUsage, "not field=Zoho_Field"},
		{[]string{"connections", "set-mapping", id, "-file", "/nonexistent/m.json"}, all, exitUsage, "-file"},
		{[]string{"dead-letters", "list", "-max", "0"}, all, exitUsage, "-max 0"},
		{[]string{"dead-letters", "list", "-max", "x"}, all, exitUsage, "invalid value"},
		{[]string{"dead-letters", "list"}, nil, exitUsage, "DEAD_LETTER_QUEUE_URL is not set"},
		{[]string{"dead-letters", "replay", "-max", "2", "-id", "m"}, all, exitUsage, "exclude each other"},
		{[]string{"dead-letters", "replay"}, map[string]string{envDeadLetterQueue: "http://dlq"}, exitUsage, "SUBMISSION_QUEUE_URL is not set"},
		{[]string{"dead-letters", "purge"}, all, exitUsage, "pass -yes"},
		{[]string{"help", "nothing"}, all, exitUsage, `no help for "nothing"`},
		{[]string{"teardown"}, nil, exitUsage, "-stage is required"},
		{[]string{"teardown", "-stage", "Prod"}, nil, exitUsage, `-stage "Prod" is not a stage name`},
		{[]string{"teardown", "-stage", "dev", "extra"}, nil, exitUsage, "unexpected arguments"},
		{[]string{"teardown", "-stage", "dev", "-recovery-days", "3"}, nil, exitUsage, "7 to 30 days"},
		{[]string{"teardown", "-stage", "dev"}, nil, exitUsage, "pass -yes"},
		{[]string{"teardown", "-stage", "dev", "-bogus"}, nil, exitUsage, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		c, stdout, stderr := offline(t, tt.env)
		code := c.run(context.Background(), tt.args)
		if code != tt.code || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: a usage error wrote to stdout: %s", tt.args, stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"help", "connections"}, {"connections", "-h"}, {"dead-letters", "help"}} {
		c, stdout, _ := offline(t, nil)
		if code := c.run(context.Background(), args); code != exitOK || !strings.Contains(stdout.String(), "list") {
			t.Errorf("%q: exit %d, stdout %s", args, code, stdout)
		}
	}
	for _, cmd := range commands {
		for _, args := range [][]string{{"help", cmd.group, cmd.name}, {cmd.group, cmd.name, "-h"}, {cmd.group, cmd.name, "x", "-help"}} {
			c, stdout, stderr := offline(t, nil)
			code := c.run(context.Background(), args)
			out := stdout.String()
			if code != exitOK || !strings.Contains(out, "usage: zohoconnect "+cmd.full()) || !strings.Contains(out, "-stack NAME") || stderr.Len() != 0 {
				t.Errorf("%q: exit %d, stdout:\n%s\nstderr:\n%s", args, code, out, stderr)
			}
		}
	}
}

func TestParseTakesFlagsAnywhere(t *testing.T) {
	c, _, _ := offline(t, nil)
	fs := c.flagSet(cmdConnectionsShow)
	asJSON := fs.Bool("json", false, "")
	rest, err := c.parse(cmdConnectionsShow, fs, []string{id, "-json", "-stack", "prod"})
	if err != nil || len(rest) != 1 || rest[0] != id || !*asJSON || c.stack != "prod" {
		t.Fatalf("%q %v json=%v stack=%q", rest, err, *asJSON, c.stack)
	}
}

func TestSettingsFromStack(t *testing.T) {
	c, _, stderr := offline(t, map[string]string{envConnectionsTable: "local-table", envTokenPrefix: "local/"})
	c.loadAWS = func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }
	var asked string
	c.stackOutputs = func(_ context.Context, _ aws.Config, stack string) (map[string]string, error) {
		asked = stack
		return map[string]string{"ConnectionsTableName": "prod-table", "ZohoClientSecretArn": "arn:client"}, nil
	}
	c.stack = "zohoconnect-prod"
	s, err := c.settings(context.Background(), cmdConnectionsDisconnect, cmdConnectionsDisconnect.needs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if asked != "zohoconnect-prod" || s[envConnectionsTable] != "prod-table" || s[envClientSecret] != "arn:client" || s[envTokenPrefix] != "local/" {
		t.Fatalf("%v", s)
	}
	if !strings.Contains(stderr.String(), "has no Output TokenSecretPrefix; using TOKEN_SECRET_PREFIX from the environment") {
		t.Fatalf("stderr: %s", stderr)
	}
	_, err = c.settings(context.Background(), cmdConnectionsRotateKey, cmdConnectionsRotateKey.needs, nil)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "SUBMISSION_KEY_SECRET_ID is not set and stack zohoconnect-prod has no Output SubmissionKeySecretArn") {
		t.Fatalf("%v", err)
	}
}

func TestStackFromEnvironment(t *testing.T) {
	c, _, stderr := offline(t, map[string]string{"ZOHOCONNECT_STACK": "s1"})
	c.loadAWS = func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }
	c.stackOutputs = func(_ context.Context, _ aws.Config, stack string) (map[string]string, error) {
		return nil, usagef(nil, "stack %s does not exist in this account and region", stack)
	}
	if code := c.run(context.Background(), []string{"connections", "list"}); code != exitUsage || !strings.Contains(stderr.String(), "stack s1 does not exist") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestConfirm(t *testing.T) {
	for answer, ok := range map[string]bool{"y\n": true, "YES\n": true, " yes \n": true, "n\n": false, "\n": false, "": false, "yess\n": false} {
		c, _, stderr := offline(t, nil)
		c.terminal, c.stdin = true, strings.NewReader(answer)
		err := c.confirm(cmdDeadLettersPurge, "Delete?")
		if (err == nil) != ok || !strings.Contains(stderr.String(), "Delete? [y/N]") {
			t.Errorf("%q: %v", answer, err)
		}
	}
}

func TestExitCodes(t *testing.T) {
	c, _, _ := offline(t, nil)
	for err, code := range map[error]int{
		nil:                          exitOK,
		errors.New("boom"):           exitFailed,
		usagef(nil, "bad"):           exitUsage,
		connection.ErrNotFound:       exitNotFound,
		admin.ErrMessageNotFound:     exitNotFound,
		context.Canceled:             exitFailed,
		admin.ErrRevokeFailed:        exitFailed,
		errors.Join(errors.New("x")): exitFailed,
	} {
		if got := c.fail(err); got != code {
			t.Errorf("%v: exit %d, want %d", err, got, code)
		}
	}
}

func TestRelativeTimes(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t            time.Time
		until, since string
	}{
		{now.Add(42*time.Minute + 30*time.Second), "in 42m", "in 42m"},
		{now.Add(-3 * time.Minute), "expired 3m ago", "3m ago"},
		{now.Add(45 * time.Second), "in 45s", "in 45s"},
		{now, "in 0s", "0s ago"},
		{now.Add(-(3*time.Hour + 12*time.Minute)), "expired 3h12m ago", "3h12m ago"},
		{now.Add(5 * time.Hour), "in 5h", "in 5h"},
		{now.Add(-47*time.Hour - 59*time.Minute), "expired 47h59m ago", "47h59m ago"},
		{now.Add(-9 * 24 * time.Hour), "expired 9d ago", "9d ago"},
		{time.Time{}, "-", "-"},
	}
	for _, tt := range tests {
		if got := untilExpiry(tt.t, now); got != tt.until {
			t.Errorf("untilExpiry(%v) = %q, want %q", tt.t, got, tt.until)
		}
		if got := ago(tt.t, now); got != tt.since {
			t.Errorf("ago(%v) = %q, want %q", tt.t, got, tt.since)
		}
	}
}

func TestConnectionsTable(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cs := []*connection.Connection{
		{ID: id, Location: "eu", Environment: "sandbox", OrgID: "700", OrgName: "Acme\tSandbox\x1b[2J", Status: connection.Active,
			TokenExpiresAt: now.Add(42 * time.Minute), UserEmail: "ana@example.eu"},
		{ID: "zc_ffffffffffffffffffffffff", Location: "us", Environment: "production", OrgID: "800", Status: connection.ReauthRequired,
			TokenExpiresAt: now.Add(-3 * time.Minute)},
	}
	var b bytes.Buffer
	if err := connectionsTable(&b, cs, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ID", "TOKEN EXPIRES", "Acme Sandbox [2J (700)", "2025-06-01 12:42 UTC (in 42m)", "expired 3m ago", "reauth_required", "ana@example.eu"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) || strings.Count(out, "\n") != 3 {
		t.Errorf("unsafe or broken table:\n%q", out)
	}
}

func TestDeadLetterFields(t *testing.T) {
	for d, want := range map[*admin.DeadLetter]string{
		{JSON: true, FieldNames: []string{"Email", "Last_Name"}}: "2: Email, Last_Name",
		{JSON: true}:                  "-",
		{JSON: false, BodyBytes: 12}:  "(not JSON, 12 bytes)",
		{JSON: true, FieldNames: nil}: "-",
	} {
		if got := fieldsText(*d); got != want {
			t.Errorf("%+v: %q, want %q", d, got, want)
		}
	}
	j := deadLetterToJSON(admin.DeadLetter{MessageID: "m", FieldNames: []string{"A", "B"}, JSON: true})
	if j.FieldCount != 2 {
		t.Fatal(j)
	}
}

func TestSecretsLineShowsNoValue(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	d := &admin.Detail{
		Connection: &connection.Connection{ID: id, FieldMapping: map[string]string{"your-name": "Last_Name"}},
		Secrets: []awsstore.SecretInfo{
			{Kind: "access", Name: "p/access/" + id, Exists: true, LastChanged: now.Add(-5 * time.Minute)},
			{Kind: "refresh", Name: "p/refresh/" + id},
		},
	}
	var b bytes.Buffer
	if err := connectionDetail(&b, d, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"access token secret", "p/access/" + id + ": exists, last changed 2025-06-01 11:55 UTC (5m ago)", "p/refresh/" + id + ": missing", "your-name → Last_Name"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

func TestPluralAndExpiry(t *testing.T) {
	for got, want := range map[string]string{
		plural(1, "message"): "1 message", plural(0, "message"): "0 messages", plural(2, "entry"): "2 entries", plural(1, "entry"): "1 entry",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &connection.Connection{Status: connection.Disconnected, TokenExpiresAt: now.Add(time.Hour)}
	if got := expiry(c, now); got != "-" {
		t.Errorf("a disconnected connection's token expires %q", got)
	}
	c.Status = connection.ReauthRequired
	if got := expiry(c, now); got != "2025-06-01 13:00 UTC (in 1h)" {
		t.Errorf("%q", got)
	}
}
