package submission

import (
	"context"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// UseRecorder records that a connection was used
// (awsstore.ConnectionStore.RecordUse): a connection with no use for a
// while is only checked once a day by the refresh schedule, and its use
// puts it back on the schedule. A ConnectionStore that is one is told of
// every delivery's first call to Zoho; one that is not records nothing.
type UseRecorder interface {
	RecordUse(ctx context.Context, id string, at time.Time) (bool, error)
}

// recordUse records c's use at most once an hour: only when the
// connection as read says the recorded use is stale (or it is idle), and
// once per instance in that hour, so that the write stays out of the hot
// path. Best effort: a failed record costs the connection, at worst, a
// day idle and an on-demand refresh at its next use.
func (s *Service) recordUse(ctx context.Context, c *connection.Connection) {
	u, ok := s.Connections.(UseRecorder)
	if !ok {
		return
	}
	now := s.Now.Now()
	if !c.NeedsUseRecorded(now) || !s.tokens.claimUse(c.ID, now) {
		return
	}
	if _, err := u.RecordUse(ctx, c.ID, now); err != nil {
		s.Log.Warn("recording the connection's use failed", "connection_id", c.ID, "err", err.Error())
	}
}

// claimUse reports whether this instance should record id's use at now:
// it has not within connection.UseRecordEvery.
func (c *tokenCache) claimUse(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.used[id]; ok && now.Sub(last) < connection.UseRecordEvery {
		return false
	}
	if c.used == nil {
		c.used = map[string]time.Time{}
	}
	c.used[id] = now
	return true
}
