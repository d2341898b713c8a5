package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

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
)

// teardown deletes what `sam delete` leaves of a stage: the secrets the
// template keeps (DeletionPolicy: Retain), the token secrets the functions
// made, and, when named, the retained connections table. It talks to AWS
// directly, with no package of the functions: it must work when the stack,
// and whatever the functions' code has become, is gone.

var cmdTeardown = &command{
	group: "teardown",
	args:  "-stage NAME [-table NAME] [-tokens-table NAME] [-keys ARN,ARN] [-recovery-days N] [-yes]",
	summary: "After sam delete: delete a stage's secrets (the retained client and key secrets, every connection's token secrets)" +
		", with -table and -tokens-table its retained tables, and with -keys schedule the deletion of its token keys.",
	help: `Deletes every secret named zohoconnect/NAME/... in this account and region:
the OAuth client secret and the submission-key master (the template keeps
both when the stack is deleted) and each connection's access/ and refresh/
secret (the functions made them; the stack never knew them). Secrets are
deleted without a recovery window, so a stage of the same name can be
deployed again at once; -recovery-days 7 to 30 keeps them restorable that
long instead (aws secretsmanager restore-secret), and the name taken.
-table also deletes the connections table the stack retained (its output
ConnectionsTableName), -tokens-table the tokens table (TokenStore=DynamoDB,
output TokensTableName). -keys schedules the deletion of the two KMS keys
that seal those tokens (outputs AccessTokenKeyArn and RefreshTokenKeyArn):
KMS never deletes a key at once, so they are scheduled with the shortest
pending window, 7 days, during which aws kms cancel-key-deletion brings a
key back; after it, every token sealed under the key is unreadable for
good.

It refuses, deleting nothing, while a stack that made these secrets or the
table still exists (their aws:cloudformation:stack-id tag), or the stack of
-stack NAME does: run sam delete first. It does not revoke the refresh
tokens at Zoho; to stop them working now, run connections disconnect for
each connection before sam delete, or delete the client in Zoho's API
console. Lists what it found and asks for confirmation unless -yes (which
scripts must pass).

Needs secretsmanager:ListSecrets and DeleteSecret, cloudformation:
DescribeStacks, with -table or -tokens-table dynamodb:DescribeTable,
ListTagsOfResource and DeleteTable, and with -keys kms:DescribeKey,
ListResourceTags and ScheduleKeyDeletion: the stack's OperatorPolicy went
with the stack.`,
	run: runTeardown,
}

// stageNamePattern is template.yaml's Stage AllowedPattern.
var stageNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// stageSecretPrefix is where template.yaml names a stage's secrets
// (zohoconnect/${Stage}/..., TOKEN_SECRET_PREFIX included).
func stageSecretPrefix(stage string) string { return "zohoconnect/" + stage + "/" }

// The tags CloudFormation puts on what a stack creates.
const (
	tagStackID   = "aws:cloudformation:stack-id"
	tagStackName = "aws:cloudformation:stack-name"
	tagLogicalID = "aws:cloudformation:logical-id"
)

// teardownAWS is what teardown needs of AWS.
type teardownAWS struct {
	Secrets interface {
		ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
		DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	}
	Tables interface {
		DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
		ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
		DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	}
	Keys   teardownKeys
	Stacks CloudFormation
}

