//go:build integration && rie

package localinvoke

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/testflow"
)

// tokenEvents are the samples that write or read tokens: a connect's
// callback (and its reconnect), a submission and a form post (sync reads
// the access token), the on-demand and the scheduled refresh.
var tokenEvents = []string{"callback.json", "submission-json.json", "form-post.json", "refresh-one.json", "refresh-schedule.json"}

// The connect → refresh → submit → disconnect story with
// TokenStore=DynamoDB: the tokens table and the template's two KMS keys
// (moto's KMS), the same bootstraps, the same expectations as the
// SecretsManager run; only the functions that touch tokens are started.
func TestTokenEventsWithTheDynamoDBStore(t *testing.T) {
	s, logs := startStage(t, Options{TokenStore: TokenStoreDynamoDB,
		Functions: []string{"CallbackFunction", "SyncFunction", "RefreshFunction", "ProductApiFunction"}})
	ctx := context.Background()
	table := s.Deploy.Tables["TokensTable"]
	if table == "" || s.Deploy.Keys["AccessTokenKey"] == "" || s.Deploy.Keys["RefreshTokenKey"] == "" {
		t.Fatalf("the stage made tables %v and keys %v: want TokensTable, AccessTokenKey and RefreshTokenKey", s.Deploy.Tables, s.Deploy.Keys)
	}
	for _, fn := range []string{"CallbackFunction", "SyncFunction", "RefreshFunction"} {
		env, err := s.Env(fn)
		if err != nil {
			t.Fatal(err)
		}
		if env["TOKEN_STORE"] != TokenStoreDynamoDB || env["TOKENS_TABLE"] != table || env["AWS_ENDPOINT_URL_KMS"] == "" {
			t.Errorf("%s: TOKEN_STORE %q, TOKENS_TABLE %q, AWS_ENDPOINT_URL_KMS %q", fn, env["TOKEN_STORE"], env["TOKENS_TABLE"], env["AWS_ENDPOINT_URL_KMS"])
		}
	}

	t.Run("on-demand refresh through the Lambda API", func(t *testing.T) { onDemandRefresh(t, s) })
	for _, name := range tokenEvents {
		runSample(t, s, name)
	}

	c, err := s.Connected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The tokens are sealed in the tokens table: no token Zoho issued
	// appears in the item, and no token secret was made.
	item := tokenItem(t, s, c.ID)
	if len(item) == 0 {
		t.Fatalf("no item for %s in the tokens table", c.ID)
	}
	secrets := s.Secrets()
	for name, v := range item {
		if sv, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
			for _, secret := range secrets {
				if len(secret) >= 16 && strings.Contains(sv.Value, secret) {
					t.Errorf("the tokens table's %s holds a token in the clear", name)
				}
			}
		}
	}
	out, err := s.local.SecretsManager.(*secretsmanager.Client).ListSecrets(ctx, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{s.tokenPfx}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range out.SecretList {
		if strings.HasPrefix(aws.ToString(sec.Name), s.tokenPfx) {
			t.Errorf("token secret %s made with TokenStore=DynamoDB", aws.ToString(sec.Name))
		}
	}

	t.Run("disconnect", func(t *testing.T) {
		s.Lambda.Wait()
		revoked := s.Sim.Stats().Revocations
		path := "/connections/" + c.ID
		req := HTTPRequest(http.MethodDelete, path, "", map[string]string{"authorization": "Bearer " + s.ProductAPIKey}, nil)
		const route = "DELETE /connections/{connection_id}"
		req.RouteKey, req.RequestContext.RouteKey = route, route
		req.PathParameters = map[string]string{"connection_id": c.ID}
		resp, err := s.invokeRoute(ctx, route, "DELETE /connections/{connection_id}", req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"disconnected"`) {
			t.Fatalf("disconnect answered %d %s", resp.StatusCode, resp.Body)
		}
		s.Lambda.Wait()
		if got := s.Sim.Stats().Revocations - revoked; got != 1 {
			t.Errorf("%d refresh tokens revoked at Zoho by the disconnect, want 1", got)
		}
		if left := tokenItem(t, s, c.ID); len(left) != 0 {
			t.Errorf("the tokens table still holds %s's item after the disconnect: %v", c.ID, keys(left))
		}
		body := []byte(`{"Last_Name":"Gone","Email":"after.disconnect@example.com","Company":"Nope"}`)
		sub := HTTPRequest(http.MethodPost, path+"/submissions", "", map[string]string{
			"content-type": "application/json", "authorization": "Bearer " + c.SubmissionKey}, body)
		sub.RouteKey, sub.RequestContext.RouteKey = routeSubmissions, routeSubmissions
		sub.PathParameters = map[string]string{"connection_id": c.ID}
		after, err := s.invokeRoute(ctx, routeSubmissions, "submission after the disconnect", sub)
		if err != nil {
			t.Fatal(err)
		}
		if after.StatusCode != 401 {
			t.Errorf("a submission after the disconnect answered %d %s, want 401", after.StatusCode, after.Body)
		}
	})

	for _, leak := range testflow.Leaks(logs.String(), s.Secrets()) {
		t.Errorf("the functions' logs contain %s", leak)
	}
}

func tokenItem(t *testing.T, s *Stage, id string) map[string]ddbtypes.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(s.Deploy.Tables["TokensTable"]),
		Key:            map[string]ddbtypes.AttributeValue{"connection_id": &ddbtypes.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func keys(m map[string]ddbtypes.AttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
