package productevents

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// ImageDecoder reads a connection from a stream record's image (the
// connections store's item format).
type ImageDecoder interface {
	DecodeImage(image map[string]events.DynamoDBAttributeValue) (*connection.Connection, error)
}

// Publisher puts events on the bus. It answers, for each event, nil or
// why it was not published.
type Publisher interface {
	Publish(ctx context.Context, evs []Event) ([]error, error)
}

// Handler is EventsFunction: a batch of the connections table's stream in,
// its events out. A record whose event was not published is reported in
// the partial batch response, so the stream delivers it (and those after
// it) again; one that cannot be read at all is reported too, and after
// the event source's retries goes to its on-failure destination, never
// into a loop.
type Handler struct {
	Decoder ImageDecoder
	Bus     Publisher
	Log     *slog.Logger
}

// Handle publishes a batch.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	fail := func(rec events.DynamoDBEventRecord) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
	}
	var out []Event
	var from []events.DynamoDBEventRecord
	for _, rec := range ev.Records {
		before, err := h.decode(rec.Change.OldImage)
		if err == nil {
			var after *connection.Connection
			if after, err = h.decode(rec.Change.NewImage); err == nil {
				if e, ok := For(before, after); ok {
					out, from = append(out, e), append(from, rec)
				}
				continue
			}
		}
		h.Log.Error("stream record unreadable", "event_id", rec.EventID, "sequence_number", rec.Change.SequenceNumber, "err", err.Error())
		fail(rec)
	}
	if len(out) == 0 {
		return resp, nil
	}
	errs, err := h.Bus.Publish(ctx, out)
	for i, e := range out {
		perr := err
		if perr == nil && i < len(errs) {
			perr = errs[i]
		}
		if perr != nil {
			h.Log.Warn("event not published: the stream delivers it again", "detail_type", e.DetailType,
				"event_id", e.Detail.EventID, "connection_id", e.Detail.ConnectionID, "err", perr.Error())
			fail(from[i])
			continue
		}
		h.Log.Info("event published", "detail_type", e.DetailType, "event_id", e.Detail.EventID,
			"connection_id", e.Detail.ConnectionID, "tenant_id", e.Detail.TenantID)
	}
	return resp, nil
}

func (h *Handler) decode(image map[string]events.DynamoDBAttributeValue) (*connection.Connection, error) {
	if len(image) == 0 {
		return nil, nil
	}
	return h.Decoder.DecodeImage(image)
}