// teardownKeys is what teardown needs of KMS.
type teardownKeys interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ListResourceTags(context.Context, *kms.ListResourceTagsInput, ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// keyPendingDays is the pending window teardown schedules a key's
// deletion with: KMS's shortest.
const keyPendingDays = 7

// The logical ids of the template's retained token store.
const (
	tokensTableLogicalID = "TokensTable"
	accessKeyLogicalID   = "AccessTokenKey"
	refreshKeyLogicalID  = "RefreshTokenKey"
)

// stageKey is one KMS key -keys named.
type stageKey struct {
	id, arn, logical string
	pending          bool // already scheduled for deletion
}

// newTeardownAWS builds teardown's clients; tests replace it.
var newTeardownAWS = func(cfg aws.Config) teardownAWS {
	return teardownAWS{
		Secrets: secretsmanager.NewFromConfig(cfg),
		Tables:  dynamodb.NewFromConfig(cfg),
		Keys:    kms.NewFromConfig(cfg),
		Stacks:  cloudformation.NewFromConfig(cfg),
	}
}

// stageSecret is one secret found under the stage's prefix.
type stageSecret struct {
	name, arn string
	stack     string // the stack that made it (id, else name), "" for the functions' own
}

func runTeardown(ctx context.Context, c *cli, cmd *command, args []string) error {
	// Not c.flagSet: -stack means something else here.
	fs := flag.NewFlagSet(cmd.full(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.stack, "stack", c.stack, "refuse also while the CloudFormation stack `NAME` exists (the secrets' own tags name theirs)")
	stage := fs.String("stage", "", "the stage `NAME` to tear down (the stack's Stage parameter and output)")
	table := fs.String("table", "", "also delete the retained connections table `NAME` (the stack's output ConnectionsTableName)")
	tokensTable := fs.String("tokens-table", "", "also delete the retained tokens table `NAME` (TokenStore=DynamoDB: the stack's output TokensTableName)")
	keyList := fs.String("keys", "", "also schedule the deletion, in 7 days, of the token keys `ARN,ARN` (the stack's outputs AccessTokenKeyArn and RefreshTokenKeyArn)")
	recoveryDays := fs.Int("recovery-days", 0, "keep the secrets restorable for `N` days (7 to 30) instead of deleting them at once")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	switch {
	case *stage == "":
		return usagef(cmd, "-stage is required")
	case !stageNamePattern.MatchString(*stage):
		return usagef(cmd, "-stage %q is not a stage name (a lower-case letter, then up to 15 lower-case letters, digits or hyphens)", *stage)
	case *recoveryDays != 0 && (*recoveryDays < 7 || *recoveryDays > 30):
		return usagef(cmd, "-recovery-days %d: Secrets Manager keeps a deleted secret 7 to 30 days (0: delete at once)", *recoveryDays)
	case *table != "" && *table == *tokensTable:
		return usagef(cmd, "-table and -tokens-table name the same table %s", *table)
	case !*yes && !c.terminal:
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return err
	}
	clients := newTeardownAWS(cfg)
	prefix := stageSecretPrefix(*stage)

	secrets, err := listStageSecrets(ctx, clients.Secrets, prefix)
	if err != nil {
		return err
	}
	stacks := map[string]bool{}
	if c.stack != "" {
		stacks[c.stack] = true
	}
	for _, s := range secrets {
		if s.stack != "" {
			stacks[s.stack] = true
		}
	}
	var tableItems, tokenItems int64
	if *table != "" {
		owner, items, err := inspectTable(ctx, clients.Tables, *table, "ConnectionsTable")
		if err != nil {
			return err
		}
		tableItems = items
		if owner != "" {
			stacks[owner] = true
		}
	}
	if *tokensTable != "" {
		owner, items, err := inspectTable(ctx, clients.Tables, *tokensTable, tokensTableLogicalID)
		if err != nil {
			return err
		}
		tokenItems = items
		if owner != "" {
			stacks[owner] = true
		}
	}
	var keys []stageKey
	for _, id := range strings.Split(*keyList, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		k, owner, err := inspectKey(ctx, clients.Keys, id)
		if err != nil {
			return err
		}
		keys = append(keys, k)
		if owner != "" {
			stacks[owner] = true
		}
	}
	if err := refuseLiveStacks(ctx, clients.Stacks, stacks); err != nil {
		return err
	}
	if len(secrets) == 0 && *table == "" && *tokensTable == "" && len(keys) == 0 {
		fmt.Fprintf(c.stderr, "%s: no secrets under %s in %s: nothing to delete\n", name, prefix, cfg.Region)
		return nil
	}

	describeTeardown(c, prefix, cfg.Region, secrets, *table, tableItems)
	if *tokensTable != "" {
		fmt.Fprintf(c.stderr, "  tokens table %s (about %s, as DynamoDB last counted)\n", *tokensTable, plural(int(tokenItems), "item"))
	}
	for _, k := range keys {
		if k.pending {
			fmt.Fprintf(c.stderr, "  KMS key %s (%s): already scheduled for deletion, left as it is\n", k.arn, k.logical)
			continue
		}
		fmt.Fprintf(c.stderr, "  KMS key %s (%s): deletion scheduled in %d days, KMS's minimum\n", k.arn, k.logical, keyPendingDays)
	}
	if !*yes {
		what := plural(len(secrets), "secret")
		var tables []string
		for _, tb := range []string{*table, *tokensTable} {
			if tb != "" {
				tables = append(tables, tb)
			}
		}
		if len(tables) > 0 {
			what += " and " + plural(len(tables), "table") + " " + strings.Join(tables, ", ")
		}
		q := fmt.Sprintf("Delete these %s? They cannot be recovered.", what)
		if *recoveryDays > 0 {
			q = fmt.Sprintf("Delete these %s? The secrets can be restored for %d days; a table cannot.", what, *recoveryDays)
		}
		if len(keys) > 0 {
			n := fmt.Sprintf("%d KMS keys", len(keys))
			if len(keys) == 1 {
				n = "KMS key"
			}
			q += fmt.Sprintf(" The %s will be deleted in %d days (aws kms cancel-key-deletion until then); the tokens sealed under them are lost for good after.", n, keyPendingDays)
		}
		if err := c.confirm(cmd, q); err != nil {
			return err
		}
	}

	var errs []error
	deleted := 0
	for _, s := range secrets {
		in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(s.arn)}
		if *recoveryDays > 0 {
			in.RecoveryWindowInDays = aws.Int64(int64(*recoveryDays))
		} else {
			in.ForceDeleteWithoutRecovery = aws.Bool(true)
		}
		_, err := clients.Secrets.DeleteSecret(ctx, in)
		var nf *smtypes.ResourceNotFoundException
		switch {
		case err == nil, errors.As(err, &nf):
			deleted++
		case ctx.Err() != nil:
			return errors.Join(append(errs, ctx.Err())...)
		default:
			errs = append(errs, fmt.Errorf("delete secret %s: %w", s.name, err))
		}
	}
	fmt.Fprintf(c.stdout, "deleted %s under %s\n", plural(deleted, "secret"), prefix)
	for _, tb := range []string{*table, *tokensTable} {
		if tb == "" {
			continue
		}
		_, err := clients.Tables.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb)})
		var nf *ddbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", tb, err))
		} else {
			fmt.Fprintf(c.stdout, "deleted table %s\n", tb)
		}
	}
	for _, k := range keys {
		if k.pending {
			continue
		}
		out, err := clients.Keys.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(k.id), PendingWindowInDays: aws.Int32(keyPendingDays)})
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule the deletion of KMS key %s: %w", k.arn, err))
			continue
		}
		when := fmt.Sprintf("in %d days", keyPendingDays)
		if out.DeletionDate != nil {
			when += " (" + out.DeletionDate.UTC().Format("2006-01-02 15:04 MST") + ")"
		}
		fmt.Fprintf(c.stdout, "scheduled KMS key %s (%s) for deletion %s; aws kms cancel-key-deletion until then\n", k.arn, k.logical, when)
	}
	return errors.Join(errs...)
}

