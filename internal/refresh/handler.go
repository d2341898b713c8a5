package refresh

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Handler turns RefreshFunction's invocations into the service's two calls:
// {"connection_id": "..."} (from SyncFunction) refreshes that connection;
// any other payload (EventBridge Scheduler's) runs a scheduled refresh.
type Handler struct {
	Service *Service
	Log     *slog.Logger
}

// Request is the on-demand payload.
type Request struct {
	ConnectionID string `json:"connection_id"`
	// RejectedTokenExpiresAt (RFC 3339, optional) is the expiry of the
	// access token Zoho refused: the connection is refreshed when its
	// stored token is still that one, however young (see RefreshOne).
	RejectedTokenExpiresAt string `json:"rejected_token_expires_at,omitempty"`
}

// NewRequest is the on-demand payload for connection id; rejected, when
// not zero, is the expiry of the access token Zoho refused.
func NewRequest(id string, rejected time.Time) Request {
	r := Request{ConnectionID: id}
	if !rejected.IsZero() {
		r.RejectedTokenExpiresAt = rejected.UTC().Format(time.RFC3339)
	}
	return r
}

// Handle answers a Summary for a run, a OneResult for one connection.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var req Request
	// A schedule's payload may be anything; only an object naming a
	// connection asks for one.
	if json.Unmarshal(payload, &req) == nil && req.ConnectionID != "" {
		var rejected time.Time
		if req.RejectedTokenExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, req.RejectedTokenExpiresAt)
			if err != nil {
				err = fmt.Errorf("%w: rejected_token_expires_at is not an RFC 3339 time", ErrInvalidRequest)
				h.Log.Error("refresh on demand failed", "connection_id", req.ConnectionID, "err", err.Error())
				return nil, err
			}
			rejected = t
		}
		res, err := h.Service.RefreshOne(ctx, req.ConnectionID, rejected)
		if err != nil {
			h.Log.Error("refresh on demand failed", "connection_id", req.ConnectionID, "err", err.Error())
			return nil, err
		}
		h.Log.Info("refresh on demand", "connection_id", res.ConnectionID, "outcome", string(res.Outcome))
		return res, nil
	}
	return h.Service.Run(ctx)
}
