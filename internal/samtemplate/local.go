package samtemplate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// LocalDynamoDB is what Local needs of a DynamoDB client.
type LocalDynamoDB interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

// LocalSecrets is what Local needs of a Secrets Manager client.
type LocalSecrets interface {
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

// LocalQueues is what Local needs of an SQS client.
type LocalQueues interface {
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	DeleteQueue(context.Context, *sqs.DeleteQueueInput, ...func(*sqs.Options)) (*sqs.DeleteQueueOutput, error)
}

// LocalEvents is what Local needs of an EventBridge client.
type LocalEvents interface {
	CreateEventBus(context.Context, *eventbridge.CreateEventBusInput, ...func(*eventbridge.Options)) (*eventbridge.CreateEventBusOutput, error)
	DescribeEventBus(context.Context, *eventbridge.DescribeEventBusInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeEventBusOutput, error)
	DeleteEventBus(context.Context, *eventbridge.DeleteEventBusInput, ...func(*eventbridge.Options)) (*eventbridge.DeleteEventBusOutput, error)
	ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
	RemoveTargets(context.Context, *eventbridge.RemoveTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error)
	DeleteRule(context.Context, *eventbridge.DeleteRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error)
}

// LocalKMS is what Local needs of a KMS client.
type LocalKMS interface {
	CreateKey(context.Context, *kms.CreateKeyInput, ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

var (
	_ LocalKMS      = (*kms.Client)(nil)
	_ LocalDynamoDB = (*dynamodb.Client)(nil)
	_ LocalSecrets  = (*secretsmanager.Client)(nil)
	_ LocalQueues   = (*sqs.Client)(nil)
	_ LocalEvents   = (*eventbridge.Client)(nil)
)

// Local creates a template's tables (with their indexes and streams),
// secrets, queues, event buses and KMS keys in local services (DynamoDB
// Local, moto). SQS may be nil: queues are then skipped; EventBridge may
// be nil: event buses are then skipped; KMS may be nil while no key is
// active (TokenStore=SecretsManager). A resource whose Condition is false for
// the deployment's parameters is not made.
type Local struct {
	DynamoDB       LocalDynamoDB
	SecretsManager LocalSecrets
	SQS            LocalQueues
	EventBridge    LocalEvents
	// KMS makes the template's keys (may be nil while none is active).
	KMS LocalKMS
}

// DeployOptions says how to name and fill what Deploy creates.
type DeployOptions struct {
	// Prefix names every resource <Prefix>-<LogicalId>.
	Prefix string
	// Vars are laid over Template.LocalVars: parameter values (Stage, ...)
	// and pseudo parameters (AWS::Region, AWS::StackName, ...).
	Vars map[string]string
	// SecretStrings give a secret's value by logical id, instead of the
	// template's SecretString or a generated one.
	SecretStrings map[string]string
	// Queues creates the template's queues too (needs Local.SQS).
	Queues bool
	// Reuse keeps what already exists under the same names (cmd/localstack
	// run twice) instead of failing; secrets named in SecretStrings get
	// the new value.
	Reuse bool
}

// Deployment is what Deploy made.
type Deployment struct {
	Tables       map[string]string // logical id → table name
	Secrets      map[string]string // logical id → secret ARN
	SecretNames  map[string]string // logical id → secret name
	SecretValues map[string]string // logical id → secret value
	Queues       map[string]string // logical id → queue URL
	QueueARNs    map[string]string // logical id → queue ARN
	// Streams maps a table with a stream to its stream's ARN (DynamoDB
	// Local's LatestStreamArn).
	Streams map[string]string
	// EventBuses and EventBusARNs name the buses made (Local.EventBridge).
	EventBuses   map[string]string // logical id → bus name
	EventBusARNs map[string]string // logical id → bus ARN
	// Keys and KeyARNs name the KMS keys made (Local.KMS).
	Keys    map[string]string // logical id → key id
	KeyARNs map[string]string // logical id → key ARN
	// Vars resolves the template's values against what was made: the
	// options' Vars over LocalVars, plus each resource's !Ref value and
	// its Arn (StreamArn, QueueName, Name) for !GetAtt.
	Vars map[string]string
}

// FunctionEnvironment is the environment a function of t gets in this
// deployment.
func (d *Deployment) FunctionEnvironment(t *Template, logicalID string) (map[string]string, error) {
	fn, ok := t.Function(logicalID)
	if !ok {
		return nil, fmt.Errorf("samtemplate: no function %s in the template", logicalID)
	}
	return fn.ResolveEnvironment(d.Vars)
}

// Deploy creates the template's tables (waiting until they are ACTIVE, with
// TTL set), secrets, event buses (with Local.EventBridge) and, when asked,
// queues; what the template makes under a false Condition is skipped.
func (l Local) Deploy(ctx context.Context, t *Template, opts DeployOptions) (*Deployment, error) {
	if opts.Prefix == "" {
		return nil, errors.New("samtemplate: DeployOptions.Prefix is empty")
	}
	d := &Deployment{
		Tables:       map[string]string{},
		Secrets:      map[string]string{},
		SecretNames:  map[string]string{},
		SecretValues: map[string]string{},
		Queues:       map[string]string{},
		QueueARNs:    map[string]string{},
		Streams:      map[string]string{},
		EventBuses:   map[string]string{},
		EventBusARNs: map[string]string{},
		Keys:         map[string]string{},
		KeyARNs:      map[string]string{},
		Vars:         t.LocalVars(),
	}
	for k, v := range opts.Vars {
		d.Vars[k] = v
	}
	t.SetConditions(d.Vars)
	region, account := d.Vars["AWS::Region"], d.Vars["AWS::AccountId"]
	// What exists depends only on the parameters, so it is known before
	// anything is made.
	active := func(condition string) (bool, error) { return t.Active(condition, d.Vars) }

	var tables []Table
	for _, tb := range t.Tables {
		if ok, err := active(tb.Condition); err != nil || !ok {
			if err != nil {
				return d, err
			}
			continue
		}
		name := opts.Prefix + "-" + tb.LogicalID
		tables = append(tables, tb)
		d.Tables[tb.LogicalID] = name
		d.Vars[tb.LogicalID] = name
		d.Vars[tb.LogicalID+".Arn"] = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, name)
	}
	streams, err := l.createTables(ctx, tables, d.Tables, opts.Reuse)
	for id, arn := range streams {
		d.Streams[id] = arn
		d.Vars[id+".StreamArn"] = arn
	}
	if err != nil {
		return d, err
	}

	for _, s := range t.Secrets {
		if ok, err := active(s.Condition); err != nil || !ok {
			if err != nil {
				return d, err
			}
			continue
		}
		name := opts.Prefix + "-" + s.LogicalID
		value, ok := opts.SecretStrings[s.LogicalID]
		var err error
		switch {
		case ok:
		case !s.SecretString.IsZero():
			value, err = s.SecretString.Resolve(d.Vars)
			if err != nil {
				return d, fmt.Errorf("samtemplate: secret %s: %w (give its value in DeployOptions.SecretStrings)", s.LogicalID, err)
			}
		case s.Generated:
			value, err = generate(s.PasswordLength, s.ExcludePunctuation)
			if err != nil {
				return d, err
			}
		default:
			return d, fmt.Errorf("samtemplate: secret %s has no SecretString nor GenerateSecretString", s.LogicalID)
		}
		arn, value, err := l.createSecret(ctx, name, value, ok, opts.Reuse)
		if err != nil {
			return d, fmt.Errorf("samtemplate: secret %s: %w", s.LogicalID, err)
		}
		d.Secrets[s.LogicalID] = arn
		d.SecretNames[s.LogicalID] = name
		d.SecretValues[s.LogicalID] = value
		d.Vars[s.LogicalID] = arn
	}

	if opts.Queues {
		if l.SQS == nil {
			return d, errors.New("samtemplate: DeployOptions.Queues needs Local.SQS")
		}
		var queues []Queue
		for _, q := range t.Queues {
			ok, err := active(q.Condition)
			if err != nil {
				return d, err
			}
			if ok {
				queues = append(queues, q)
			}
		}
		if err := l.createQueues(ctx, queues, opts.Prefix, d, opts.Reuse); err != nil {
			return d, err
		}
	}
	if l.EventBridge != nil {
		for _, b := range t.EventBuses {
			ok, err := active(b.Condition)
			if err != nil {
				return d, err
			}
			if !ok {
				continue
			}
			if err := l.createEventBus(ctx, b, opts.Prefix+"-"+b.LogicalID, d, opts.Reuse); err != nil {
				return d, err
			}
		}
	}
	for _, k := range t.Keys {
		ok, err := active(k.Condition)
		if err != nil {
			return d, err
		}
		if !ok {
			continue
		}
		if l.KMS == nil {
			return d, fmt.Errorf("samtemplate: key %s needs Local.KMS", k.LogicalID)
		}
		desc := opts.Prefix + "-" + k.LogicalID
		out, err := l.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(desc)})
		if err != nil {
			return d, fmt.Errorf("samtemplate: create key %s: %w", k.LogicalID, err)
		}
		d.Keys[k.LogicalID] = aws.ToString(out.KeyMetadata.KeyId)
		d.KeyARNs[k.LogicalID] = aws.ToString(out.KeyMetadata.Arn)
		d.Vars[k.LogicalID] = d.Keys[k.LogicalID]
		d.Vars[k.LogicalID+".Arn"] = d.KeyARNs[k.LogicalID]
	}
	for _, fn := range t.Functions {
		if fn.FunctionName.IsZero() {
			d.Vars[fn.LogicalID] = opts.Prefix + "-" + fn.LogicalID
			continue
		}
		if name, err := fn.FunctionName.Resolve(d.Vars); err == nil {
			d.Vars[fn.LogicalID] = name
		}
	}
	return d, nil
}

