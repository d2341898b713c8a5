package app

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

type fakeLambda struct {
	in  *lambda.InvokeInput
	out *lambda.InvokeOutput
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = in
	return f.out, nil
}

func TestLambdaRefresher(t *testing.T) {
	for _, tc := range []struct {
		payload string
		fnErr   *string
		want    error // nil, ErrReauthRequired, or errAny
	}{
		{`{"connection_id":"zc_1","outcome":"refreshed"}`, nil, nil},
		{`{"outcome":"refreshed_by_another"}`, nil, nil},
		{`{"outcome":"fresh"}`, nil, nil},
		{`{"outcome":"reauth_required"}`, nil, submission.ErrReauthRequired},
		{`{"outcome":"failed"}`, nil, errAny},
		{`{"outcome":"in_progress"}`, nil, errAny},
		{`{"outcome":"not_found"}`, nil, errAny},
		{`{}`, nil, errAny},
		{`not json`, nil, errAny},
		{`{"errorMessage":"boom"}`, aws.String("Unhandled"), errAny},
	} {
		f := &fakeLambda{out: &lambda.InvokeOutput{Payload: []byte(tc.payload), FunctionError: tc.fnErr}}
		err := (&LambdaRefresher{Lambda: f, FunctionName: "stack-refresh"}).RefreshConnection(context.Background(), "zc_1")
		switch {
		case tc.want == nil && err != nil, tc.want == errAny && (err == nil || errors.Is(err, submission.ErrReauthRequired)),
			tc.want == submission.ErrReauthRequired && !errors.Is(err, submission.ErrReauthRequired):
			t.Errorf("%s: %v", tc.payload, err)
		}
		if string(f.in.Payload) != `{"connection_id":"zc_1"}` || *f.in.FunctionName != "stack-refresh" {
			t.Errorf("invoked %s with %s", *f.in.FunctionName, f.in.Payload)
		}
	}
}

var errAny = errors.New("any error")
