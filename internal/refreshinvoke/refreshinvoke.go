// Package refreshinvoke asks RefreshFunction, through the Lambda API, for
// what only it may do: refresh one connection now (SyncFunction), and
// revoke refresh tokens (the product API's disconnect, the callback's
// reconnect), since it is the function that reads refresh tokens; and it
// starts RefreshFunction's own shard workers (a scheduled run's fan-out). The
// payloads and answers are package ondemand's.
package refreshinvoke

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
)

// Invoker is the part of the Lambda client used.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ Invoker = (*lambda.Client)(nil)

// Client invokes one RefreshFunction.
type Client struct {
	Lambda       Invoker
	FunctionName string
}

// RefreshConnection refreshes one connection now; rejected, when not
// zero, is the expiry of the access token Zoho refused. It answers as
// ondemand.ReadAnswer reads RefreshFunction's answer.
func (c *Client) RefreshConnection(ctx context.Context, id string, rejected time.Time) error {
	out, err := c.invoke(ctx, ondemand.NewRequest(id, rejected), lambdatypes.InvocationTypeRequestResponse)
	if err != nil {
		return err
	}
	return ondemand.ReadAnswer(out)
}

// RevokeConnection revokes a disconnected connection's refresh token at
// its DC and deletes its token secrets, and waits for the answer.
func (c *Client) RevokeConnection(ctx context.Context, id string) error {
	out, err := c.invoke(ctx, ondemand.NewRevokeRequest(id, ondemand.RevokeCurrent), lambdatypes.InvocationTypeRequestResponse)
	if err != nil {
		return err
	}
	return ondemand.ReadRevokeAnswer(out)
}

// RevokeReplaced asks for the revocation of the refresh token a reconnect
// replaced, without waiting: Lambda's asynchronous invocation retries it.
func (c *Client) RevokeReplaced(ctx context.Context, id string) error {
	_, err := c.invoke(ctx, ondemand.NewRevokeRequest(id, ondemand.RevokeReplaced), lambdatypes.InvocationTypeEvent)
	return err
}

// StartWorker starts a refresh worker for one shard, from a cursor (a
// scheduled run's coordinator, or a worker handing on the rest of its
// shard), without waiting: an asynchronous invocation, which Lambda
// queues and retries.
func (c *Client) StartWorker(ctx context.Context, req ondemand.ShardRequest) error {
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, err = c.invokePayload(ctx, payload, lambdatypes.InvocationTypeEvent)
	return err
}

func (c *Client) invoke(ctx context.Context, req ondemand.Request, kind lambdatypes.InvocationType) ([]byte, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return c.invokePayload(ctx, payload, kind)
}

func (c *Client) invokePayload(ctx context.Context, payload []byte, kind lambdatypes.InvocationType) ([]byte, error) {
	out, err := c.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: &c.FunctionName, Payload: payload, InvocationType: kind})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", c.FunctionName, err)
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("invoke %s: function error %s", c.FunctionName, *out.FunctionError)
	}
	return out.Payload, nil
}
