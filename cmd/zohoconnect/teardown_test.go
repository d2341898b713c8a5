package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// fakeSecrets is Secrets Manager as ListSecrets shows it: a name filter
// that also matches inside names, two secrets a page.
type fakeSecrets struct {
	secrets map[string][]smtypes.Tag // name → tags
	deleted []*secretsmanager.DeleteSecretInput
	failOn  string
}

func (f *fakeSecrets) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	var names []string
	for n := range f.secrets {
		if strings.Contains(n, in.Filters[0].Values[0]) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	out := &secretsmanager.ListSecretsOutput{}
	for i := start; i < len(names) && i < start+2; i++ {
		out.SecretList = append(out.SecretList, smtypes.SecretListEntry{Name: aws.String(names[i]), ARN: aws.String("arn:" + names[i]), Tags: f.secrets[names[i]]})
	}
	if start+2 < len(names) {
		out.NextToken = aws.String(strconv.Itoa(start + 2))
	}
	return out, nil
}

func (f *fakeSecrets) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	if aws.ToString(in.SecretId) == "arn:"+f.failOn {
		return nil, errors.New("AccessDenied")
	}
	f.deleted = append(f.deleted, in)
	return &secretsmanager.DeleteSecretOutput{}, nil
}

type fakeTable struct {
	items int64
	tags  map[string]string
}

type fakeTables struct {
	tables  map[string]fakeTable
	deleted []string
}

func (f *fakeTables) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	tb, ok := f.tables[aws.ToString(in.TableName)]
	if !ok {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("no table")}
	}
	return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{
		TableArn: aws.String("arn:table/" + aws.ToString(in.TableName)), ItemCount: aws.Int64(tb.items),
	}}, nil
}

func (f *fakeTables) ListTagsOfResource(_ context.Context, in *dynamodb.ListTagsOfResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	tb := f.tables[strings.TrimPrefix(aws.ToString(in.ResourceArn), "arn:table/")]
	out := &dynamodb.ListTagsOfResourceOutput{}
	for k, v := range tb.tags {
		out.Tags = append(out.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *fakeTables) DeleteTable(_ context.Context, in *dynamodb.DeleteTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error) {
	f.deleted = append(f.deleted, aws.ToString(in.TableName))
	return &dynamodb.DeleteTableOutput{}, nil
}

// fakeStacks answers DescribeStacks: by name only while the stack exists,
// by id also after it was deleted (as CloudFormation does).
type fakeStacks struct {
	status map[string]cftypes.StackStatus // name or id → status
	asked  []string
}

func (f *fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	name := aws.ToString(in.StackName)
	f.asked = append(f.asked, name)
	st, ok := f.status[name]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + name + " does not exist"}
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{{StackName: aws.String(name), StackStatus: st}}}, nil
}

const (
	stackID     = "arn:aws:cloudformation:eu-west-1:123456789012:stack/zohoconnect-staging/abc"
	liveStackID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/zohoconnect-prod/def"
)

func stackTags(logicalID string) []smtypes.Tag {
	return []smtypes.Tag{
		{Key: aws.String(tagStackID), Value: aws.String(stackID)},
		{Key: aws.String(tagStackName), Value: aws.String("zohoconnect-staging")},
		{Key: aws.String(tagLogicalID), Value: aws.String(logicalID)},
	}
}

// fakeKeys is KMS as teardown reads it: a key's metadata and its tags,
// and the deletions it was asked to schedule.
type fakeKeys struct {
	keys      map[string]map[string]string // key id → tags
	scheduled []*kms.ScheduleKeyDeletionInput
}

func (f *fakeKeys) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	id := strings.TrimPrefix(aws.ToString(in.KeyId), "arn:aws:kms:eu-west-1:123456789012:key/")
	if _, ok := f.keys[id]; !ok {
		return nil, &kmstypes.NotFoundException{Message: aws.String("no key")}
	}
	st := kmstypes.KeyStateEnabled
	for _, in := range f.scheduled {
		if aws.ToString(in.KeyId) == id {
			st = kmstypes.KeyStatePendingDeletion
		}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: aws.String(id), Arn: aws.String("arn:aws:kms:eu-west-1:123456789012:key/" + id), KeyState: st}}, nil
}

