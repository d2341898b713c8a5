package connectiontest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// States is the states table in memory (awsstore.StateStore).
type States struct {
	mu sync.Mutex
	m  map[string]connection.PendingConnect
}

// NewStates returns an empty states table.
func NewStates() *States { return &States{m: map[string]connection.PendingConnect{}} }

// errStateExists is Put's answer for a state already stored (DynamoDB's
// failed condition).
var errStateExists = errors.New("store state: the state is already stored")

// Put stores a pending connect; it never overwrites one.
func (s *States) Put(_ context.Context, p connection.PendingConnect) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[p.StateHash]; ok {
		return errStateExists
	}
	p.ExpiresAt = time.Unix(p.ExpiresAt.Unix(), 0) // unix seconds, as the table keeps it
	s.m[p.StateHash] = p
	return nil
}

// Consume deletes the pending connect and returns it, unless it expired
// (deleted all the same) or is unknown: connection.ErrStateNotFound.
func (s *States) Consume(_ context.Context, stateHash string, now time.Time) (connection.PendingConnect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[stateHash]
	if !ok {
		return connection.PendingConnect{}, connection.ErrStateNotFound
	}
	delete(s.m, stateHash)
	if !now.Before(p.ExpiresAt) {
		return connection.PendingConnect{}, connection.ErrStateNotFound
	}
	return p, nil
}
