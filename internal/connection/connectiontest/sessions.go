package connectiontest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Sessions is the sessions table in memory (awsstore.SessionStore).
type Sessions struct {
	mu sync.Mutex
	m  map[string]connection.Session
}

// NewSessions returns an empty sessions table.
func NewSessions() *Sessions { return &Sessions{m: map[string]connection.Session{}} }

var errSessionExists = errors.New("store session: the session is already stored")

// Create stores a session; it never overwrites one.
func (s *Sessions) Create(_ context.Context, c *connection.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.ID]; ok {
		return errSessionExists
	}
	stored := *c
	stored.CreatedAt, stored.ExpiresAt = second(c.CreatedAt), second(c.ExpiresAt)
	if len(c.Metadata) == 0 {
		stored.Metadata = nil
	} else {
		stored.Metadata = copyMapping(c.Metadata)
	}
	s.m[c.ID] = stored
	return nil
}

// Get reads a session; an unknown or expired one is
// connection.ErrSessionNotFound.
func (s *Sessions) Get(_ context.Context, id string, now time.Time) (*connection.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok || !now.Before(c.ExpiresAt) {
		return nil, connection.ErrSessionNotFound
	}
	c.Metadata = copyMapping(c.Metadata)
	return &c, nil
}

// Complete records a session's connection, once (then
// connection.ErrSessionCompleted).
func (s *Sessions) Complete(_ context.Context, id, connectionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok || c.Status != connection.SessionOpen {
		return connection.ErrSessionCompleted
	}
	c.Status, c.ConnectionID = connection.SessionCompleted, connectionID
	s.m[id] = c
	return nil
}