func (f *fakeKeys) ListResourceTags(_ context.Context, in *kms.ListResourceTagsInput, _ ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	out := &kms.ListResourceTagsOutput{}
	for k, v := range f.keys[aws.ToString(in.KeyId)] {
		out.Tags = append(out.Tags, kmstypes.Tag{TagKey: aws.String(k), TagValue: aws.String(v)})
	}
	return out, nil
}

func (f *fakeKeys) ScheduleKeyDeletion(_ context.Context, in *kms.ScheduleKeyDeletionInput, _ ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error) {
	f.scheduled = append(f.scheduled, in)
	return &kms.ScheduleKeyDeletionOutput{KeyId: in.KeyId, PendingWindowInDays: in.PendingWindowInDays}, nil
}

type teardownWorld struct {
	secrets *fakeSecrets
	tables  *fakeTables
	keys    *fakeKeys
	stacks  *fakeStacks
}

// staging is a deleted stage: its two retained secrets, two connections'
// token secrets, and neighbours that are not its own.
func staging(t *testing.T) *teardownWorld {
	w := &teardownWorld{
		secrets: &fakeSecrets{secrets: map[string][]smtypes.Tag{
			"zohoconnect/staging/oauth-client":                        stackTags("ZohoClientSecret"),
			"zohoconnect/staging/submission-key-master":               stackTags("SubmissionKeySecret"),
			"zohoconnect/staging/access/zc_aaaaaaaaaaaaaaaaaaaaaaaa":  nil,
			"zohoconnect/staging/refresh/zc_aaaaaaaaaaaaaaaaaaaaaaaa": nil,
			"zohoconnect/staging/access/zc_bbbbbbbbbbbbbbbbbbbbbbbb":  nil,
			"zohoconnect/staging/refresh/zc_bbbbbbbbbbbbbbbbbbbbbbbb": nil,
			"zohoconnect/staging-2/oauth-client":                      nil, // another stage
			"backup/zohoconnect/staging/oauth-client":                 nil, // matched by the name filter, not under the prefix
		}},
		tables: &fakeTables{tables: map[string]fakeTable{
			"zohoconnect-staging-ConnectionsTable-X": {items: 2, tags: map[string]string{tagStackID: stackID, tagLogicalID: "ConnectionsTable"}},
			"zohoconnect-staging-StatesTable-Y":      {tags: map[string]string{tagStackID: stackID, tagLogicalID: "StatesTable"}},
			"zohoconnect-staging-TokensTable-Z":      {items: 2, tags: map[string]string{tagStackID: stackID, tagLogicalID: "TokensTable"}},
		}},
		keys: &fakeKeys{keys: map[string]map[string]string{
			"access-key":  {tagStackID: stackID, tagLogicalID: "AccessTokenKey"},
			"refresh-key": {tagStackID: stackID, tagLogicalID: "RefreshTokenKey"},
			"other-key":   {tagStackID: liveStackID, tagLogicalID: "AccessTokenKey"},
		}},
		stacks: &fakeStacks{status: map[string]cftypes.StackStatus{stackID: cftypes.StackStatusDeleteComplete, liveStackID: cftypes.StackStatusCreateComplete}},
	}
	old := newTeardownAWS
	newTeardownAWS = func(cfg aws.Config) teardownAWS {
		if cfg.Region != "eu-west-1" {
			t.Errorf("clients for region %q", cfg.Region)
		}
		return teardownAWS{Secrets: w.secrets, Tables: w.tables, Keys: w.keys, Stacks: w.stacks}
	}
	t.Cleanup(func() { newTeardownAWS = old })
	return w
}

func (w *teardownWorld) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	c, stdout, stderr := offline(t, nil)
	c.loadAWS = func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }
	if stdin != "" {
		c.terminal, c.stdin = true, strings.NewReader(stdin)
	}
	code := c.run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func (w *teardownWorld) deletedNames() []string {
	var names []string
	for _, in := range w.secrets.deleted {
		names = append(names, strings.TrimPrefix(aws.ToString(in.SecretId), "arn:"))
	}
	sort.Strings(names)
	return names
}

