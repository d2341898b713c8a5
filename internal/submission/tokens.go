package submission

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// tokenCache keeps each connection's access token in memory until
// shortly before it expires, so a warm function reads Secrets Manager
// once an hour per connection, not once per submission.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]connection.AccessToken
	// used: when this instance last recorded each connection's use
	// (use.go).
	used map[string]time.Time
}

func (c *tokenCache) get(id string) (connection.AccessToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[id]
	return t, ok
}

func (c *tokenCache) put(id string, t connection.AccessToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]connection.AccessToken{}
	}
	c.m[id] = t
}

func (c *tokenCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// token returns the connection's access token: from memory while it has
// more than TokenMargin left, else from the vault (fresh: skip memory).
// A stored token that has already expired is refreshed first, sparing
// Zoho a call that cannot succeed.
func (s *Service) token(ctx context.Context, c *connection.Connection, fresh bool) (connection.AccessToken, error) {
	s.recordUse(ctx, c)
	margin := s.Timings.withDefaults().TokenMargin
	now := s.Now.Now()
	if !fresh {
		if t, ok := s.tokens.get(c.ID); ok && t.ExpiresAt.Sub(now) > margin {
			return t, nil
		}
	}
	t, err := s.Tokens.AccessToken(ctx, c.ID)
	if err != nil && !errors.Is(err, connection.ErrNoToken) {
		return t, retry("token_read_failed", err)
	}
	if err != nil || t.Token == "" || (!t.ExpiresAt.IsZero() && !t.ExpiresAt.After(now)) {
		if fresh {
			return t, retry("no_valid_token_after_refresh", err)
		}
		if rerr := s.refresh(ctx, c, time.Time{}); rerr != nil {
			return t, rerr
		}
		if t, err = s.Tokens.AccessToken(ctx, c.ID); err != nil || t.Token == "" {
			return t, retry("no_valid_token_after_refresh", err)
		}
	}
	if t.ExpiresAt.Sub(now) > margin {
		s.tokens.put(c.ID, t)
	}
	return t, nil
}
