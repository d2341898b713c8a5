package awsstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Sync's record of a use is one UpdateItem naming exactly
// RecordUseAttributes (the list SyncFunction's IAM policy allows),
// asking nothing back, conditional on an active connection whose
// recorded use is an hour old, or none, or that is idle.
func TestRecordUseRequest(t *testing.T) {
	db := &updateOnly{}
	s := NewConnectionStore(db, "connections")
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	id := connection.ID("eu", 0, "1")
	if wrote, err := s.RecordUse(context.Background(), id, at); err != nil || !wrote {
		t.Fatalf("%v %v", wrote, err)
	}
	if len(db.in) != 1 {
		t.Fatalf("%d requests", len(db.in))
	}
	in := db.in[0]
	names := []string{}
	for k := range in.Key {
		names = append(names, k)
	}
	for _, v := range in.ExpressionAttributeNames {
		names = append(names, v)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(RecordUseAttributes)); !slices.Equal(names, want) {
		t.Fatalf("the request names %v, want %v", names, want)
	}
	if in.ReturnValues != "" && in.ReturnValues != types.ReturnValueNone {
		t.Errorf("ReturnValues %s", in.ReturnValues)
	}
	cond := resolve(*in.ConditionExpression, in)
	for _, want := range []string{"status = active", "attribute_not_exists (last_used_at)", "last_used_at <= " + strconv.FormatInt(at.Add(-time.Hour).Unix(), 10), "begins_with (refresh_shard, idle-)"} {
		if !strings.Contains(cond, want) {
			t.Errorf("condition %s lacks %q", cond, want)
		}
	}
	update := resolve(*in.UpdateExpression, in)
	for _, want := range []string{"last_used_at = " + strconv.FormatInt(at.Unix(), 10), "refresh_shard = " + connection.RefreshShard(id)} {
		if !strings.Contains(update, want) {
			t.Errorf("update %s lacks %q", update, want)
		}
	}
	// A use not worth recording (or a connection not active) is no error.
	db.err = &types.ConditionalCheckFailedException{}
	if wrote, err := s.RecordUse(context.Background(), id, at); err != nil || wrote {
		t.Fatalf("condition failed: %v %v", wrote, err)
	}
	db.err = errors.New("throttled")
	if _, err := s.RecordUse(context.Background(), id, at); err == nil {
		t.Fatal("a failed write was not reported")
	}
}
