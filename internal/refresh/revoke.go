package refresh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// RevocationVault is what a revocation reads and deletes: the refresh
// functions are the ones that read refresh tokens, so revocations happen
// here for the functions that must not (the callback, the product API).
type RevocationVault interface {
	RefreshToken(ctx context.Context, id string) (string, error)
	// ReplacedRefreshToken is the token the last reconnect replaced
	// (connection.ErrNoToken when none).
	ReplacedRefreshToken(ctx context.Context, id string) (string, error)
	// Delete removes both of a connection's token secrets.
	Delete(ctx context.Context, id string) error
}

// revokeTimeout bounds the call to Zoho.
const revokeTimeout = 10 * time.Second

// Revoke revokes a connection's refresh token at the connection's own DC.
// which is ondemand.RevokeCurrent (the connection must be disconnected;
// its token secrets are deleted once the token is revoked, or was invalid
// already) or ondemand.RevokeReplaced (the token the last reconnect
// replaced, unless it is the current one).
func (s *Service) Revoke(ctx context.Context, id, which string) (OneResult, error) {
	res := OneResult{ConnectionID: id}
	if !connection.ValidID(id) || (which != ondemand.RevokeCurrent && which != ondemand.RevokeReplaced) {
		return res, ErrInvalidRequest
	}
	if s.Revocation == nil {
		return res, errors.New("refresh: no revocation vault configured")
	}
	c, err := s.Connections.Get(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		res.Outcome = NotFound
		return res, nil
	}
	if err != nil {
		return res, err
	}
	log := s.Log.With("connection_id", id, "location", c.Location, "revoke", which)
	var token string
	switch which {
	case ondemand.RevokeCurrent:
		if c.Status != connection.Disconnected {
			res.Outcome = ondemand.NotDisconnected
			log.Warn("revoke refused: the connection is not disconnected", "status", string(c.Status))
			return res, nil
		}
		token, err = s.Revocation.RefreshToken(ctx, id)
	case ondemand.RevokeReplaced:
		token, err = s.Revocation.ReplacedRefreshToken(ctx, id)
		if err == nil {
			if current, cerr := s.Revocation.RefreshToken(ctx, id); cerr == nil && current == token {
				token = "" // the reconnect kept it: nothing was replaced
			}
		}
	}
	switch {
	case errors.Is(err, connection.ErrNoToken), err == nil && token == "":
		res.Outcome = ondemand.NoRefreshToken
	case err != nil:
		return res, fmt.Errorf("refresh: read the token to revoke: %w", err)
	default:
		if res.Outcome, err = s.revokeAt(ctx, c, token); err != nil {
			log.Warn("revoking a refresh token failed", "err", err.Error())
			return res, err
		}
	}
	if which == ondemand.RevokeCurrent {
		if err := s.Revocation.Delete(ctx, id); err != nil {
			return res, fmt.Errorf("refresh: the token is revoked but its secrets remain: %w", err)
		}
	}
	log.Info("revoked", "outcome", string(res.Outcome))
	return res, nil
}

func (s *Service) revokeAt(ctx context.Context, c *connection.Connection, token string) (Outcome, error) {
	dc, err := c.DataCenter()
	if err != nil {
		return ondemand.Failed, err
	}
	conf, err := s.OAuth.Config(ctx)
	if err != nil {
		return ondemand.Failed, err
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	err = conf.Revoke(ctx, dc, zoho.Secret(token))
	switch {
	case err == nil:
		return ondemand.Revoked, nil
	case errors.Is(err, zoho.ErrInvalidCode):
		return ondemand.AlreadyInvalid, nil // revoked or expired before: done
	}
	return ondemand.Failed, fmt.Errorf("revoke at %s: %w", dc.AccountsHost, err)
}
