//go:build integration

package samtemplate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

type clients struct {
	local   samtemplate.Local
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
	sm      *secretsmanager.Client
	sqs     *sqs.Client
	eb      *eventbridge.Client
}

func localClients(t *testing.T) clients {
	t.Helper()
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := localstack.NewConfig(context.Background(), eps)
	if err != nil {
		t.Fatal(err)
	}
	c := clients{
		db: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(eps.DynamoDB)
			o.DisableValidateResponseChecksum = true
		}),
		streams: dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(eps.DynamoDB) }),
		sm:      secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(eps.SecretsManager) }),
		sqs:     sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(eps.SQS) }),
		eb:      eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(eps.EventBridge) }),
	}
	c.local = samtemplate.Local{DynamoDB: c.db, SecretsManager: c.sm, SQS: c.sqs, EventBridge: c.eb}
	return c
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Deploy makes what the template makes with its defaults, in DynamoDB
// Local and moto: the four tables with their indexes and the connections
// table's stream, the generated secrets, the queues and the event bus,
// none of the webhook's resources; every function's environment
// resolves; Teardown deletes it all.
func TestDeployTheTemplate(t *testing.T) {
	ctx := context.Background()
	c := localClients(t)
	tpl, err := localstack.Template()
	if err != nil {
		t.Fatal(err)
	}
	id := "st" + randomID()
	d, err := c.local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix: id, Queues: true,
		Vars:          map[string]string{"Stage": id, "AWS::StackName": "zohoconnect-" + id},
		SecretStrings: map[string]string{"ZohoClientSecret": `{"client_id":"x","client_secret":"y"}`},
	})
	t.Cleanup(func() {
		if d != nil {
			_ = c.local.Teardown(context.Background(), d)
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	if got := slices.Sorted(maps.Keys(d.Tables)); !slices.Equal(got, []string{"ConcurrencyTable", "ConnectionsTable", "FormsTable", "IdempotencyTable", "SessionsTable", "StatesTable"}) {
		t.Errorf("tables %v", got)
	}
	conns := d.Tables["ConnectionsTable"]
	desc, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(conns)})
	if err != nil {
		t.Fatal(err)
	}
	var gsis []string
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName))
	}
	slices.Sort(gsis)
	if !slices.Equal(gsis, []string{"due-index", "tenant-index"}) {
		t.Errorf("connections GSIs %v", gsis)
	}
	spec := desc.Table.StreamSpecification
	if spec == nil || !aws.ToBool(spec.StreamEnabled) || spec.StreamViewType != ddbtypes.StreamViewTypeNewAndOldImages {
		t.Errorf("connections stream %+v", spec)
	}
	streamARN := d.Streams["ConnectionsTable"]
	if streamARN == "" || streamARN != aws.ToString(desc.Table.LatestStreamArn) || d.Vars["ConnectionsTable.StreamArn"] != streamARN {
		t.Errorf("stream ARN %q, table's %q, var %q", streamARN, aws.ToString(desc.Table.LatestStreamArn), d.Vars["ConnectionsTable.StreamArn"])
	}
	if _, ok := d.Streams["StatesTable"]; ok || len(d.Streams) != 1 {
		t.Errorf("streams %v: only the connections table has one", d.Streams)
	}

	// A tenant's item is found by the tenant index, and the write is on
	// the stream with both images' view.
	item := map[string]ddbtypes.AttributeValue{
		"connection_id": &ddbtypes.AttributeValueMemberS{Value: "zc_1"},
		"tenant_id":     &ddbtypes.AttributeValueMemberS{Value: "acme"},
	}
	if _, err := c.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(conns), Item: item}); err != nil {
		t.Fatal(err)
	}
	q, err := c.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(conns), IndexName: aws.String("tenant-index"),
		KeyConditionExpression:    aws.String("tenant_id = :t"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberS{Value: "acme"}},
	})
	if err != nil || q.Count != 1 {
		t.Errorf("tenant query %+v, %v", q, err)
	}
	if rec := firstStreamRecord(t, c.streams, streamARN); rec.EventName != streamtypes.OperationTypeInsert || rec.Dynamodb.NewImage["tenant_id"] == nil {
		t.Errorf("stream record %+v", rec)
	}

	key, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(d.Secrets["ProductApiKeySecret"])})
	if err != nil || len(aws.ToString(key.SecretString)) != 48 || aws.ToString(key.SecretString) != d.SecretValues["ProductApiKeySecret"] {
		t.Errorf("product API key %v (%d characters)", err, len(d.SecretValues["ProductApiKeySecret"]))
	}

	if got := slices.Sorted(maps.Keys(d.Queues)); !slices.Equal(got, []string{"EventsDeadLetterQueue", "SubmissionDeadLetterQueue", "SubmissionQueue"}) {
		t.Errorf("queues %v: the webhook's dead-letter queue needs a WebhookUrl", got)
	}
	bus := d.EventBuses["EventBus"]
	got, err := c.eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
	if err != nil || aws.ToString(got.Arn) != d.Vars["EventBus.Arn"] || d.Vars["EventBus"] != bus {
		t.Errorf("event bus %q: %+v, %v; vars %q %q", bus, got, err, d.Vars["EventBus"], d.Vars["EventBus.Arn"])
	}
	// A rule of someone's (localrun adds one) does not keep Teardown
	// from deleting the bus.
	if _, err := c.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(id + "-watch"), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["zohoconnect"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(id + "-watch"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(d.QueueARNs["EventsDeadLetterQueue"])}}}); err != nil {
		t.Fatal(err)
	}

	for _, fn := range tpl.Functions {
		env, err := d.FunctionEnvironment(tpl, fn.LogicalID)
		if err != nil {
			t.Errorf("%s: %v", fn.LogicalID, err)
			continue
		}
		for name, want := range map[string]string{
			"EVENT_BUS_NAME": bus, "SESSIONS_TABLE": d.Tables["SessionsTable"], "PRODUCT_API_KEY_SECRET_ID": d.Secrets["ProductApiKeySecret"],
		} {
			if v, ok := env[name]; ok && v != want {
				t.Errorf("%s: %s = %q, want %q", fn.LogicalID, name, v, want)
			}
		}
	}

	// Run again with Reuse (cmd/localstack twice): the same stream.
	again, err := c.local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix: id, Queues: true, Reuse: true,
		Vars:          map[string]string{"Stage": id, "AWS::StackName": "zohoconnect-" + id},
		SecretStrings: map[string]string{"ZohoClientSecret": `{"client_id":"x","client_secret":"y"}`},
	})
	if err != nil || again.Streams["ConnectionsTable"] != streamARN || again.EventBusARNs["EventBus"] != d.EventBusARNs["EventBus"] {
		t.Errorf("redeploy with Reuse: %v; stream %q, bus %q", err, again.Streams["ConnectionsTable"], again.EventBusARNs["EventBus"])
	}

	if err := c.local.Teardown(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, name := range d.Tables {
		_, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("table %s left behind (%v)", name, err)
		}
	}
	for _, arn := range d.Secrets {
		_, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("secret %s left behind (%v)", arn, err)
		}
	}
	if _, err := c.eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)}); err == nil {
		t.Errorf("event bus %s left behind", bus)
	}
	for _, url := range d.Queues {
		if _, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url)}); err == nil {
			t.Errorf("queue %s left behind", url)
		}
	}
	d = nil
}