var stagingSecrets = []string{
	"zohoconnect/staging/access/zc_aaaaaaaaaaaaaaaaaaaaaaaa", "zohoconnect/staging/access/zc_bbbbbbbbbbbbbbbbbbbbbbbb",
	"zohoconnect/staging/oauth-client",
	"zohoconnect/staging/refresh/zc_aaaaaaaaaaaaaaaaaaaaaaaa", "zohoconnect/staging/refresh/zc_bbbbbbbbbbbbbbbbbbbbbbbb",
	"zohoconnect/staging/submission-key-master",
}

func TestTeardownDeletesTheStagesSecretsAndTable(t *testing.T) {
	w := staging(t)
	code, stdout, stderr := w.run(t, "", "teardown", "-stage", "staging", "-table", "zohoconnect-staging-ConnectionsTable-X", "-yes")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if got := w.deletedNames(); fmt.Sprint(got) != fmt.Sprint(stagingSecrets) {
		t.Errorf("deleted %v\nwant %v", got, stagingSecrets)
	}
	for _, in := range w.secrets.deleted {
		if !aws.ToBool(in.ForceDeleteWithoutRecovery) || in.RecoveryWindowInDays != nil {
			t.Errorf("%s deleted with a recovery window: the stage's name would stay taken", aws.ToString(in.SecretId))
		}
	}
	if fmt.Sprint(w.tables.deleted) != "[zohoconnect-staging-ConnectionsTable-X]" {
		t.Errorf("tables deleted: %v", w.tables.deleted)
	}
	if fmt.Sprint(w.stacks.asked) != "["+stackID+"]" {
		t.Errorf("stacks looked at: %v", w.stacks.asked)
	}
	for _, want := range []string{"secret zohoconnect/staging/oauth-client", "secret zohoconnect/staging/submission-key-master",
		"2 access token secrets (zohoconnect/staging/access/...)", "2 refresh token secrets", "table zohoconnect-staging-ConnectionsTable-X (about 2 items"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "deleted 6 secrets under zohoconnect/staging/\ndeleted table zohoconnect-staging-ConnectionsTable-X\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestTeardownAsksFirst(t *testing.T) {
	w := staging(t)
	code, _, stderr := w.run(t, "n\n", "teardown", "-stage", "staging")
	if code != exitFailed || !strings.Contains(stderr, "Delete these 6 secrets? They cannot be recovered. [y/N]") || len(w.secrets.deleted) != 0 {
		t.Fatalf("exit %d, %d deleted:\n%s", code, len(w.secrets.deleted), stderr)
	}
	code, _, stderr = w.run(t, "yes\n", "teardown", "-stage", "staging", "-recovery-days", "7")
	if code != exitOK || !strings.Contains(stderr, "can be restored for 7 days") || len(w.secrets.deleted) != 6 {
		t.Fatalf("exit %d, %d deleted:\n%s", code, len(w.secrets.deleted), stderr)
	}
	for _, in := range w.secrets.deleted {
		if aws.ToBool(in.ForceDeleteWithoutRecovery) || aws.ToInt64(in.RecoveryWindowInDays) != 7 {
			t.Errorf("%s: %+v, want a 7-day recovery window", aws.ToString(in.SecretId), in)
		}
	}
}

// -keys: listed, in the question, nothing scheduled on "no"; on "yes"
// both scheduled with the 7-day window; a live stack's key refused.
func TestTeardownAsksFirstAboutTheKeys(t *testing.T) {
	const access, refresh = "arn:aws:kms:eu-west-1:123456789012:key/access-key", "arn:aws:kms:eu-west-1:123456789012:key/refresh-key"
	w := staging(t)
	code, _, stderr := w.run(t, "n\n", "teardown", "-stage", "staging", "-keys", access+","+refresh)
	if code != exitFailed || len(w.keys.scheduled) != 0 || len(w.secrets.deleted) != 0 ||
		!strings.Contains(stderr, "KMS key "+access+" (AccessTokenKey): deletion scheduled in 7 days, KMS's minimum") ||
		!strings.Contains(stderr, "The 2 KMS keys will be deleted in 7 days (aws kms cancel-key-deletion until then)") {
		t.Fatalf("no: exit %d, %d scheduled:\n%s", code, len(w.keys.scheduled), stderr)
	}
	code, stdout, stderr := w.run(t, "y\n", "teardown", "-stage", "staging", "-keys", access+","+refresh)
	if code != exitOK || len(w.keys.scheduled) != 2 || !strings.Contains(stdout, "scheduled KMS key "+refresh+" (RefreshTokenKey) for deletion in 7 days") {
		t.Fatalf("yes: exit %d, %d scheduled:\n%s%s", code, len(w.keys.scheduled), stdout, stderr)
	}
	for _, in := range w.keys.scheduled {
		if aws.ToInt32(in.PendingWindowInDays) != 7 {
			t.Errorf("%s scheduled in %d days, want 7", aws.ToString(in.KeyId), aws.ToInt32(in.PendingWindowInDays))
		}
	}

	w = staging(t)
	code, _, stderr = w.run(t, "", "teardown", "-stage", "staging", "-keys", access+",arn:aws:kms:eu-west-1:123456789012:key/other-key", "-yes")
	if code != exitFailed || !strings.Contains(stderr, "stack "+liveStackID+" still exists") || len(w.keys.scheduled) != 0 || len(w.secrets.deleted) != 0 {
		t.Errorf("a live stack's key: exit %d, %d scheduled:\n%s", code, len(w.keys.scheduled), stderr)
	}
	code, _, stderr = w.run(t, "", "teardown", "-stage", "staging", "-keys", "arn:aws:kms:eu-west-1:123456789012:key/nope", "-yes")
	if code != exitFailed || !strings.Contains(stderr, "does not exist") {
		t.Errorf("an unknown key: exit %d:\n%s", code, stderr)
	}
}

func TestTeardownRefusesWhileTheStackLives(t *testing.T) {
	for name, setup := range map[string]func(w *teardownWorld) []string{
		"secrets' stack": func(w *teardownWorld) []string {
			w.stacks.status[stackID] = cftypes.StackStatusUpdateComplete
			return []string{"teardown", "-stage", "staging", "-yes"}
		},
		"-stack": func(w *teardownWorld) []string {
			w.stacks.status["zohoconnect-staging"] = cftypes.StackStatusCreateComplete
			return []string{"-stack", "zohoconnect-staging", "teardown", "-stage", "staging", "-yes"}
		},
		"table's stack": func(w *teardownWorld) []string {
			w.tables.tables["t"] = fakeTable{tags: map[string]string{tagStackName: "zohoconnect-other", tagLogicalID: "ConnectionsTable"}}
			w.stacks.status["zohoconnect-other"] = cftypes.StackStatusCreateComplete
			return []string{"teardown", "-stage", "staging", "-table", "t", "-yes"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := staging(t)
			code, _, stderr := w.run(t, "", setup(w)...)
			if code != exitFailed || !strings.Contains(stderr, "still exists") || !strings.Contains(stderr, "sam delete it first; nothing was deleted") {
				t.Errorf("exit %d:\n%s", code, stderr)
			}
			if len(w.secrets.deleted) != 0 || len(w.tables.deleted) != 0 {
				t.Errorf("deleted %v and tables %v", w.deletedNames(), w.tables.deleted)
			}
		})
	}
}

func TestTeardownRefusesTheWrongTable(t *testing.T) {
	for table, msg := range map[string]string{
		"zohoconnect-staging-StatesTable-Y": "is a stack's StatesTable, not its ConnectionsTable",
		"nope":                              "table nope does not exist",
	} {
		w := staging(t)
		code, _, stderr := w.run(t, "", "teardown", "-stage", "staging", "-table", table, "-yes")
		if code != exitFailed || !strings.Contains(stderr, msg) || len(w.secrets.deleted) != 0 || len(w.tables.deleted) != 0 {
			t.Errorf("%s: exit %d:\n%s", table, code, stderr)
		}
	}
}

// The retained tokens table goes with -tokens-table, after the
// connections table; as the connections table it is refused when it is
// a stack's other table, or the same as -table.
func TestTeardownDeletesTheTokensTable(t *testing.T) {
	w := staging(t)
	code, stdout, stderr := w.run(t, "", "teardown", "-stage", "staging", "-table", "zohoconnect-staging-ConnectionsTable-X",
		"-tokens-table", "zohoconnect-staging-TokensTable-Z", "-yes")
	if code != exitOK || fmt.Sprint(w.tables.deleted) != "[zohoconnect-staging-ConnectionsTable-X zohoconnect-staging-TokensTable-Z]" ||
		!strings.Contains(stderr, "tokens table zohoconnect-staging-TokensTable-Z (about 2 items") ||
		!strings.Contains(stdout, "deleted table zohoconnect-staging-TokensTable-Z\n") {
		t.Errorf("exit %d, tables deleted %v\n%s%s", code, w.tables.deleted, stdout, stderr)
	}
	for args, msg := range map[[2]string]string{
		{"-tokens-table", "zohoconnect-staging-ConnectionsTable-X"}: "is a stack's ConnectionsTable, not its TokensTable",
		{"-table", "zohoconnect-staging-TokensTable-Z"}:             "is a stack's TokensTable, not its ConnectionsTable",
	} {
		w := staging(t)
		code, _, stderr := w.run(t, "", "teardown", "-stage", "staging", args[0], args[1], "-yes")
		if code != exitFailed || !strings.Contains(stderr, msg) || len(w.secrets.deleted) != 0 || len(w.tables.deleted) != 0 {
			t.Errorf("%v: exit %d:\n%s", args, code, stderr)
		}
	}
	w = staging(t)
	if code, _, stderr := w.run(t, "", "teardown", "-stage", "staging", "-table", "t", "-tokens-table", "t", "-yes"); code == exitOK || !strings.Contains(stderr, "the same table") {
		t.Errorf("the same table twice: exit %d:\n%s", code, stderr)
	}
}

func TestTeardownNothingThere(t *testing.T) {
	w := staging(t)
	code, stdout, stderr := w.run(t, "", "teardown", "-stage", "qa", "-yes")
	if code != exitOK || stdout != "" || !strings.Contains(stderr, "no secrets under zohoconnect/qa/ in eu-west-1: nothing to delete") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestTeardownGoesOnPastAFailedDelete(t *testing.T) {
	w := staging(t)
	w.secrets.failOn = "zohoconnect/staging/oauth-client"
	code, stdout, stderr := w.run(t, "", "teardown", "-stage", "staging", "-yes")
	if code != exitFailed || len(w.secrets.deleted) != 5 || !strings.Contains(stdout, "deleted 5 secrets") ||
		!strings.Contains(stderr, "delete secret zohoconnect/staging/oauth-client: AccessDenied") {
		t.Errorf("exit %d, deleted %v\n%s%s", code, w.deletedNames(), stdout, stderr)
	}
}

// teardown names a stage's secrets as template.yaml does.
func TestTeardownPrefixIsTheTemplates(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars := tpl.LocalVars()
	vars["Stage"] = "pr-42"
	prefix := stageSecretPrefix("pr-42")
	for _, s := range tpl.Secrets {
		n, err := s.Name.Resolve(vars)
		if err != nil || !strings.HasPrefix(n, prefix) {
			t.Errorf("secret %s is named %q (%v): teardown looks under %s", s.LogicalID, n, err, prefix)
		}
	}
	for _, fn := range tpl.Functions {
		if v, ok := fn.Environment[envTokenPrefix]; ok {
			if got, err := v.Resolve(vars); err != nil || got != prefix {
				t.Errorf("%s: %s = %q (%v), teardown's prefix %q", fn.LogicalID, envTokenPrefix, got, err, prefix)
			}
		}
	}
	for _, p := range tpl.Parameters {
		if p.Name == "Stage" && p.AllowedPattern != stageNamePattern.String() {
			t.Errorf("Stage's AllowedPattern is %q, teardown's %q", p.AllowedPattern, stageNamePattern)
		}
	}
}
