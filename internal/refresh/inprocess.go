package refresh

import (
	"context"
	"encoding/json"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
)

// InProcess stands in for the Lambda invoke of RefreshFunction where there
// is no Lambda service (tests, make dev, make demo): it hands the same
// payloads to the handler and reads its answers the same way, so callers
// meet what refreshinvoke.Client gives them.
type InProcess struct {
	Handler *Handler
}

// RefreshConnection is refreshinvoke.Client's.
func (p InProcess) RefreshConnection(ctx context.Context, id string, rejected time.Time) error {
	b, err := p.invoke(ctx, ondemand.NewRequest(id, rejected))
	if err != nil {
		return err
	}
	return ondemand.ReadAnswer(b)
}

// RevokeConnection is refreshinvoke.Client's.
func (p InProcess) RevokeConnection(ctx context.Context, id string) error {
	b, err := p.invoke(ctx, ondemand.NewRevokeRequest(id, ondemand.RevokeCurrent))
	if err != nil {
		return err
	}
	return ondemand.ReadRevokeAnswer(b)
}

// RevokeReplaced is refreshinvoke.Client's, run at once rather than
// queued.
func (p InProcess) RevokeReplaced(ctx context.Context, id string) error {
	_, err := p.invoke(ctx, ondemand.NewRevokeRequest(id, ondemand.RevokeReplaced))
	return err
}

func (p InProcess) invoke(ctx context.Context, req ondemand.Request) ([]byte, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, err := p.Handler.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}
