package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
)

// Workers starts shard workers without waiting for them: in AWS an
// asynchronous invocation of RefreshFunction itself with the
// ShardRequest (refreshinvoke.Client.StartWorker).
type Workers interface {
	StartWorker(ctx context.Context, req ShardRequest) error
}

// Handler turns RefreshFunction's invocations into the service's calls:
// {"connection_id": "..."} (from SyncFunction) refreshes that connection,
// with "revoke" it revokes; {"shard": "03", "cursor": "..."} is a shard
// worker (RunShard); any other payload (EventBridge Scheduler's) is a
// scheduled run.
type Handler struct {
	Service *Service
	Log     *slog.Logger
	// Workers starts the workers of a scheduled run and their
	// continuations. Nil: everything runs in this process (Run), as
	// locally (make dev, make demo, tests), and a worker's payload runs
	// its shard to the end.
	Workers Workers
}

// Request is the on-demand payload.
type Request = ondemand.Request

// request is every payload Handle tells apart.
type request struct {
	Request
	ShardRequest
}

// Handle answers a Summary for a run or a worker, a OneResult for one
// connection.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var req request
	// A schedule's payload may be anything; only an object naming a
	// connection or a shard asks for one.
	known := json.Unmarshal(payload, &req) == nil
	switch {
	case known && req.ConnectionID != "" && req.Revoke != "":
		res, err := h.Service.Revoke(ctx, req.ConnectionID, req.Revoke)
		if err != nil {
			h.Log.Error("revoke failed", "connection_id", req.ConnectionID, "revoke", req.Revoke, "err", err.Error())
			return nil, err
		}
		return res, nil
	case known && req.ConnectionID != "":
		return h.one(ctx, req.Request)
	case known && req.Shard != "":
		return h.worker(ctx, req.ShardRequest)
	case h.Workers != nil:
		return h.coordinate(ctx)
	}
	return h.Service.Run(ctx)
}

func (h *Handler) one(ctx context.Context, req Request) (any, error) {
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

// coordinate starts one worker per shard, at once, and answers how many
// it started; each worker logs its own counts.
func (h *Handler) coordinate(ctx context.Context) (Summary, error) {
	var sum Summary
	var errs []error
	for _, shard := range Shards() {
		if err := h.Workers.StartWorker(ctx, ShardRequest{Shard: shard}); err != nil {
			h.Log.Error("refresh: a shard's worker did not start", "shard", shard, "err", err.Error())
			errs = append(errs, err)
			sum.ShardErrors++
			continue
		}
		sum.WorkersStarted++
	}
	err := errors.Join(errs...)
	if err != nil {
		err = fmt.Errorf("refresh: %d of %d workers did not start: %w", len(errs), len(Shards()), err)
		h.Log.Error("refresh run started", "workers_started", sum.WorkersStarted, "err", err.Error())
		return sum, err
	}
	h.Log.Info("refresh run started", "workers_started", sum.WorkersStarted)
	return sum, nil
}

// worker runs its turn at a shard and, when its time runs out, starts
// its continuation the moment it stops taking connections (in process:
// runs it after, until the shard is done).
func (h *Handler) worker(ctx context.Context, req ShardRequest) (Summary, error) {
	if h.Workers == nil {
		var total Summary
		for {
			sum, err := h.Service.RunShard(ctx, req)
			total.plus(sum)
			total.Shard, total.DurationMS = sum.Shard, total.DurationMS+sum.DurationMS
			if err != nil || sum.NextCursor == "" || h.Service.stopping(ctx) {
				total.NextCursor = sum.NextCursor
				return total, err
			}
			total.Continuations++
			req.Cursor = sum.NextCursor
		}
	}
	var handOffErr error
	sum, err := h.Service.RunShardHandingOff(ctx, req, func(next ShardRequest) bool {
		// Started even when this invocation's context is ending: it is
		// what carries the rest of the shard.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		if handOffErr = h.Workers.StartWorker(sctx, next); handOffErr != nil {
			// The next scheduled run covers the rest of the shard.
			h.Log.Error("refresh: the shard's continuation did not start", "shard", req.Shard, "err", handOffErr.Error())
			return false
		}
		h.Log.Info("refresh: shard continues", "shard", req.Shard)
		return true
	})
	if err == nil && handOffErr != nil {
		err = fmt.Errorf("refresh: shard %s: continuation: %w", req.Shard, handOffErr)
	}
	return sum, err
}
