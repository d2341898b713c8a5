package refreshinvoke

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
)

type fakeLambda struct {
	in  *lambda.InvokeInput
	out *lambda.InvokeOutput
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = in
	return f.out, nil
}

func TestRefreshConnection(t *testing.T) {
	for _, tc := range []struct {
		payload string
		fnErr   *string
		want    error // nil, ErrReauthRequired, or errAny
	}{
		{`{"connection_id":"zc_1","outcome":"refreshed"}`, nil, nil},
		{`{"outcome":"refreshed_by_another"}`, nil, nil},
		{`{"outcome":"fresh"}`, nil, nil},
		{`{"outcome":"reauth_required"}`, nil, ondemand.ErrReauthRequired},
		{`{"outcome":"failed"}`, nil, errAny},
		{`{"outcome":"in_progress"}`, nil, errAny},
		{`{"outcome":"not_found"}`, nil, errAny},
		{`{}`, nil, errAny},
		{`not json`, nil, errAny},
		{`{"errorMessage":"boom"}`, aws.String("Unhandled"), errAny},
	} {
		f := &fakeLambda{out: &lambda.InvokeOutput{Payload: []byte(tc.payload), FunctionError: tc.fnErr}}
		err := (&Client{Lambda: f, FunctionName: "stack-refresh"}).RefreshConnection(context.Background(), "zc_1", time.Time{})
		switch {
		case tc.want == nil && err != nil, tc.want == errAny && (err == nil || errors.Is(err, ondemand.ErrReauthRequired)),
			tc.want == ondemand.ErrReauthRequired && !errors.Is(err, ondemand.ErrReauthRequired):
			t.Errorf("%s: %v", tc.payload, err)
		}
		if string(f.in.Payload) != `{"connection_id":"zc_1"}` || *f.in.FunctionName != "stack-refresh" {
			t.Errorf("invoked %s with %s", *f.in.FunctionName, f.in.Payload)
		}
	}
}

// The refused token's expiry travels as rejected_token_expires_at (RFC
// 3339, UTC, whole seconds: the table keeps unix seconds), and the
// refresh handler reads it back.
func TestRefreshConnectionNamesTheRejectedToken(t *testing.T) {
	f := &fakeLambda{out: &lambda.InvokeOutput{Payload: []byte(`{"outcome":"refreshed"}`)}}
	rejected := time.Date(2030, 1, 2, 4, 5, 6, 789000000, time.FixedZone("CET", 3600))
	if err := (&Client{Lambda: f, FunctionName: "stack-refresh"}).RefreshConnection(context.Background(), "zc_1", rejected); err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.in.Payload), `{"connection_id":"zc_1","rejected_token_expires_at":"2030-01-02T03:05:06Z"}`; got != want {
		t.Fatalf("payload %s, want %s", got, want)
	}
	var req ondemand.Request
	if err := json.Unmarshal(f.in.Payload, &req); err != nil || req.ConnectionID != "zc_1" {
		t.Fatalf("%+v %v", req, err)
	}
	back, err := time.Parse(time.RFC3339, req.RejectedTokenExpiresAt)
	if err != nil || !back.Equal(rejected.Truncate(time.Second)) {
		t.Fatalf("read back %v %v", back, err)
	}
}

var errAny = errors.New("any error")

func TestRevocations(t *testing.T) {
	f := &fakeLambda{out: &lambda.InvokeOutput{Payload: []byte(`{"connection_id":"zc_1","outcome":"already_invalid"}`)}}
	c := &Client{Lambda: f, FunctionName: "stack-refresh"}
	if err := c.RevokeConnection(context.Background(), "zc_1"); err != nil {
		t.Fatal(err)
	}
	if string(f.in.Payload) != `{"connection_id":"zc_1","revoke":"current"}` || f.in.InvocationType != "RequestResponse" {
		t.Fatalf("invoked with %s %s", f.in.Payload, f.in.InvocationType)
	}
	for _, bad := range []string{`{"outcome":"failed"}`, `{"outcome":"not_disconnected"}`, `{}`, `nope`} {
		f.out = &lambda.InvokeOutput{Payload: []byte(bad)}
		if err := c.RevokeConnection(context.Background(), "zc_1"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	f.out = &lambda.InvokeOutput{}
	if err := c.RevokeReplaced(context.Background(), "zc_1"); err != nil {
		t.Fatal(err)
	}
	if string(f.in.Payload) != `{"connection_id":"zc_1","revoke":"replaced"}` || f.in.InvocationType != "Event" {
		t.Fatalf("invoked with %s %s", f.in.Payload, f.in.InvocationType)
	}
}

// A shard worker is started without waiting (an Event invocation, which
// Lambda queues and retries), with the shard and the cursor as the
// refresh handler reads them.
func TestStartWorker(t *testing.T) {
	f := &fakeLambda{out: &lambda.InvokeOutput{StatusCode: 202}}
	c := &Client{Lambda: f, FunctionName: "stack-refresh"}
	if err := c.StartWorker(context.Background(), ondemand.ShardRequest{Shard: "03", Cursor: "03.zc_1.5"}); err != nil {
		t.Fatal(err)
	}
	if f.in.InvocationType != "Event" || *f.in.FunctionName != "stack-refresh" || string(f.in.Payload) != `{"shard":"03","cursor":"03.zc_1.5"}` {
		t.Errorf("invoked %s (%s) with %s", *f.in.FunctionName, f.in.InvocationType, f.in.Payload)
	}
	if err := c.StartWorker(context.Background(), ondemand.ShardRequest{Shard: "00"}); err != nil || string(f.in.Payload) != `{"shard":"00"}` {
		t.Errorf("the first worker of a shard: %s %v", f.in.Payload, err)
	}
}
