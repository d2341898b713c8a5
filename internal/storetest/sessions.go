package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// SessionsTable is the sessions table as the product API (Create) and the
// callback (Get, Complete) see it: awsstore.SessionStore,
// connectiontest.Sessions.
type SessionsTable interface {
	Create(ctx context.Context, s *connection.Session) error
	Get(ctx context.Context, id string, now time.Time) (*connection.Session, error)
	Complete(ctx context.Context, id, connectionID string) error
}

// RunSessionsContract runs the sessions table's contract against the
// stores newStore makes (a fresh, empty one per call).
func RunSessionsContract(t *testing.T, newStore func(t *testing.T) SessionsTable) {
	now := time.Now().Truncate(time.Second).Add(300 * time.Millisecond)
	open := func(t *testing.T, s SessionsTable, ttl time.Duration) *connection.Session {
		t.Helper()
		sess, _, err := connection.NewSession("tenant-1", now, ttl)
		if err != nil {
			t.Fatal(err)
		}
		sess.Environment, sess.StartLocation, sess.ReturnURL = "sandbox", "cn", "https://app.example.com/done"
		sess.Metadata = map[string]string{"plan": "pro"}
		if err := s.Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}

	t.Run("a session reads back as created, until it expires", func(t *testing.T) {
		s := newStore(t)
		sess := open(t, s, 30*time.Minute)
		got, err := s.Get(ctx, sess.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		want := *sess
		want.CreatedAt, want.ExpiresAt = second(sess.CreatedAt), second(sess.ExpiresAt)
		sameExcept(t, "session", want, *got)
		if _, err := s.Get(ctx, sess.ID, sess.ExpiresAt.Add(time.Second)); !errors.Is(err, connection.ErrSessionNotFound) {
			t.Fatalf("expired: %v", err)
		}
		if _, err := s.Get(ctx, "cs_000000000000000000000000", now); !errors.Is(err, connection.ErrSessionNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		if err := s.Create(ctx, sess); err == nil {
			t.Fatal("a session was overwritten")
		}
	})

	t.Run("a session completes once", func(t *testing.T) {
		s := newStore(t)
		sess := open(t, s, time.Hour)
		if err := s.Complete(ctx, sess.ID, "zc_1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, sess.ID, "zc_2"); !errors.Is(err, connection.ErrSessionCompleted) {
			t.Fatalf("completed twice: %v", err)
		}
		got, err := s.Get(ctx, sess.ID, now)
		if err != nil || got.Status != connection.SessionCompleted || got.ConnectionID != "zc_1" {
			t.Fatalf("%+v %v", got, err)
		}
	})
}
