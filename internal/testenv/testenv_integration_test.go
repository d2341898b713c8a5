//go:build integration

package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/zohoconnect/zohoconnect/internal/localstack"
)

func TestNewMakesAndDeletesEverything(t *testing.T) {
	ctx := context.Background()
	var inner *Env
	var tokenSecret string
	t.Run("inner", func(t *testing.T) {
		env := New(t, WithQueues())
		inner = env

		for _, id := range []string{"ConnectionsTable", "StatesTable", "IdempotencyTable"} {
			name := env.Tables[id]
			if !strings.Contains(name, env.ID) || !strings.HasSuffix(name, id) {
				t.Errorf("%s named %q", id, name)
			}
			out, err := env.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("describe %s: %v", name, err)
			}
			if out.Table.TableStatus != ddbtypes.TableStatusActive {
				t.Errorf("%s is %s", name, out.Table.TableStatus)
			}
		}
		conns := env.Tables["ConnectionsTable"]
		out, _ := env.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(conns)})
		var gsis []string
		for _, g := range out.Table.GlobalSecondaryIndexes {
			gsis = append(gsis, aws.ToString(g.IndexName))
		}
		sort.Strings(gsis)
		if strings.Join(gsis, ",") != "due-index,tenant-index" {
			t.Errorf("connections GSIs = %v", gsis)
		}
		ttl, err := env.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(env.Tables["StatesTable"])})
		if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
			t.Errorf("states TTL = %+v, %v", ttl, err)
		}

		// The sparse due-index answers a due query.
		for _, item := range []map[string]ddbtypes.AttributeValue{
			{"connection_id": &ddbtypes.AttributeValueMemberS{Value: "zc_a"}, "refresh_shard": &ddbtypes.AttributeValueMemberS{Value: "03"}, "token_expires_at": &ddbtypes.AttributeValueMemberN{Value: "100"}},
			{"connection_id": &ddbtypes.AttributeValueMemberS{Value: "zc_b"}, "refresh_shard": &ddbtypes.AttributeValueMemberS{Value: "03"}, "token_expires_at": &ddbtypes.AttributeValueMemberN{Value: "900"}},
			{"connection_id": &ddbtypes.AttributeValueMemberS{Value: "zc_c"}, "token_expires_at": &ddbtypes.AttributeValueMemberN{Value: "50"}},
		} {
			if _, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(conns), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
		q, err := env.DynamoDB.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(conns),
			IndexName:              aws.String("due-index"),
			KeyConditionExpression: aws.String("refresh_shard = :s AND token_expires_at <= :t"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":s": &ddbtypes.AttributeValueMemberS{Value: "03"},
				":t": &ddbtypes.AttributeValueMemberN{Value: "500"},
			},
		})
		if err != nil || q.Count != 1 {
			t.Fatalf("due query = %+v, %v", q, err)
		}

		// A client built the way the code under test builds one (from
		// Config, no endpoint option) reaches the local stack too.
		plain := dynamodb.NewFromConfig(env.Config)
		lt, err := plain.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil || !slices.Contains(lt.TableNames, conns) {
			t.Fatalf("ListTables through env.Config: %v, %v", lt, err)
		}
		plainSM := secretsmanager.NewFromConfig(env.Config)
		got, err := plainSM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.ClientSecretID)})
		if err != nil {
			t.Fatal(err)
		}
		var cs localstack.ClientSecret
		if err := json.Unmarshal([]byte(aws.ToString(got.SecretString)), &cs); err != nil || cs.ClientID != env.ClientSecret.ClientID || cs.ClientSecret == "" || cs.RedirectURI == "" {
			t.Errorf("client secret = %s, %v", aws.ToString(got.SecretString), err)
		}
		key, err := env.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SubmissionKeySecretID)})
		if err != nil || aws.ToString(key.SecretString) != env.SubmissionKey || len(env.SubmissionKey) != 64 {
			t.Errorf("submission key = %q, %v", env.SubmissionKey, err)
		}

		// A token secret the code under test makes under the prefix.
		if !strings.HasPrefix(env.TokenSecretPrefix, "zohoconnect/"+env.ID+"/") {
			t.Errorf("TokenSecretPrefix = %q", env.TokenSecretPrefix)
		}
		tokenSecret = env.TokenSecretPrefix + "refresh/zc_a"
		if _, err := env.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(tokenSecret), SecretString: aws.String(`{"refresh_token":"x"}`),
		}); err != nil {
			t.Fatal(err)
		}

		// Every function's environment resolves against this test.
		for _, fn := range []string{"CallbackFunction", "RefreshFunction", "SyncFunction"} {
			fe := env.FunctionEnv(t, fn)
			if fe["CONNECTIONS_TABLE"] != conns || fe["TOKEN_SECRET_PREFIX"] != env.TokenSecretPrefix {
				t.Errorf("%s env = %v", fn, fe)
			}
		}
		sync := env.FunctionEnv(t, "SyncFunction")
		if sync["SUBMISSION_QUEUE_URL"] != env.Queues["SubmissionQueue"] || sync["SUBMISSION_KEY_SECRET_ID"] != env.SubmissionKeySecretID {
			t.Errorf("sync env = %v", sync)
		}
		if cb := env.FunctionEnv(t, "CallbackFunction"); cb["ZOHO_CLIENT_SECRET_ID"] != env.ClientSecretID || cb["STATES_TABLE"] != env.Tables["StatesTable"] {
			t.Errorf("callback env = %v", cb)
		}

		// The queue pair, with the template's redrive.
		qa, err := env.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(env.Queues["SubmissionQueue"]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil || !strings.Contains(qa.Attributes["RedrivePolicy"], "SubmissionDeadLetterQueue") || qa.Attributes["VisibilityTimeout"] != "180" {
			t.Errorf("queue attributes = %v, %v", qa, err)
		}
		if _, err := env.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(env.Queues["SubmissionQueue"]), MessageBody: aws.String("{}")}); err != nil {
			t.Fatal(err)
		}
	})
	if inner == nil || t.Failed() {
		return
	}

	// After the inner test: nothing of it is left.
	lt, err := inner.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range lt.TableNames {
		if strings.Contains(name, inner.ID) {
			t.Errorf("table %s left behind", name)
		}
	}
	for _, id := range []string{inner.ClientSecretID, inner.SubmissionKeySecretID, tokenSecret} {
		_, err := inner.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("secret %s left behind (err %v)", id, err)
		}
	}
	if _, err := inner.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("it-" + inner.ID + "-SubmissionQueue")}); err == nil {
		t.Error("queue left behind")
	}
}

func TestNewWithOptions(t *testing.T) {
	cs := localstack.ClientSecret{ClientID: "1000.ABC", ClientSecret: "s", RedirectURI: "http://127.0.0.1:3000/oauth/callback", ClientSecrets: map[string]string{"eu": "s-eu"}}
	env := New(t, WithClientSecret(cs), WithZohoEndpoint("http://127.0.0.1:9"), WithParameter("RefreshWindowSeconds", "60"))
	got, err := env.SecretsManager.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.ClientSecretID)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"client_id":"1000.ABC","client_secret":"s","redirect_uri":"http://127.0.0.1:3000/oauth/callback","client_secrets":{"eu":"s-eu"}}`; aws.ToString(got.SecretString) != want {
		t.Errorf("client secret = %s", aws.ToString(got.SecretString))
	}
	r := env.FunctionEnv(t, "RefreshFunction")
	if r["ZOHO_ENDPOINT_OVERRIDE"] != "http://127.0.0.1:9" || r["REFRESH_WINDOW_SECONDS"] != "60" {
		t.Errorf("refresh env = %v", r)
	}
	if env.Queues["SubmissionQueue"] != "" {
		t.Error("queues made without WithQueues")
	}
	env.Setenv(t, "CallbackFunction")
}
