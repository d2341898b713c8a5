package submission

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// A public form's post (internal/formpost) reaches Submit with
// Credentials.Form: the form, not a key, names the connection, and
// formpost has checked the post before. From here on it is a submission
// like any other: what reaches Zoho, duplicates, exactly once, the
// connection's rate limit, queued when Zoho cannot take it.

// formConnection is the connection a checked form post goes to: unknown
// or disconnected is the same ErrUnauthorized a key gets.
func (s *Service) formConnection(ctx context.Context, id string) (*connection.Connection, error) {
	if !connection.ValidID(id) {
		return nil, ErrUnauthorized
	}
	c, err := s.Connections.Get(ctx, id)
	switch {
	case errors.Is(err, connection.ErrNotFound):
		return nil, ErrUnauthorized
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	case c.Status == connection.Disconnected:
		return nil, ErrUnauthorized
	}
	return c, nil
}

// isFormRoute tells a public form's request (/f/{form_id}) from a submission.
func isFormRoute(req events.APIGatewayV2HTTPRequest) bool {
	if strings.HasSuffix(req.RouteKey, " /f/{form_id}") {
		return true
	}
	if req.RouteKey != "" && req.RouteKey != "$default" {
		return false
	}
	p := strings.Trim(req.RawPath, "/")
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		p = strings.TrimPrefix(p, st+"/")
	}
	return strings.HasPrefix(p, "f/") && !strings.Contains(p[2:], "/")
}