// Teardown deletes what Deploy made; secrets without a recovery window.
// What is already gone is no error. It goes on past errors and returns
// them joined.
func (l Local) Teardown(ctx context.Context, d *Deployment) error {
	var errs []error
	for _, name := range d.Tables {
		_, err := l.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", name, err))
		}
	}
	for _, arn := range d.Secrets {
		_, err := l.SecretsManager.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
			SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true),
		})
		var nf *smtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete secret %s: %w", arn, err))
		}
	}
	for _, url := range d.Queues {
		if _, err := l.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", url, err))
		}
	}
	for _, id := range d.Keys {
		if l.KMS == nil {
			errs = append(errs, fmt.Errorf("delete key %s: Local.KMS is nil", id))
			continue
		}
		if _, err := l.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
			errs = append(errs, fmt.Errorf("delete key %s: %w", id, err))
		}
	}
	for _, name := range d.EventBuses {
		if l.EventBridge == nil {
			errs = append(errs, fmt.Errorf("delete event bus %s: Local.EventBridge is nil", name))
			continue
		}
		if err := l.deleteEventBus(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteSecretsUnder deletes every secret whose name starts with prefix,
// such as the per-connection token secrets the functions made under
// TOKEN_SECRET_PREFIX, which Deploy did not make and Teardown does not know.
func (l Local) DeleteSecretsUnder(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("samtemplate: refusing to delete secrets under an empty prefix")
	}
	// List every name first: deleting while paging shifts the pages, and
	// half the secrets would be skipped.
	var arns []string
	p := secretsmanager.NewListSecretsPaginator(l.SecretsManager, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list secrets under %s: %w", prefix, err)
		}
		for _, s := range page.SecretList {
			if strings.HasPrefix(aws.ToString(s.Name), prefix) { // the name filter also matches inside names
				arns = append(arns, aws.ToString(s.ARN))
			}
		}
	}
	var errs []error
	for _, arn := range arns {
		_, err := l.SecretsManager.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)})
		var nf *smtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete %s: %w", arn, err))
		}
	}
	return errors.Join(errs...)
}

