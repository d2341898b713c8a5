// Package buswatch shows what reached an EventBridge bus, the way a
// product would subscribe to it: a rule on the bus with an SQS queue as its
// target (moto's EventBridge delivers to SQS targets), and a reader of
// that queue. Local runs and tests watch the events EventsFunction
// publishes with it, on the real bus, rather than a wrapper around the
// publisher.
package buswatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// EventBridge is the part of the EventBridge client a watch uses.
type EventBridge interface {
	PutRule(context.Context, *eventbridge.PutRuleInput, ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	PutTargets(context.Context, *eventbridge.PutTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
	RemoveTargets(context.Context, *eventbridge.RemoveTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error)
	DeleteRule(context.Context, *eventbridge.DeleteRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error)
}

// SQS is the part of the SQS client a watch uses.
type SQS interface {
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	DeleteQueue(context.Context, *sqs.DeleteQueueInput, ...func(*sqs.Options)) (*sqs.DeleteQueueOutput, error)
}

var (
	_ EventBridge = (*eventbridge.Client)(nil)
	_ SQS         = (*sqs.Client)(nil)
)

// Watch is one rule and its queue.
type Watch struct {
	eb       EventBridge
	sqs      SQS
	bus      string
	rule     string
	queueURL string

	mu      sync.Mutex
	pending []events.EventBridgeEvent
}

// Start puts a rule named name on bus for the events pattern matches (an
// EventBridge event pattern, e.g. {"source":["zohoconnect"]}) with a new
// queue of the same name as its target. Close removes both.
func Start(ctx context.Context, eb EventBridge, q SQS, bus, name, pattern string) (_ *Watch, err error) {
	w := &Watch{eb: eb, sqs: q, bus: bus, rule: name}
	defer func() {
		if err != nil {
			_ = w.Close(context.WithoutCancel(ctx))
		}
	}()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("buswatch: queue %s: %w", name, err)
	}
	w.queueURL = aws.ToString(out.QueueUrl)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("buswatch: queue %s: %w", name, err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		return nil, fmt.Errorf("buswatch: rule %s on %s: %w", name, bus, err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{
		Id: aws.String("watch"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	}}}); err != nil {
		return nil, fmt.Errorf("buswatch: target of rule %s: %w", name, err)
	}
	return w, nil
}

// Next is the next event that reached the bus (in the order the queue
// gives them), waiting until one does or ctx ends.
func (w *Watch) Next(ctx context.Context) (events.EventBridgeEvent, error) {
	for {
		w.mu.Lock()
		if len(w.pending) > 0 {
			ev := w.pending[0]
			w.pending = w.pending[1:]
			w.mu.Unlock()
			return ev, nil
		}
		w.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return events.EventBridgeEvent{}, err
		}
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			if ctx.Err() != nil {
				return events.EventBridgeEvent{}, ctx.Err()
			}
			return events.EventBridgeEvent{}, fmt.Errorf("buswatch: receive: %w", err)
		}
		var evs []events.EventBridgeEvent
		for _, m := range out.Messages {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				return events.EventBridgeEvent{}, fmt.Errorf("buswatch: a message that is no EventBridge event: %w", err)
			}
			evs = append(evs, ev)
			_, _ = w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
		w.mu.Lock()
		w.pending = append(w.pending, evs...)
		w.mu.Unlock()
	}
}

// Wait is the next event match accepts; the ones before it are dropped.
func (w *Watch) Wait(ctx context.Context, match func(events.EventBridgeEvent) bool) (events.EventBridgeEvent, error) {
	for {
		ev, err := w.Next(ctx)
		if err != nil || match(ev) {
			return ev, err
		}
	}
}

// Close removes the rule and the queue.
func (w *Watch) Close(ctx context.Context) error {
	var errs []error
	var nf *ebtypes.ResourceNotFoundException
	if _, err := w.eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(w.rule), EventBusName: aws.String(w.bus), Ids: []string{"watch"}}); err != nil && !errors.As(err, &nf) {
		errs = append(errs, err)
	}
	if _, err := w.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(w.rule), EventBusName: aws.String(w.bus)}); err != nil && !errors.As(err, &nf) {
		errs = append(errs, err)
	}
	if w.queueURL != "" {
		if _, err := w.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(w.queueURL)}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("buswatch: closing %s: %w", w.rule, err)
	}
	return nil
}
