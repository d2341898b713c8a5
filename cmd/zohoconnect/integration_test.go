//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/localstack"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// harness is one test's deployment: the connect flow of testflow (the
// local stack made from the template, the Zoho simulator, the real
// callback function to connect orgs with), and the command's environment
// pointing at all of it.
type harness struct {
	*testflow.Flow
	vars map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cs := localstack.ClientSecret{ClientID: "1000.ADMINTEST", ClientSecret: "s3cr3t-client-value", RedirectURI: "https://api.example.test/oauth/callback",
		ClientSecrets: map[string]string{"eu": "s3cr3t-eu-value"}}
	f := testflow.New(t, zohosim.Options{}, testenv.WithClientSecret(cs), testenv.WithQueues())
	// The command's environment: what the functions get from the
	// template, as `go run ./cmd/localstack` prints it.
	vars := map[string]string{}
	for _, fn := range []string{"CallbackFunction", "SyncFunction"} {
		for k, v := range f.Env.FunctionEnv(t, fn) {
			vars[k] = v
		}
	}
	vars[envDeadLetterQueue] = f.Env.Queues["SubmissionDeadLetterQueue"]
	if vars[envDeadLetterQueue] == "" || vars[envSubmissionQueue] == "" || vars[envZohoOverride] != f.SimURL {
		t.Fatalf("the template's environment lacks queues or the simulator: %v", vars)
	}
	return &harness{Flow: f, vars: vars}
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func (h *harness) run(t *testing.T, args ...string) result {
	t.Helper()
	return h.runWith(t, nil, args...)
}

// runWith runs the command in process, with vars changed by over ("" unsets).
func (h *harness) runWith(t *testing.T, over map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return h.vars[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr, getenv)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// runAt runs the command with stdin a terminal (where a person types
// answer to its question) or not.
func (h *harness) runAt(t *testing.T, terminal bool, answer string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(answer), terminal: terminal, stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return h.vars[k] },
		now: time.Now, loadAWS: loadAWSConfig, stackOutputs: describeStackOutputs}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := c.run(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// stored reads a connection from the table.
func (h *harness) stored(t *testing.T, id string) *connection.Connection {
	t.Helper()
	c, err := h.store().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connect runs the real flow: /connect, the simulator's consent page,
// /oauth/callback; it returns the callback's JSON answer.
func (h *harness) connect(t *testing.T, environment, orgID string) map[string]any {
	t.Helper()
	return h.Connected(t, "environment="+environment, orgID)
}

func (h *harness) store() *awsstore.ConnectionStore {
	return awsstore.NewConnectionStore(h.Env.DynamoDB, h.Env.Tables["ConnectionsTable"])
}

func (h *harness) vault() *awsstore.TokenVault {
	return &awsstore.TokenVault{SM: h.Env.SecretsManager, Prefix: h.Env.TokenSecretPrefix}
}

// noSecrets fails when a run printed a token, key or secret.
func (h *harness) noSecrets(t *testing.T, runs ...result) {
	t.Helper()
	for _, run := range runs {
		h.CheckText(t, "a run's stdout", run.stdout)
		h.CheckText(t, "a run's stderr", run.stderr)
	}
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func TestConnectionCommands(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ana := h.Sim.AddUser(zohosim.User{Email: "ana@example.eu", Location: "eu", Orgs: []zohosim.Org{{Name: "Acme Sandbox", Environment: zoho.Sandbox}}})
	bob := h.Sim.AddUser(zohosim.User{Email: "bob@example.com", Location: "us", Orgs: []zohosim.Org{{Name: "Bob Inc", Environment: zoho.Production}}})
	euBody := h.connect(t, "sandbox", ana.Orgs[0].ID)
	usBody := h.connect(t, "production", bob.Orgs[0].ID)
	eu, us := euBody["connection_id"].(string), usBody["connection_id"].(string)
	var runs []result

	// list: a table of both, then JSON lines, then a filter.
	r := h.run(t, "connections", "list").must(t, exitOK)
	runs = append(runs, r)
	expiry := regexp.MustCompile(`UTC \(in (59m|1h)\)`)
	for _, want := range []string{eu, us, "Acme Sandbox (" + ana.Orgs[0].ID + ")", "Bob Inc (" + bob.Orgs[0].ID + ")", "sandbox", "production",
		"ana@example.eu", "bob@example.com", "TOKEN EXPIRES"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list has no %q:\n%s", want, r.stdout)
		}
	}
	if len(expiry.FindAllString(r.stdout, -1)) != 2 || !strings.Contains(r.stderr, "2 connections (scanned 2 items") {
		t.Errorf("list:\n%s\n%s", r.stdout, r.stderr)
	}
	r = h.run(t, "connections", "list", "-json", "-status", "active").must(t, exitOK)
	runs = append(runs, r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("list -json: %q", r.stdout)
	}
	for _, l := range lines {
		var j connectionJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil || j.Status != "active" || j.TokenExpiresAt == "" || j.SubmissionKeyID == "" {
			t.Errorf("list -json line %s: %v", l, err)
		}
	}
	if r = h.run(t, "connections", "list", "-status", "disconnected").must(t, exitOK); r.stdout != "" {
		t.Errorf("disconnected: %q", r.stdout)
	}

	// show: every field, and the two secrets.
	r = h.run(t, "connections", "show", eu).must(t, exitOK)
	runs = append(runs, r)
	for _, want := range []string{"connection", eu, "eu (accounts https://accounts.zoho.eu", "Acme Sandbox", "ana@example.eu", "ZohoCRM.modules.ALL",
		"status", "active", "submission key id", "access token secret", h.Env.TokenSecretPrefix + "access/" + eu + ": exists, last changed",
		h.Env.TokenSecretPrefix + "refresh/" + eu + ": exists"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show has no %q:\n%s", want, r.stdout)
		}
	}
	r = h.run(t, "connections", "show", "-json", us).must(t, exitOK)
	runs = append(runs, r)
	var shown connectionJSON
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.OrgID != bob.Orgs[0].ID || shown.Location != "us" ||
		len(shown.Secrets) != 2 || !shown.Secrets[0].Exists || !shown.Secrets[1].Exists || shown.Secrets[1].LastChanged == "" {
		t.Fatalf("show -json: %v %s", err, r.stdout)
	}
	missing := connection.ID("eu", zoho.Production, "1")
	if r = h.run(t, "connections", "show", missing); r.code != exitNotFound || !strings.Contains(r.stderr, missing+": connection not found") {
		t.Fatalf("show unknown: %+v", r)
	}

	// rotate-key: the old key stops working, the new one works.
	oldKey := euBody["submission_key"].(string)
	r = h.run(t, "connections", "rotate-key", eu, "-yes").must(t, exitOK)
	newKey := strings.TrimSpace(r.stdout)
	h.AddSecret(newKey)
	stored, err := h.store().Get(ctx, eu)
	if err != nil {
		t.Fatal(err)
	}
	if connection.KeyMatches(oldKey, stored.SubmissionHash) || !connection.KeyMatches(newKey, stored.SubmissionHash) || !strings.HasPrefix(newKey, "zsk_") {
		t.Fatal("rotate-key: the stored hash is not the new key's")
	}
	if strings.Contains(r.stderr, newKey) || strings.Count(r.stdout, newKey) != 1 {
		t.Fatal("rotate-key: the key is printed other than once on stdout")
	}
	keys, _ := connection.NewSubmissionKeys([]byte(h.Env.SubmissionKey))
	if keys.Derive(eu, stored.SubmissionKeyID).Reveal() != newKey {
		t.Fatal("rotate-key: the key is not derived from the master secret (X-Signature would fail)")
	}
	if r = h.run(t, "connections", "rotate-key", missing, "-yes"); r.code != exitNotFound {
		t.Fatalf("rotate-key unknown: %+v", r)
	}
	if _, err := h.store().Get(ctx, missing); !errors.Is(err, connection.ErrNotFound) {
		t.Fatal("rotate-key made a connection")
	}

	// Without a terminal they need -yes; answered no, rotate-key and
	// set-mapping -clear change nothing.
	if r := h.runAt(t, false, "", "connections", "rotate-key", eu); r.code != exitUsage || !strings.Contains(r.stderr, "pass -yes") {
		t.Fatalf("rotate-key without -yes: %+v", r)
	}
	before := h.stored(t, eu)
	for _, args := range [][]string{{"connections", "rotate-key", eu}, {"connections", "set-mapping", eu, "-clear"}} {
		if r := h.runAt(t, true, "n\n", args...); r.code == exitOK {
			t.Fatalf("%v answered no: %+v", args, r)
		}
	}
	if after := h.stored(t, eu); after.SubmissionHash != before.SubmissionHash || len(after.FieldMapping) != len(before.FieldMapping) {
		t.Fatalf("a refused confirmation changed %s", eu)
	}
	// set-mapping: arguments, a file, -clear.
	r = h.run(t, "connections", "set-mapping", us, "your-name=Last_Name", "e-mail=Email").must(t, exitOK)
	runs = append(runs, r)
	if stored, _ = h.store().Get(ctx, us); len(stored.FieldMapping) != 2 || stored.FieldMapping["your-name"] != "Last_Name" || stored.FieldMapping["e-mail"] != "Email" {
		t.Fatalf("set-mapping: stored %v", stored.FieldMapping)
	}
	file := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(file, []byte(`{"company":"Company","budget":"Budget_EUR"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.run(t, "connections", "set-mapping", us, "-file", file, "-json").must(t, exitOK)
	if stored, _ = h.store().Get(ctx, us); len(stored.FieldMapping) != 2 || stored.FieldMapping["budget"] != "Budget_EUR" ||
		!strings.Contains(r.stdout, `"field_mapping":{"budget":"Budget_EUR","company":"Company"}`) {
		t.Fatalf("set-mapping -file: stored %v, printed %s", stored.FieldMapping, r.stdout)
	}
	if r = h.run(t, "connections", "set-mapping", us, "budget=budget"); r.code != exitUsage {
		t.Fatalf("bad name: %+v", r)
	}
	h.run(t, "connections", "set-mapping", us, "-clear", "-yes").must(t, exitOK)
	if stored, _ = h.store().Get(ctx, us); len(stored.FieldMapping) != 0 || stored.Status != connection.Active {
		t.Fatalf("set-mapping -clear: %+v", stored)
	}
	if r = h.run(t, "connections", "set-mapping", missing, "a=B"); r.code != exitNotFound {
		t.Fatalf("set-mapping unknown: %+v", r)
	}

	// set-concurrency: stored for sync's limiter; 0 back to the edition's.
	r = h.run(t, "connections", "set-concurrency", us, "3", "-json").must(t, exitOK)
	if stored, _ = h.store().Get(ctx, us); stored.ConcurrencyLimit != 3 || !strings.Contains(r.stdout, `"concurrency_limit":3`) {
		t.Fatalf("set-concurrency: stored %d, printed %s", stored.ConcurrencyLimit, r.stdout)
	}
	for _, bad := range []string{"-1", "26", "five"} {
		if r = h.run(t, "connections", "set-concurrency", us, bad); r.code != exitUsage {
			t.Fatalf("set-concurrency %s: %+v", bad, r)
		}
	}
	h.run(t, "connections", "set-concurrency", us, "0").must(t, exitOK)
	if stored, _ = h.store().Get(ctx, us); stored.ConcurrencyLimit != 0 {
		t.Fatalf("set-concurrency 0: %d", stored.ConcurrencyLimit)
	}
	if r = h.run(t, "connections", "set-concurrency", missing, "2"); r.code != exitNotFound {
		t.Fatalf("set-concurrency unknown: %+v", r)
	}

	// disconnect: revoked at the EU accounts server, secrets gone, marked.
	refresh, err := h.vault().RefreshToken(ctx, eu)
	if err != nil || !h.Sim.RefreshTokenActive(refresh) {
		t.Fatalf("refresh token before: %v", err)
	}
	h.AddSecret(refresh)
	r = h.run(t, "connections", "disconnect", eu, "-yes").must(t, exitOK)
	runs = append(runs, r)
	if h.Sim.RefreshTokenActive(refresh) {
		t.Fatal("disconnect: the refresh token is still active at Zoho")
	}
	for _, req := range h.Sim.Requests() {
		if req.Path == "/oauth/v2/token/revoke" && req.Host != "accounts.zoho.eu" {
			t.Errorf("revoked at %s", req.Host)
		}
	}
	for _, kind := range []string{"access/", "refresh/"} {
		_, err := h.Env.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(h.Env.TokenSecretPrefix + kind + eu)})
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("disconnect: secret %s remains: %v", kind, err)
		}
	}
	stored, _ = h.store().Get(ctx, eu)
	if stored.Status != connection.Disconnected || stored.StatusReason != "disconnected by operator" || time.Since(stored.StatusChangedAt) > time.Minute {
		t.Fatalf("disconnect: stored %+v", stored)
	}
	if !strings.Contains(r.stdout, "revoked at https://accounts.zoho.eu") || !strings.Contains(r.stdout, "deleted") {
		t.Errorf("disconnect printed:\n%s", r.stdout)
	}
	// The other connection is untouched; a second disconnect is harmless.
	if usRefresh, err := h.vault().RefreshToken(ctx, us); err != nil || !h.Sim.RefreshTokenActive(usRefresh) {
		t.Fatal("disconnect touched another connection")
	}
	r = h.run(t, "connections", "disconnect", eu, "-yes", "-json").must(t, exitOK)
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["revoke"] != "no_refresh_token" || out["status"] != "disconnected" || out["secrets_deleted"] != true {
		t.Fatalf("second disconnect: %v %s", err, r.stdout)
	}
	if r = h.run(t, "connections", "disconnect", missing, "-yes"); r.code != exitNotFound {
		t.Fatalf("disconnect unknown: %+v", r)
	}
	r = h.run(t, "connections", "list", "-status", "disconnected").must(t, exitOK)
	if !strings.Contains(r.stdout, eu) || strings.Contains(r.stdout, us) {
		t.Fatalf("list disconnected:\n%s", r.stdout)
	}
	r = h.run(t, "connections", "show", eu).must(t, exitOK)
	runs = append(runs, r)
	if !strings.Contains(r.stdout, "disconnected: disconnected by operator") || !strings.Contains(r.stdout, "access/"+eu+": missing") {
		t.Fatalf("show after disconnect:\n%s", r.stdout)
	}
	h.noSecrets(t, runs...)
}

func TestDisconnectStrictWhenZohoIsDown(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	u := h.Sim.AddUser(zohosim.User{Email: "cy@example.in", Location: "in", Orgs: []zohosim.Org{{Name: "Cy Dev", Environment: zoho.Developer}}})
	id := h.connect(t, "developer", u.Orgs[0].ID)["connection_id"].(string)
	h.Sim.Inject(zohosim.Fault{Path: "/oauth/v2/token/revoke", Status: 503})

	r := h.run(t, "connections", "disconnect", id, "-yes", "-strict")
	if r.code != exitFailed || !strings.Contains(r.stderr, "could not be revoked") {
		t.Fatalf("%+v", r)
	}
	if c, _ := h.store().Get(ctx, id); c.Status != connection.Active {
		t.Fatal("-strict changed the connection")
	}
	if _, err := h.vault().RefreshToken(ctx, id); err != nil {
		t.Fatal("-strict deleted the secrets")
	}

	// Without -strict it goes on and says what failed.
	r = h.run(t, "connections", "disconnect", id, "-yes").must(t, exitOK)
	if !strings.Contains(r.stdout, "NOT revoked") || !strings.Contains(r.stderr, "warning: the refresh token of "+id+" was not revoked") {
		t.Fatalf("%+v", r)
	}
	if c, _ := h.store().Get(ctx, id); c.Status != connection.Disconnected {
		t.Fatal("not disconnected")
	}
	if _, err := h.vault().RefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
		t.Fatalf("secrets remain: %v", err)
	}
	h.noSecrets(t, r)
}

// deadLetter is a body as the sync function might dead-letter it, with
// personal data in its fields.
func deadLetter(conn, sub string) string {
	b, _ := json.Marshal(map[string]any{
		"connection_id": conn, "submission_id": sub, "module": "Leads", "idempotency_key": "b_" + sub,
		"fields": map[string]string{"Email": "private-" + sub + "@example.eu", "Last_Name": "Privatperson-" + sub},
	})
	return string(b)
}

func (h *harness) entries() *submissionstore.IdempotencyStore {
	return &submissionstore.IdempotencyStore{DB: h.Env.DynamoDB, Table: h.Env.Tables["IdempotencyTable"]}
}

// putEntry stores an idempotency entry as the sync function leaves it.
func (h *harness) putEntry(t *testing.T, e submission.Entry) {
	t.Helper()
	e.ClaimToken = "seed"
	claim := e
	claim.State, claim.ClaimExpiresAt = submission.Claimed, time.Now().Add(time.Minute)
	if _, err := h.entries().Claim(context.Background(), &claim, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.entries().Put(context.Background(), &e, "seed"); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) send(t *testing.T, queue, body string) string {
	t.Helper()
	out, err := h.Env.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// drain receives and deletes every message of a queue, returning bodies.
func (h *harness) drain(t *testing.T, queue string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := h.Env.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			sort.Strings(bodies)
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := h.Env.SQS.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDeadLetterCommands(t *testing.T) {
	h := newHarness(t)
	dlq, main := h.vars[envDeadLetterQueue], h.vars[envSubmissionQueue]
	conn := connection.ID("eu", zoho.Sandbox, "42")
	var bodies []string
	var ids []string
	for _, sub := range []string{"s1", "s2", "s3"} {
		// Their entries are still queued: a replay sends them as they are.
		h.putEntry(t, submission.Entry{Key: "b_" + sub, ConnectionID: conn, SubmissionID: sub, State: submission.Queued,
			Record: []byte(`{"fields":{}}`), Attempts: 8, LastError: "zoho_unavailable", ExpiresAt: time.Now().Add(time.Hour)})
		bodies = append(bodies, deadLetter(conn, sub))
		ids = append(ids, h.send(t, dlq, bodies[len(bodies)-1]))
	}
	bodies = append(bodies, "not json at all")
	ids = append(ids, h.send(t, dlq, "not json at all"))
	sort.Strings(bodies)
	var runs []result

	// list: references and field names, never values; nothing consumed.
	r := h.run(t, "dead-letters", "list").must(t, exitOK)
	runs = append(runs, r)
	for _, want := range append([]string{"MESSAGE ID", conn, "s1", "s2", "s3", "Leads", "2: Email, Last_Name", "(not JSON, 15 bytes)"}, ids...) {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list has no %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "4 messages in "+dlq) {
		t.Errorf("list stderr: %s", r.stderr)
	}
	r = h.run(t, "dead-letters", "list", "-json", "-max", "2").must(t, exitOK)
	runs = append(runs, r)
	if n := strings.Count(strings.TrimSpace(r.stdout), "\n") + 1; n != 2 || !strings.Contains(r.stderr, "there may be more") {
		t.Fatalf("list -max 2: %d lines\n%s\n%s", n, r.stdout, r.stderr)
	}
	// Found from the submission queue's redrive policy when unset.
	r = h.runWith(t, map[string]string{envDeadLetterQueue: ""}, "dead-letters", "list", "-json").must(t, exitOK)
	runs = append(runs, r)
	if strings.Count(r.stdout, `"message_id"`) != 4 || !strings.Contains(r.stderr, "from SUBMISSION_QUEUE_URL's redrive policy") {
		t.Fatalf("list via redrive policy:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, run := range runs {
		if strings.Contains(run.stdout+run.stderr, "private-") || strings.Contains(run.stdout+run.stderr, "Privatperson") {
			t.Fatalf("a submitted value was printed:\n%s", run.stdout)
		}
	}

	// replay one by id, then one by -max, then the rest.
	r = h.run(t, "dead-letters", "replay", "-id", ids[1]).must(t, exitOK)
	if !strings.Contains(r.stdout, ids[1]) || !strings.Contains(r.stderr, "replayed 1 message") {
		t.Fatalf("replay -id:\n%s\n%s", r.stdout, r.stderr)
	}
	if r = h.run(t, "dead-letters", "replay", "-id", ids[1]); r.code != exitNotFound {
		t.Fatalf("replay -id again: %+v", r)
	}
	h.run(t, "dead-letters", "replay", "-max", "1").must(t, exitOK)
	r = h.run(t, "dead-letters", "replay", "-json").must(t, exitOK)
	if strings.Count(r.stdout, `"message_id"`) != 2 {
		t.Fatalf("replay the rest:\n%s", r.stdout)
	}
	if left := h.drain(t, dlq); len(left) != 0 {
		t.Fatalf("the dead-letter queue still holds %q", left)
	}
	if got := h.drain(t, main); strings.Join(got, "\n") != strings.Join(bodies, "\n") {
		t.Fatalf("the submission queue holds\n%q\nwant\n%q", got, bodies)
	}

	// purge.
	h.send(t, dlq, deadLetter(conn, "s4"))
	h.send(t, dlq, deadLetter(conn, "s5"))
	r = h.run(t, "dead-letters", "purge", "-yes").must(t, exitOK)
	if r.stdout != "deleted 2 messages\n" {
		t.Fatalf("purge: %q", r.stdout)
	}
	if left := h.drain(t, dlq); len(left) != 0 {
		t.Fatalf("purge left %q", left)
	}
	if r = h.run(t, "dead-letters", "list").must(t, exitOK); r.stdout != "" || !strings.Contains(r.stderr, "0 messages") {
		t.Fatalf("list of an empty queue: %+v", r)
	}
}

// TestStackOutputs reads the configuration from a CloudFormation stack
// (moto's) whose Outputs name this test's resources, with none of the
// variables set.
func TestStackOutputs(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	u := h.Sim.AddUser(zohosim.User{Email: "dee@example.com.au", Location: "au", Orgs: []zohosim.Org{{Name: "Dee Pty", Environment: zoho.Production}}})
	id := h.connect(t, "production", u.Orgs[0].ID)["connection_id"].(string)

	motoURL := os.Getenv(localstack.EnvSQS) // moto serves CloudFormation too
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", motoURL)
	cf := cloudformation.NewFromConfig(h.Env.Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(motoURL) })
	outputs := map[string]any{}
	for v, o := range stackOutputs {
		outputs[o] = map[string]string{"Value": h.vars[v]}
	}
	tpl, _ := json.Marshal(map[string]any{
		"Resources": map[string]any{"Probe": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]string{"QueueName": "stack-" + h.Env.ID}}},
		"Outputs":   outputs,
	})
	stack := "zohoconnect-" + h.Env.ID
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	})

	none := map[string]string{}
	for v := range stackOutputs {
		none[v] = ""
	}
	none[envZohoOverride] = h.vars[envZohoOverride]
	r := h.runWith(t, none, "-stack", stack, "connections", "list").must(t, exitOK)
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "Dee Pty") {
		t.Fatalf("list -stack:\n%s\n%s", r.stdout, r.stderr)
	}
	r = h.runWith(t, none, "connections", "show", id, "-stack", stack).must(t, exitOK)
	if !strings.Contains(r.stdout, "refresh/"+id+": exists") {
		t.Fatalf("show -stack:\n%s", r.stdout)
	}
	none["ZOHOCONNECT_STACK"] = stack
	h.runWith(t, none, "dead-letters", "list").must(t, exitOK)
	r = h.runWith(t, none, "connections", "disconnect", id, "-yes").must(t, exitOK)
	if !strings.Contains(r.stdout, "revoked at https://accounts.zoho.com.au") {
		t.Fatalf("disconnect -stack:\n%s", r.stdout)
	}
	if r = h.runWith(t, none, "-stack", "no-such-stack", "connections", "list"); r.code != exitUsage || !strings.Contains(r.stderr, "stack no-such-stack does not exist") {
		t.Fatalf("unknown stack: %+v", r)
	}
}

// connections list -tenant reads one tenant's connections through the
// tenant index.
func TestListTenant(t *testing.T) {
	h := newHarness(t)
	u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Name: "Tenant Org"}}})
	_, q := h.OpenSession(t, map[string]any{"tenant_id": "acme"})
	back := h.Consent(t, h.Start(t, q), u.Orgs[0].ID, "accept")
	if resp := h.Do(t, "/oauth/callback", back, true); resp.StatusCode != 200 {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
	}
	h.connect(t, "production", h.Sim.AddUser(zohosim.User{Location: "us", Orgs: []zohosim.Org{{}}}).Orgs[0].ID) // no tenant
	want := connection.TenantConnectionID("acme", "eu", zoho.Production, u.Orgs[0].ID)
	r := h.run(t, "connections", "list", "-tenant", "acme", "-json").must(t, exitOK)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 1 || !strings.Contains(lines[0], want) ||
		!strings.Contains(r.stderr, "tenant index") {
		t.Fatalf("acme: %+v", r)
	}
	if r := h.run(t, "connections", "list", "-tenant", "nobody").must(t, exitOK); r.stdout != "" {
		t.Fatalf("nobody: %q", r.stdout)
	}
}

// consume plays Lambda's poller for the real sync function once: what the
// submission queue holds, handled as one SQS event; it returns how many
// messages there were and how many failed.
func (h *harness) consume(t *testing.T, sync *submission.Handler) (int, int) {
	t.Helper()
	ctx := context.Background()
	out, err := h.Env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(h.vars[envSubmissionQueue]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"})
	}
	if len(ev.Records) == 0 {
		return 0, 0
	}
	res := sync.HandleSQS(ctx, ev)
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			if _, err := h.Env.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(h.vars[envSubmissionQueue]), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(out.Messages), len(failed)
}

// The README's remedy: a submission held past its seven days was rejected
// (reauth_timeout) and dead-lettered, the customer connected the org again;
// `dead-letters list` shows why each failed, `dead-letters replay`
// re-queues the rejected one and the sync function delivers it to Zoho,
// once. One Zoho refused stays unless asked for (-include-refused); one
// whose entry expired is reported, never silently re-sent.
func TestDeadLetterReplayDeliversRejected(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dlq := h.vars[envDeadLetterQueue]
	u := h.Sim.AddUser(zohosim.User{Email: "eve@example.com", Location: "us", Orgs: []zohosim.Org{{Name: "Eve Co", Environment: zoho.Production}}})
	conn := h.connect(t, "production", u.Orgs[0].ID)["connection_id"].(string)

	h.Env.Setenv(t, "SyncFunction")
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	sync, err := syncfn.New(scfg, h.Env.Config, h.Log)
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	rejected := func(key, why, email string) string {
		h.putEntry(t, submission.Entry{Key: key, ConnectionID: conn, Module: "Leads", SubmissionID: "sub_" + key, State: submission.Rejected,
			Record:   []byte(`{"fields":{"email":"` + email + `","last_name":"Spaet"}}`),
			QueuedAt: now.Add(-8 * 24 * time.Hour), HoldUntil: now.Add(-24 * time.Hour), Attempts: 1, LastError: why, DeliveredStatus: 0,
			ExpiresAt: now.Add(20 * 24 * time.Hour)})
		b, _ := json.Marshal(submission.Message{Key: key, ConnectionID: conn, SubmissionID: "sub_" + key})
		return h.send(t, dlq, string(b))
	}
	held := rejected("b_held", "reauth_timeout", "held-person@example.eu")
	refused := rejected("b_refused", "zoho_rejected:INVALID_DATA", "refused-person@example.eu")
	b, _ := json.Marshal(submission.Message{Key: "b_gone", ConnectionID: conn, SubmissionID: "sub_b_gone"})
	gone := h.send(t, dlq, string(b))
	var runs []result

	// list: each one's state, attempts and last error.
	r := h.run(t, "dead-letters", "list").must(t, exitOK)
	runs = append(runs, r)
	for _, want := range []string{"STATE", "ATTEMPTS", "LAST ERROR", "rejected", "reauth_timeout", "zoho_rejected:INVALID_DATA", "gone", held, refused, gone} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list has no %q:\n%s", want, r.stdout)
		}
	}
	r = h.run(t, "dead-letters", "list", "-json").must(t, exitOK)
	runs = append(runs, r)
	got := map[string]deadLetterJSON{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var j deadLetterJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		got[j.MessageID] = j
	}
	if got[held].State != "rejected" || got[held].LastError != "reauth_timeout" || got[held].Attempts != 1 ||
		got[refused].LastError != "zoho_rejected:INVALID_DATA" || got[gone].State != "gone" {
		t.Fatalf("list -json: %+v", got)
	}

	// replay: the held one re-queued and sent; the others left, saying why.
	writes := len(h.Sim.Records(u.Orgs[0].ID, "Leads"))
	r = h.run(t, "dead-letters", "replay").must(t, exitFailed)
	runs = append(runs, r)
	for _, want := range []string{"left " + refused + " in the dead-letter queue: Zoho refused it (zoho_rejected:INVALID_DATA)", "-include-refused",
		"left " + gone + " in the dead-letter queue: its entry is gone", "replayed 1 message", "1 re-queued", "2 messages left"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("replay stderr has no %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "requeued") || !strings.Contains(r.stdout, "no (left)") {
		t.Errorf("replay stdout:\n%s", r.stdout)
	}
	e, err := h.entries().Get(ctx, "b_held")
	if err != nil || e.State != submission.Queued || e.Attempts != 0 || !e.HoldUntil.After(now.Add(6*24*time.Hour)) {
		t.Fatalf("the held entry after replay: %+v %v", e, err)
	}

	// The sync function delivers it, once.
	if n, failed := h.consume(t, sync); n != 1 || failed != 0 {
		t.Fatalf("consume: %d, %d failed", n, failed)
	}
	recs := h.Sim.Records(u.Orgs[0].ID, "Leads")
	if len(recs) != writes+1 || recs[len(recs)-1]["Email"] != "held-person@example.eu" {
		t.Fatalf("records %v", recs)
	}
	if e, _ := h.entries().Get(ctx, "b_held"); e.State != submission.Done {
		t.Fatalf("after delivery: %+v", e)
	}
	if n, _ := h.consume(t, sync); n != 0 {
		t.Fatal("the submission queue holds more")
	}

	// The refused one when asked for; the gone one never.
	r = h.run(t, "dead-letters", "replay", "-id", refused, "-include-refused", "-json").must(t, exitOK)
	runs = append(runs, r)
	var j deadLetterJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Replayed != "requeued" || j.State != "queued" {
		t.Fatalf("replay -include-refused: %v %s", err, r.stdout)
	}
	r = h.run(t, "dead-letters", "replay", "-id", gone).must(t, exitFailed)
	runs = append(runs, r)
	if !strings.Contains(r.stderr, "cannot be replayed") || !strings.Contains(r.stderr, "entry is gone") {
		t.Fatalf("replay -id gone: %s", r.stderr)
	}
	if left := h.drain(t, dlq); len(left) != 1 || !strings.Contains(left[0], "b_gone") {
		t.Fatalf("the dead-letter queue holds %q", left)
	}
	for _, run := range runs {
		if strings.Contains(run.stdout+run.stderr, "-person@") || strings.Contains(run.stdout+run.stderr, "Spaet") {
			t.Fatalf("a submitted value was printed:\n%s\n%s", run.stdout, run.stderr)
		}
	}
	h.noSecrets(t, runs...)
}