// createTables answers the stream ARN of each table with a stream.
func (l Local) createTables(ctx context.Context, tables []Table, names map[string]string, reuse bool) (map[string]string, error) {
	errs := make([]error, len(tables))
	arns := make([]string, len(tables))
	var wg sync.WaitGroup
	for i, tb := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arns[i], errs[i] = l.createTable(ctx, tb, names[tb.LogicalID], reuse)
		}()
	}
	wg.Wait()
	streams := map[string]string{}
	for i, tb := range tables {
		if arns[i] != "" {
			streams[tb.LogicalID] = arns[i]
		}
	}
	return streams, errors.Join(errs...)
}

// createTable makes one table and answers its stream's ARN ("" when it
// has none).
func (l Local) createTable(ctx context.Context, tb Table, name string, reuse bool) (string, error) {
	_, err := l.DynamoDB.CreateTable(ctx, CreateTableInput(tb, name))
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !(reuse && errors.As(err, &inUse)) {
		return "", fmt.Errorf("samtemplate: create table %s (%s): %w", name, tb.LogicalID, err)
	}
	// DynamoDB Local makes tables ACTIVE at once; the SDK's waiter would
	// sleep 20 s before its first look, so poll briefly instead.
	deadline := time.Now().Add(30 * time.Second)
	var stream string
	for {
		out, err := l.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("samtemplate: describe table %s: %w", name, err)
		}
		if out.Table.TableStatus == ddbtypes.TableStatusActive {
			stream = aws.ToString(out.Table.LatestStreamArn)
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("samtemplate: table %s not ACTIVE after 30s (%s)", name, out.Table.TableStatus)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if tb.StreamViewType != "" && stream == "" {
		return "", fmt.Errorf("samtemplate: table %s has no stream, though the template gives it one", name)
	}
	if in := UpdateTimeToLiveInput(tb, name); in != nil {
		if _, err := l.DynamoDB.UpdateTimeToLive(ctx, in); err != nil && !reuse {
			return "", fmt.Errorf("samtemplate: set TTL of %s: %w", name, err)
		}
	}
	return stream, nil
}

// createEventBus makes one bus; Ref is its name, GetAtt Arn and Name.
func (l Local) createEventBus(ctx context.Context, b EventBus, name string, d *Deployment, reuse bool) error {
	var arn string
	out, err := l.EventBridge.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	var exists *ebtypes.ResourceAlreadyExistsException
	switch {
	case err == nil:
		arn = aws.ToString(out.EventBusArn)
	case reuse && errors.As(err, &exists):
		got, derr := l.EventBridge.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
		if derr != nil {
			return fmt.Errorf("samtemplate: event bus %s: %w", name, derr)
		}
		arn = aws.ToString(got.Arn)
	default:
		return fmt.Errorf("samtemplate: create event bus %s (%s): %w", name, b.LogicalID, err)
	}
	d.EventBuses[b.LogicalID] = name
	d.EventBusARNs[b.LogicalID] = arn
	d.Vars[b.LogicalID] = name
	d.Vars[b.LogicalID+".Name"] = name
	d.Vars[b.LogicalID+".Arn"] = arn
	return nil
}

// deleteEventBus deletes a bus and the rules on it (EventBridge refuses to
// delete a bus that has rules).
func (l Local) deleteEventBus(ctx context.Context, name string) error {
	var nf *ebtypes.ResourceNotFoundException
	var errs []error
	rules, err := l.EventBridge.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(name)})
	switch {
	case errors.As(err, &nf):
		return nil
	case err != nil:
		return fmt.Errorf("delete event bus %s: list rules: %w", name, err)
	}
	for _, r := range rules.Rules {
		targets, err := l.EventBridge.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name, EventBusName: aws.String(name)})
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete event bus %s: rule %s: %w", name, aws.ToString(r.Name), err))
			continue
		}
		if targets != nil && len(targets.Targets) > 0 {
			ids := make([]string, 0, len(targets.Targets))
			for _, tg := range targets.Targets {
				ids = append(ids, aws.ToString(tg.Id))
			}
			if _, err := l.EventBridge.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: r.Name, EventBusName: aws.String(name), Ids: ids}); err != nil && !errors.As(err, &nf) {
				errs = append(errs, fmt.Errorf("delete event bus %s: rule %s's targets: %w", name, aws.ToString(r.Name), err))
			}
		}
		if _, err := l.EventBridge.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: r.Name, EventBusName: aws.String(name)}); err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete event bus %s: rule %s: %w", name, aws.ToString(r.Name), err))
		}
	}
	if _, err := l.EventBridge.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(name)}); err != nil && !errors.As(err, &nf) {
		errs = append(errs, fmt.Errorf("delete event bus %s: %w", name, err))
	}
	return errors.Join(errs...)
}

