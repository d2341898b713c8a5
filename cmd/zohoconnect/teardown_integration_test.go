//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

// TestTeardownOnTheLocalStack runs teardown against moto: the real
// ListSecrets filter and paging, tags, DescribeStacks of a live and of a
// deleted stack, and forced deletes.
func TestTeardownOnTheLocalStack(t *testing.T) {
	e := testenv.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	motoURL := os.Getenv(localstack.EnvSQS) // moto serves CloudFormation too
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", motoURL)
	cf := cloudformation.NewFromConfig(e.Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(motoURL) })

	stage := "it" + strings.TrimPrefix(e.ID, "t")
	prefix := stageSecretPrefix(stage)
	stack := "zohoconnect-" + stage
	tpl, _ := json.Marshal(map[string]any{"Resources": map[string]any{
		"Probe": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]string{"QueueName": stack}},
	}})
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatal(err)
	}
	local := samtemplate.Local{SecretsManager: e.SecretsManager}
	t.Cleanup(func() {
		cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
		_ = local.DeleteSecretsUnder(context.Background(), "zohoconnect/"+stage)
	})

	create := func(name string, tags ...smtypes.Tag) {
		t.Helper()
		if _, err := e.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(`{"x":"y"}`), Tags: tags,
		}); err != nil {
			t.Fatal(err)
		}
	}
	byStack := smtypes.Tag{Key: aws.String(tagStackName), Value: aws.String(stack)}
	create(prefix+"oauth-client", byStack)
	create(prefix+"submission-key-master", byStack)
	const connections = 60 // two secrets each: more than one page
	for i := range connections {
		id := "zc_" + strings.Repeat("0", 22) + string(rune('a'+i/26)) + string(rune('a'+i%26))
		create(prefix+"access/"+id, smtypes.Tag{Key: aws.String("connection_id"), Value: aws.String(id)})
		create(prefix+"refresh/"+id, smtypes.Tag{Key: aws.String("connection_id"), Value: aws.String(id)})
	}
	neighbour := "zohoconnect/" + stage + "x/oauth-client" // another stage, sharing the name's start
	create(neighbour)

	teardown := func() (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"teardown", "-stage", stage, "-yes"}, &stdout, &stderr, os.Getenv)
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := teardown()
	if code != exitFailed || !strings.Contains(stderr, "stack "+stack+" still exists") {
		t.Fatalf("with the stack alive: exit %d\n%s%s", code, stdout, stderr)
	}
	if n := len(remaining(t, e.SecretsManager, prefix)); n != 2+2*connections {
		t.Fatalf("a refused teardown left %d of %d secrets", n, 2+2*connections)
	}

	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack)}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = teardown()
	if code != exitOK || !strings.Contains(stdout, "deleted 122 secrets under "+prefix) ||
		!strings.Contains(stderr, "60 access token secrets") || !strings.Contains(stderr, "secret "+prefix+"oauth-client") {
		t.Fatalf("after sam delete: exit %d\n%s%s", code, stdout, stderr)
	}
	if left := remaining(t, e.SecretsManager, prefix); len(left) != 0 {
		t.Errorf("left under %s: %v", prefix, left)
	}
	if left := remaining(t, e.SecretsManager, neighbour); len(left) != 1 {
		t.Errorf("another stage's secret: %v", left)
	}
	// Deleted without a recovery window: the stage's names are free again.
	create(prefix + "oauth-client")

	// -table is tested with fakes (teardown_test.go): DynamoDB Local has
	// no tagging, which teardown reads to refuse a live stack's table.
}

func remaining(t *testing.T, sm *secretsmanager.Client, prefix string) []string {
	t.Helper()
	var names []string
	p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.SecretList {
			if strings.HasPrefix(aws.ToString(s.Name), prefix) {
				names = append(names, aws.ToString(s.Name))
			}
		}
	}
	return names
}

// TestTeardownSchedulesTheTokenKeysDeletion runs -keys against moto's
// KMS: refused while the keys' stack lives, a key that is not a token key
// refused, then both scheduled for deletion with the 7-day window.
func TestTeardownSchedulesTheTokenKeysDeletion(t *testing.T) {
	e := testenv.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	motoURL := os.Getenv(localstack.EnvSQS) // moto serves CloudFormation too
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", motoURL)
	t.Setenv("AWS_ENDPOINT_URL_KMS", os.Getenv(localstack.EnvKMS))
	cf := cloudformation.NewFromConfig(e.Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(motoURL) })

	stage := "ik" + strings.TrimPrefix(e.ID, "t")
	stack := "zohoconnect-" + stage
	tpl, _ := json.Marshal(map[string]any{"Resources": map[string]any{
		"Probe": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]string{"QueueName": stack}},
	}})
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	})
	key := func(logical string) string {
		t.Helper()
		out, err := e.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(stack + " " + logical), Tags: []kmstypes.Tag{
			{TagKey: aws.String(tagStackName), TagValue: aws.String(stack)},
			{TagKey: aws.String(tagLogicalID), TagValue: aws.String(logical)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.KeyMetadata.Arn)
		t.Cleanup(func() {
			e.KMS.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(7)})
		})
		return arn
	}
	access, refresh, other := key("AccessTokenKey"), key("RefreshTokenKey"), key("BackupKey")
	state := func(arn string) (kmstypes.KeyState, *time.Time) {
		t.Helper()
		out, err := e.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyMetadata.KeyState, out.KeyMetadata.DeletionDate
	}
	teardown := func(keys ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"teardown", "-stage", stage, "-keys", strings.Join(keys, ","), "-yes"}, &stdout, &stderr, os.Getenv)
		return code, stdout.String(), stderr.String()
	}

	if code, stdout, stderr := teardown(access, refresh); code != exitFailed || !strings.Contains(stderr, "stack "+stack+" still exists") {
		t.Fatalf("with the stack alive: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack)}); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := teardown(access, other); code != exitFailed || !strings.Contains(stderr, "a stack's BackupKey") {
		t.Fatalf("with a key that is no token key: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, arn := range []string{access, refresh, other} {
		if st, _ := state(arn); st != kmstypes.KeyStateEnabled {
			t.Fatalf("a refused teardown left key %s %s", arn, st)
		}
	}

	code, stdout, stderr := teardown(access, refresh)
	if code != exitOK || !strings.Contains(stderr, "KMS key "+access+" (AccessTokenKey): deletion scheduled in 7 days, KMS's minimum") ||
		!strings.Contains(stdout, "scheduled KMS key "+refresh+" (RefreshTokenKey) for deletion in 7 days") {
		t.Fatalf("after sam delete: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, arn := range []string{access, refresh} {
		st, at := state(arn)
		if st != kmstypes.KeyStatePendingDeletion || at == nil || at.Sub(time.Now()) < 6*24*time.Hour || at.Sub(time.Now()) > 8*24*time.Hour {
			t.Errorf("key %s: %s, deletion at %v; want pending deletion in 7 days", arn, st, at)
		}
	}
	// Again: the keys already pending are left as they are.
	if code, stdout, stderr := teardown(access, refresh); code != exitOK || !strings.Contains(stderr, "already scheduled for deletion") || strings.Contains(stdout, "scheduled KMS key") {
		t.Errorf("a second teardown: exit %d\n%s%s", code, stdout, stderr)
	}
}
