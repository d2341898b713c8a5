package awsstore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

const attrLastUsed = "last_used_at"

// RecordUseAttributes are the attributes sync's RecordUse names, the key
// included. SyncFunction's IAM policy (template.yaml,
// ConnectionsRecordUse) allows its UpdateItem for exactly these
// (dynamodb:Attributes); a test builds the request and compares.
var RecordUseAttributes = []string{"connection_id", "last_used_at", "refresh_shard", "status", "version"}

// RecordUse records that an active connection was used at at, for sync:
// last_used_at set and the connection back in the due index's fresh part
// (an idle one is kept fresh again), the version bumped. One conditional
// UpdateItem, asking nothing back, and only when the recorded use is
// older than connection.UseRecordEvery or the connection is idle, so
// that a connection costs at most one such write an hour however many
// submissions it takes. It answers whether it wrote; an unknown or
// inactive connection is left as it is, without an error.
func (s *ConnectionStore) RecordUse(ctx context.Context, id string, at time.Time) (bool, error) {
	used, shard := expression.Name(attrLastUsed), expression.Name(attrShard)
	stale := expression.AttributeNotExists(used).
		Or(used.LessThanEqual(expression.Value(at.Add(-connection.UseRecordEvery).Unix()))).
		Or(expression.BeginsWith(shard, connection.IdleShardPrefix))
	cond := expression.Name(attrStatus).Equal(expression.Value(string(connection.Active))).And(stale)
	update := bumpVersion().Set(used, expression.Value(at.Unix())).
		Set(shard, expression.Value(connection.RefreshShard(id)))
	return s.conditionalUpdate(ctx, id, update, cond, "record use")
}
