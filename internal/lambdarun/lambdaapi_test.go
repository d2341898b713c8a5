package lambdarun

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

type fakeInvoker struct {
	got    []byte
	answer Invocation
	err    error
}

func (f *fakeInvoker) Invoke(_ context.Context, payload []byte) (*Invocation, error) {
	f.got = payload
	if f.err != nil {
		return nil, f.err
	}
	a := f.answer
	return &a, nil
}

// The AWS SDK's own Lambda client, pointed at LambdaAPI, reaches the
// function it names, however it names it, and reads a function error as
// Lambda's API reports it.
func TestLambdaAPIWithTheSDK(t *testing.T) {
	refresh := &fakeInvoker{answer: Invocation{RequestID: "r1", Payload: []byte(`{"outcome":"refreshed"}`),
		Logs: []string{`{"msg":"refresh on demand"}`}, Report: Report{Line: "REPORT RequestId: r1\tDuration: 3.00 ms"}}}
	failing := &fakeInvoker{answer: Invocation{RequestID: "r2", Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`), FunctionError: "Unhandled"}}
	broken := &fakeInvoker{err: errors.New("the emulator has exited")}
	api := &LambdaAPI{}
	api.Add("zohoconnect-t1-refresh", refresh)
	api.Add("failing", failing)
	api.Add("broken", broken)
	srv := httptest.NewServer(api)
	defer srv.Close()

	client := lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx := context.Background()
	for _, name := range []string{"zohoconnect-t1-refresh", "arn:aws:lambda:us-east-1:123456789012:function:zohoconnect-t1-refresh", "zohoconnect-t1-refresh:$LATEST"} {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"connection_id":"zc_1"}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out.Payload) != `{"outcome":"refreshed"}` || out.FunctionError != nil || out.StatusCode != 200 || string(refresh.got) != `{"connection_id":"zc_1"}` {
			t.Errorf("%s: payload %s, function error %v, status %d, sent %s", name, out.Payload, out.FunctionError, out.StatusCode, refresh.got)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(tail), "refresh on demand") || !strings.Contains(string(tail), "REPORT RequestId: r1") {
			t.Errorf("%s: log tail %q", name, tail)
		}
	}
	if n := api.Invocations("zohoconnect-t1-refresh"); n != 3 {
		t.Errorf("Invocations = %d, want 3", n)
	}

	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("failing")})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "boom") {
		t.Errorf("failing: %v, %+v", err, out)
	}

	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nobody")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown function: err = %v, want ResourceNotFoundException", err)
	}
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("broken")})
	var se *types.ServiceException
	if !errors.As(err, &se) {
		t.Errorf("broken function: err = %v, want ServiceException", err)
	}
	refresh.got = nil
	if out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("zohoconnect-t1-refresh"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"connection_id":"zc_1","revoke":"replaced"}`)}); err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Errorf("Event: %v, %+v; want 202 and no payload", err, out)
	}
	api.Wait()
	if string(refresh.got) != `{"connection_id":"zc_1","revoke":"replaced"}` {
		t.Errorf("the Event invocation reached the function with %s", refresh.got)
	}
	if out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("failing"), InvocationType: types.InvocationTypeDryRun}); err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: %v, %+v", err, out)
	}
}
