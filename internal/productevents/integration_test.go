//go:build integration

package productevents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/functions/events/eventsfn"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/localrun/buswatch"
	"github.com/zohoconnect/zohoconnect/internal/localrun/ddbstream"
	"github.com/zohoconnect/zohoconnect/internal/localstack"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// Every kind of change of a connection, made by the real functions,
// reaches the real bus (moto's EventBridge) through EventsFunction fed
// with the connections table's real stream (DynamoDB Local's), as Lambda
// feeds it; the stream delivered again publishes the same event_ids.
func TestEveryChangeBecomesItsEvent(t *testing.T) {
	cs := localstack.ClientSecret{ClientID: "1000.EVENTSCLIENT", ClientSecret: "events-client-secret-value", RedirectURI: "https://api.example.test/oauth/callback"}
	f := testflow.New(t, zohosim.Options{}, testenv.WithClientSecret(cs), testenv.WithQueues())
	ctx := context.Background()
	ana := f.Sim.AddUser(zohosim.User{Email: "ana@acme.eu", Location: "eu", Orgs: []zohosim.Org{{Name: "Acme", Environment: zoho.Sandbox}}})
	f.Sim.AddUser(zohosim.User{Email: "bob@acme.eu", Location: "eu"})
	org := ana.Orgs[0].ID

	// connected (through a session, with metadata), reconnected by another
	// user, reauth_required, disconnected.
	sid, q := f.OpenSession(t, map[string]any{"tenant_id": "acme-42", "metadata": map[string]string{"plan": "pro"}})
	if resp := f.Do(t, "/oauth/callback", f.Consent(t, f.Start(t, q), org, "accept"), true); resp.StatusCode != 200 {
		t.Fatalf("connect: %d %s", resp.StatusCode, resp.Body)
	}
	id := connection.TenantConnectionID("acme-42", "eu", zoho.Sandbox, org)
	if err := f.Sim.SetOrgUser(org, "bob@acme.eu"); err != nil {
		t.Fatal(err)
	}
	sid2, q2 := f.OpenSession(t, map[string]any{"tenant_id": "acme-42"})
	if resp := f.Do(t, "/oauth/callback", f.Consent(t, f.Start(t, q2), org, "accept"), true); resp.StatusCode != 200 {
		t.Fatalf("reconnect: %d %s", resp.StatusCode, resp.Body)
	}
	store := awsstore.NewConnectionStore(f.Env.DynamoDB, f.Env.Tables["ConnectionsTable"])
	if err := store.UpdateActive(ctx, id, func(c *connection.Connection) { c.RequireReauth("DOMAIN_TOKEN_MISMATCH", time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if status, out := f.ProductDo(t, f.ProductKey, "DELETE", "/connections/"+id, "", nil); status != 200 {
		t.Fatalf("DELETE: %d %v", status, out)
	}

	// The stream, as Lambda reads it.
	desc, err := f.Env.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(f.Env.Tables["ConnectionsTable"])})
	if err != nil || desc.Table.LatestStreamArn == nil {
		t.Fatalf("the connections table has no stream: %v", err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	streams := dynamodbstreams.NewFromConfig(f.Env.Config, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(endpoint(t)) })
	records, err := ddbstream.ReadAll(ctx, streams, arn)
	if err != nil || len(records) < 4 {
		t.Fatalf("%d stream records, %v", len(records), err)
	}
	ev, err := ddbstream.Event(records, arn)
	if err != nil {
		t.Fatal(err)
	}

	// EventsFunction, built from the template's environment.
	f.Env.Setenv(t, "EventsFunction")
	cfg, err := eventsfn.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	h, err := eventsfn.New(cfg, f.Env.Config, f.Log)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(f.Env.Config, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(eps.EventBridge) })
	w, err := buswatch.Start(ctx, eb, sqs.NewFromConfig(f.Env.Config, func(o *sqs.Options) { o.BaseEndpoint = aws.String(eps.SQS) }),
		cfg.EventBusName, "watch-"+f.Env.ID, `{"source":["zohoconnect"]}`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(context.WithoutCancel(ctx)) })

	publish := func() []events.EventBridgeEvent {
		t.Helper()
		resp, err := h.Handle(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%+v %v", resp, err)
		}
		var got []events.EventBridgeEvent
		for range 4 {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			e, err := w.Next(wctx)
			cancel()
			if err != nil {
				t.Fatalf("after %d events: %v", len(got), err)
			}
			got = append(got, e)
		}
		return got
	}
	first := publish()
	// An SQS queue keeps no order: the events are matched by their type,
	// each type once.
	want := map[string]bool{"connection.connected": true, "connection.reconnected": true, "connection.reauth_required": true, "connection.disconnected": true}
	ids := map[string]string{}
	for i, e := range first {
		if !want[e.DetailType] {
			t.Errorf("event %d: %s, unexpected or twice", i, e.DetailType)
		}
		delete(want, e.DetailType)
		var d map[string]any
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if e.Source != "zohoconnect" || d["connection_id"] != id || d["tenant_id"] != "acme-42" ||
			d["location"] != "eu" || d["environment"] != "sandbox" || d["org_id"] != org || d["org_name"] != "Acme" {
			t.Errorf("event %d: %s %s", i, e.DetailType, e.Detail)
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(d["occurred_at"])); err != nil {
			t.Errorf("%s occurred_at %v", e.DetailType, d["occurred_at"])
		}
		ids[e.DetailType] = fmt.Sprint(d["event_id"])
		switch e.DetailType {
		case "connection.connected":
			if d["session_id"] != sid || d["user_email"] != "ana@acme.eu" || d["metadata"].(map[string]any)["plan"] != "pro" || d["status"] != "active" {
				t.Errorf("connected: %s", e.Detail)
			}
		case "connection.reconnected":
			if d["session_id"] != sid2 || d["user_email"] != "bob@acme.eu" || d["previous_user_email"] != "ana@acme.eu" {
				t.Errorf("reconnected: %s", e.Detail)
			}
		case "connection.reauth_required":
			if d["status"] != "reauth_required" || d["reason"] != "DOMAIN_TOKEN_MISMATCH" {
				t.Errorf("reauth_required: %s", e.Detail)
			}
		case "connection.disconnected":
			if d["status"] != "disconnected" || d["reason"] != "disconnected by the product" {
				t.Errorf("disconnected: %s", e.Detail)
			}
		}
		f.CheckText(t, "an event", string(e.Detail))
	}
	// The same stream records again (Lambda redelivers after a failure):
	// the same events, with the same event_ids.
	for _, e := range publish() {
		var d map[string]any
		_ = json.Unmarshal(e.Detail, &d)
		if ids[e.DetailType] != fmt.Sprint(d["event_id"]) {
			t.Errorf("%s redelivered as %v, first %s", e.DetailType, d["event_id"], ids[e.DetailType])
		}
	}
}

func endpoint(t *testing.T) string {
	t.Helper()
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return eps.DynamoDB
}
