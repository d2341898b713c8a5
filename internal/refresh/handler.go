package refresh

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
)

// Handler turns RefreshFunction's invocations into the service's two calls:
// {"connection_id": "..."} (from SyncFunction) refreshes that connection;
// any other payload (EventBridge Scheduler's) runs a scheduled refresh.
type Handler struct {
	Service *Service
	Log     *slog.Logger
}

// Request is the on-demand payload.
type Request = ondemand.Request

// Handle answers a Summary for a run, a OneResult for one connection.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var req Request
	// A schedule's payload may be anything; only an object naming a
	// connection asks for one.
	if json.Unmarshal(payload, &req) == nil && req.ConnectionID != "" && req.Revoke != "" {
		res, err := h.Service.Revoke(ctx, req.ConnectionID, req.Revoke)
		if err != nil {
			h.Log.Error("revoke failed", "connection_id", req.ConnectionID, "revoke", req.Revoke, "err", err.Error())
			return nil, err
		}
		return res, nil
	}
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