// inspectKey describes a key -keys named: its ARN, the template key it
// is, whether it is already scheduled for deletion, and the stack that
// made it ("" when untagged). A key CloudFormation made as anything but
// a token key is refused.
func inspectKey(ctx context.Context, keys teardownKeys, id string) (stageKey, string, error) {
	out, err := keys.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	var nf *kmstypes.NotFoundException
	if errors.As(err, &nf) {
		return stageKey{}, "", fmt.Errorf("KMS key %s does not exist in this account and region; nothing was deleted", id)
	}
	if err != nil {
		return stageKey{}, "", fmt.Errorf("describe KMS key %s: %w", id, err)
	}
	m := out.KeyMetadata
	k := stageKey{id: aws.ToString(m.KeyId), arn: aws.ToString(m.Arn), pending: m.KeyState == kmstypes.KeyStatePendingDeletion}
	tags := map[string]string{}
	in := &kms.ListResourceTagsInput{KeyId: m.KeyId}
	for {
		page, err := keys.ListResourceTags(ctx, in)
		if err != nil {
			return stageKey{}, "", fmt.Errorf("tags of KMS key %s: %w", id, err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
		}
		if !page.Truncated || page.NextMarker == nil {
			break
		}
		in.Marker = page.NextMarker
	}
	switch l := tags[tagLogicalID]; l {
	case accessKeyLogicalID, refreshKeyLogicalID:
		k.logical = l
	case "":
		k.logical = "untagged"
	default:
		return stageKey{}, "", fmt.Errorf("KMS key %s is a stack's %s, not its %s or %s; nothing was deleted", id, l, accessKeyLogicalID, refreshKeyLogicalID)
	}
	owner := tags[tagStackID]
	if owner == "" {
		owner = tags[tagStackName]
	}
	return k, owner, nil
}

// listStageSecrets lists every secret under prefix before anything is
// deleted (deleting while paging would skip secrets).
func listStageSecrets(ctx context.Context, sm interface {
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}, prefix string) ([]stageSecret, error) {
	var out []stageSecret
	p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list secrets under %s: %w", prefix, err)
		}
		for _, s := range page.SecretList {
			n := aws.ToString(s.Name)
			if !strings.HasPrefix(n, prefix) { // the name filter also matches inside names
				continue
			}
			out = append(out, stageSecret{name: n, arn: aws.ToString(s.ARN), stack: secretStack(s.Tags)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func secretStack(tags []smtypes.Tag) string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if id := m[tagStackID]; id != "" {
		return id
	}
	return m[tagStackName]
}

// inspectTable returns the stack that made the table ("" when untagged)
// and its approximate item count. A table CloudFormation made as anything
// but the template's logical table is refused.
func inspectTable(ctx context.Context, db interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
}, table, logical string) (string, int64, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", 0, fmt.Errorf("table %s does not exist in this account and region; nothing was deleted", table)
	}
	if err != nil {
		return "", 0, fmt.Errorf("describe table %s: %w", table, err)
	}
	tags := map[string]string{}
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: out.Table.TableArn}
	for {
		page, err := db.ListTagsOfResource(ctx, in)
		if err != nil {
			return "", 0, fmt.Errorf("tags of table %s: %w", table, err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if id := tags[tagLogicalID]; id != "" && id != logical {
		return "", 0, fmt.Errorf("table %s is a stack's %s, not its %s; nothing was deleted", table, id, logical)
	}
	owner := tags[tagStackID]
	if owner == "" {
		owner = tags[tagStackName]
	}
	return owner, aws.ToInt64(out.Table.ItemCount), nil
}

// refuseLiveStacks fails when any of the stacks still exists: its
// functions would go on using what teardown deletes.
func refuseLiveStacks(ctx context.Context, cf CloudFormation, stacks map[string]bool) error {
	ids := make([]string, 0, len(stacks))
	for s := range stacks {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	for _, s := range ids {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(s)})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot tell whether stack %s still exists, so nothing was deleted: %w", s, err)
		}
		for _, st := range out.Stacks {
			if st.StackStatus != cftypes.StackStatusDeleteComplete {
				return fmt.Errorf("stack %s still exists (%s): sam delete it first; nothing was deleted", aws.ToString(st.StackName), st.StackStatus)
			}
		}
	}
	return nil
}

// describeTeardown tells on stderr what is about to go.
func describeTeardown(c *cli, prefix, region string, secrets []stageSecret, table string, tableItems int64) {
	fmt.Fprintf(c.stderr, "In %s:\n", region)
	kinds := map[string]int{}
	for _, s := range secrets {
		rest := strings.TrimPrefix(s.name, prefix)
		if kind, _, ok := strings.Cut(rest, "/"); ok && (kind == "access" || kind == "refresh") {
			kinds[kind]++
			continue
		}
		fmt.Fprintf(c.stderr, "  secret %s\n", s.name)
	}
	for _, kind := range []string{"access", "refresh"} {
		if n := kinds[kind]; n > 0 {
			fmt.Fprintf(c.stderr, "  %s (%s%s/...)\n", plural(n, kind+" token secret"), prefix, kind)
		}
	}
	if table != "" {
		fmt.Fprintf(c.stderr, "  table %s (about %s, as DynamoDB last counted)\n", table, plural(int(tableItems), "item"))
	}
}