// createSecret returns the secret's ARN and value. Reusing an existing
// secret keeps its value unless the caller gave one (overwrite).
func (l Local) createSecret(ctx context.Context, name, value string, overwrite, reuse bool) (string, string, error) {
	out, err := l.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
	})
	if err == nil {
		return aws.ToString(out.ARN), value, nil
	}
	var exists *smtypes.ResourceExistsException
	if !reuse || !errors.As(err, &exists) {
		return "", "", err
	}
	if overwrite {
		put, err := l.SecretsManager.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(name), SecretString: aws.String(value),
		})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(put.ARN), value, nil
	}
	got, err := l.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(got.ARN), aws.ToString(got.SecretString), nil
}

func (l Local) createQueues(ctx context.Context, queues []Queue, prefix string, d *Deployment, reuse bool) error {
	// Dead-letter targets first, so their ARNs are known to the queues
	// that redrive into them.
	ordered := make([]Queue, 0, len(queues))
	for _, q := range queues {
		if q.DeadLetterTarget == "" {
			ordered = append(ordered, q)
		}
	}
	for _, q := range queues {
		if q.DeadLetterTarget != "" {
			ordered = append(ordered, q)
		}
	}
	for _, q := range ordered {
		name := prefix + "-" + q.LogicalID
		attrs := map[string]string{}
		if q.VisibilityTimeout > 0 {
			attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(q.VisibilityTimeout)
		}
		if q.MessageRetentionPeriod > 0 {
			attrs[string(sqstypes.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(q.MessageRetentionPeriod)
		}
		if q.DeadLetterTarget != "" {
			target, ok := d.QueueARNs[q.DeadLetterTarget]
			if !ok {
				return fmt.Errorf("samtemplate: queue %s: dead-letter target %s is not a queue of the template", q.LogicalID, q.DeadLetterTarget)
			}
			attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, target, q.MaxReceiveCount)
		}
		var url string
		out, err := l.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		switch {
		case err == nil:
			url = aws.ToString(out.QueueUrl)
		case reuse:
			got, gerr := l.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if gerr != nil {
				return fmt.Errorf("samtemplate: create queue %s: %w", name, err)
			}
			url = aws.ToString(got.QueueUrl)
		default:
			return fmt.Errorf("samtemplate: create queue %s: %w", name, err)
		}
		ga, err := l.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return fmt.Errorf("samtemplate: queue %s attributes: %w", name, err)
		}
		arn := ga.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
		d.Queues[q.LogicalID] = url
		d.QueueARNs[q.LogicalID] = arn
		d.Vars[q.LogicalID] = url
		d.Vars[q.LogicalID+".Arn"] = arn
		d.Vars[q.LogicalID+".QueueName"] = name
		d.Vars[q.LogicalID+".QueueUrl"] = url
	}
	return nil
}

const (
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// generate makes a secret the way GenerateSecretString would.
func generate(length int, excludePunctuation bool) (string, error) {
	chars := alnum
	if !excludePunctuation {
		chars += punctuation
	}
	b := make([]byte, length)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return "", err
		}
		b[i] = chars[n.Int64()]
	}
	return string(b), nil
}
