package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// RunStatesContract runs the states table's contract (connect.StateStore:
// awsstore.StateStore, connectiontest.States) against the stores newStore
// makes (a fresh, empty one per call).
func RunStatesContract(t *testing.T, newStore func(t *testing.T) connect.StateStore) {
	now := time.Now().Truncate(time.Second).Add(400 * time.Millisecond)
	pending := func(hash string, ttl time.Duration) connection.PendingConnect {
		return connection.PendingConnect{StateHash: hash, Environment: "sandbox", StartLocation: "cn", ExpiresAt: now.Add(ttl)}
	}

	t.Run("a state is consumed once", func(t *testing.T) {
		s := newStore(t)
		p := pending("h1", 10*time.Minute)
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Consume(ctx, "h1", now)
		if err != nil || got.StateHash != "h1" || got.Environment != "sandbox" || got.StartLocation != "cn" ||
			!got.ExpiresAt.Equal(second(p.ExpiresAt)) {
			t.Fatalf("consumed %+v %v (expiry kept in whole seconds)", got, err)
		}
		if _, err := s.Consume(ctx, "h1", now); !errors.Is(err, connection.ErrStateNotFound) {
			t.Fatalf("consumed twice: %v", err)
		}
		if _, err := s.Consume(ctx, "unknown", now); !errors.Is(err, connection.ErrStateNotFound) {
			t.Fatalf("an unknown state: %v", err)
		}
		// An empty environment (any will do) is kept as empty.
		if err := s.Put(ctx, connection.PendingConnect{StateHash: "h2", StartLocation: "us", ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Consume(ctx, "h2", now); err != nil || got.Environment != "" || got.StartLocation != "us" {
			t.Fatalf("%+v %v", got, err)
		}
	})

	t.Run("a state keeps its browser, session and tenant", func(t *testing.T) {
		s := newStore(t)
		p := pending("h3", time.Minute)
		p.BrowserHash, p.SessionID, p.TenantID = "b0b", "cs_123", "tenant-9"
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Consume(ctx, "h3", now)
		if err != nil || got.BrowserHash != "b0b" || got.SessionID != "cs_123" || got.TenantID != "tenant-9" {
			t.Fatalf("%+v %v", got, err)
		}
	})

	t.Run("a state is never overwritten", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, pending("h1", time.Minute)); err != nil {
			t.Fatal(err)
		}
		other := pending("h1", time.Hour)
		other.Environment = "production"
		if err := s.Put(ctx, other); err == nil {
			t.Fatal("a stored state was overwritten")
		}
		if got, err := s.Consume(ctx, "h1", now); err != nil || got.Environment != "sandbox" {
			t.Fatalf("%+v %v", got, err)
		}
	})

	t.Run("an expired state is consumed and not found", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, pending("h1", 2*time.Second)); err != nil {
			t.Fatal(err)
		}
		// It expires at its whole second: now+2s is stored as now+1.6s.
		if _, err := s.Consume(ctx, "h1", now.Add(1700*time.Millisecond)); !errors.Is(err, connection.ErrStateNotFound) {
			t.Fatalf("consumed after its expiry: %v", err)
		}
		if _, err := s.Consume(ctx, "h1", now); !errors.Is(err, connection.ErrStateNotFound) {
			t.Fatalf("an expired state was kept: %v", err)
		}
		if err := s.Put(ctx, pending("h2", 2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Consume(ctx, "h2", now.Add(1500*time.Millisecond)); err != nil {
			t.Fatalf("consumed before its expiry: %v", err)
		}
	})

	t.Run("of racing consumers exactly one wins", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, pending("h1", time.Minute)); err != nil {
			t.Fatal(err)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range 8 {
			wg.Go(func() {
				_, err := s.Consume(ctx, "h1", now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, connection.ErrStateNotFound):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d winners", wins)
		}
	})
}