// With a WebhookUrl the webhook's queue is made too: the condition is
// evaluated against the deployment's parameters.
func TestDeployWithAWebhook(t *testing.T) {
	ctx := context.Background()
	c := localClients(t)
	tpl, err := localstack.Template()
	if err != nil {
		t.Fatal(err)
	}
	id := "st" + randomID()
	d, err := c.local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix: id, Queues: true,
		Vars:          map[string]string{"Stage": id, "WebhookUrl": "https://product.example.com/hooks", "WebhookApiKey": "k"},
		SecretStrings: map[string]string{"ZohoClientSecret": `{}`},
	})
	t.Cleanup(func() { _ = c.local.Teardown(context.Background(), d) })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Queues["WebhookDeadLetterQueue"]; !ok {
		t.Errorf("queues %v: no WebhookDeadLetterQueue with a WebhookUrl", d.Queues)
	}
}

func firstStreamRecord(t *testing.T, c *dynamodbstreams.Client, arn string) streamtypes.Record {
	t.Helper()
	ctx := context.Background()
	desc, err := c.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil || len(desc.StreamDescription.Shards) == 0 {
		t.Fatalf("describe stream: %+v, %v", desc, err)
	}
	it, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(arn), ShardId: desc.StreamDescription.Shards[0].ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	iter := it.ShardIterator
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && iter != nil; {
		out, err := c.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) > 0 {
			return out.Records[0]
		}
		iter = out.NextShardIterator
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no record on the stream")
	return streamtypes.Record{}
}
