// Package eventbus publishes the product's events on the stack's
// EventBridge bus (EVENT_BUS_NAME).
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/zohoconnect/zohoconnect/internal/productevents"
)

// API is the part of the EventBridge client the bus uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ API = (*eventbridge.Client)(nil)

// maxEntries is PutEvents' limit of entries a call.
const maxEntries = 10

// Bus is one EventBridge bus.
type Bus struct {
	API  API
	Name string
}

var _ productevents.Publisher = (*Bus)(nil)

// Publish puts evs on the bus, ten a call; it answers each event's error
// (nil when EventBridge took it).
func (b *Bus) Publish(ctx context.Context, evs []productevents.Event) ([]error, error) {
	errs := make([]error, len(evs))
	for start := 0; start < len(evs); start += maxEntries {
		chunk := evs[start:min(start+maxEntries, len(evs))]
		entries := make([]ebtypes.PutEventsRequestEntry, len(chunk))
		for i, e := range chunk {
			detail, err := json.Marshal(e.Detail)
			if err != nil {
				return nil, err
			}
			entries[i] = ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(b.Name), Source: aws.String(productevents.Source),
				DetailType: aws.String(e.DetailType), Detail: aws.String(string(detail)),
			}
		}
		out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			for i := range chunk {
				errs[start+i] = fmt.Errorf("put events: %w", err)
			}
			continue
		}
		for i, r := range out.Entries {
			if i < len(chunk) && r.ErrorCode != nil {
				errs[start+i] = errors.New("put events: " + aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage))
			}
		}
	}
	return errs, nil
}
