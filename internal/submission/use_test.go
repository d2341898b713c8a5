package submission

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

func (w *world) lead(t *testing.T, n int) {
	t.Helper()
	body := fmt.Sprintf(`{"email":"ada%d@example.com","name":"Ada Lovelace","message":"hi"}`, n)
	if status, answer := w.post(t, w.request("application/json", body)); status != 201 {
		t.Fatalf("submission %d: %d %v", n, status, answer)
	}
}

// Sync records a connection's use at most once an hour: the first
// submission writes, the next ones within the hour compare the item they
// read and write nothing, the first an hour later writes again.
func TestUseRecordedOnceAnHour(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	id := w.conn.ID
	w.lead(t, 1)
	if n := w.conns.Uses(id); n != 1 {
		t.Fatalf("%d uses recorded after the first submission", n)
	}
	writes := w.conns.Writes(id)
	for i := 2; i <= 5; i++ {
		now = now.Add(10 * time.Minute)
		w.lead(t, i)
	}
	if n := w.conns.Uses(id); n != 1 || w.conns.Writes(id) != writes {
		t.Fatalf("within the hour: %d uses recorded, %d writes (was %d)", n, w.conns.Writes(id), writes)
	}
	now = now.Add(21 * time.Minute)
	w.lead(t, 6)
	if n := w.conns.Uses(id); n != 2 {
		t.Fatalf("an hour later: %d uses recorded", n)
	}
	if c := w.conns.Item(id); !c.LastUsedAt.Equal(now.Truncate(time.Second)) || c.Idle {
		t.Errorf("stored %v, idle %v", c.LastUsedAt, c.Idle)
	}
}

// An idle connection's use is recorded at once, however recent the last
// one, and puts it back on the refresh schedule.
func TestUseOfAnIdleConnectionPutsItBack(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	w.conns.Edit(w.conn.ID, func(c *connection.Connection) { c.LastUsedAt, c.Idle = now.Add(-48*time.Hour), true })
	w.lead(t, 1)
	if c := w.conns.Item(w.conn.ID); c.Idle || w.conns.Uses(w.conn.ID) != 1 {
		t.Fatalf("after its use: idle %v, %d uses", c.Idle, w.conns.Uses(w.conn.ID))
	}
}

// staleReads answers the connection as it was first read, whatever was
// written since (another instance's read before this one's write), and
// counts RecordUse calls.
type staleReads struct {
	ConnectionStore
	first   *connection.Connection
	records atomic.Int64
}

func (s *staleReads) Get(ctx context.Context, id string) (*connection.Connection, error) {
	if s.first == nil {
		c, err := s.ConnectionStore.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		s.first = c
	}
	c := *s.first
	return &c, nil
}

func (s *staleReads) RecordUse(context.Context, string, time.Time) (bool, error) {
	s.records.Add(1)
	return true, nil
}

// One instance asks to record a connection's use once an hour even when
// every read it makes is stale.
func TestUseRecordedOncePerInstanceAnHour(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.svc.Now = func() time.Time { return now }
	stale := &staleReads{ConnectionStore: w.conns}
	w.svc.Connections = stale
	for i := range 4 {
		now = now.Add(5 * time.Minute)
		w.lead(t, i)
	}
	if n := stale.records.Load(); n != 1 {
		t.Fatalf("%d RecordUse calls for 4 submissions in 20 minutes", n)
	}
	now = now.Add(time.Hour)
	w.lead(t, 9)
	if n := stale.records.Load(); n != 2 {
		t.Fatalf("%d RecordUse calls an hour later", n)
	}
}
