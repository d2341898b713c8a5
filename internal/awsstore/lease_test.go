package awsstore

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// A refresh's write under its lease is one UpdateItem that sets and
// removes what the transition changed (the same attributes the
// hand-written expressions of RecordRefreshed, RecordFailure and
// MarkReauthRequired named), bumps the version and updated_at, asks
// nothing back, and is conditional on the lease owner and an active
// connection.
func TestLeasedWriteRequests(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name          string
		change        func(*connection.Connection)
		set, removed  []string
		failuresAdded bool
	}{
		{"Refreshed", func(c *connection.Connection) { c.Refreshed(now.Add(time.Hour)) },
			[]string{"consecutive_failures", "last_error", "next_attempt_at", "status_reason", "token_expires_at", "updated_at", "version"},
			[]string{"lease_expires_at", "lease_owner"}, false},
		{"RefreshFailed", func(c *connection.Connection) { c.RefreshFailed("zoho: unavailable", now.Add(time.Minute), "") },
			[]string{"consecutive_failures", "last_error", "next_attempt_at", "updated_at", "version"},
			[]string{"lease_expires_at", "lease_owner"}, true},
		{"RefreshFailed flagged", func(c *connection.Connection) {
			c.RefreshFailed("zoho: unavailable", now.Add(time.Minute), "refresh_failing")
		},
			[]string{"consecutive_failures", "last_error", "next_attempt_at", "status_reason", "updated_at", "version"},
			[]string{"lease_expires_at", "lease_owner"}, true},
		{"RefreshRefused", func(c *connection.Connection) { c.RefreshRefused("invalid_code", now) },
			[]string{"last_error", "status", "status_changed_at", "status_reason", "updated_at", "version"},
			[]string{"lease_expires_at", "lease_owner", "refresh_shard"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := &updateOnly{}
			s := NewConnectionStore(db, "connections")
			if err := s.UpdateLeased(context.Background(), "zc_1", "run-1", tt.change); err != nil {
				t.Fatal(err)
			}
			if len(db.in) != 1 {
				t.Fatalf("%d requests", len(db.in))
			}
			in := db.in[0]
			update := resolve(*in.UpdateExpression, in)
			set, removed := clauses(in)
			if !slices.Equal(set, tt.set) || !slices.Equal(removed, tt.removed) {
				t.Errorf("%s\nsets %v, removes %v; want %v, %v", update, set, removed, tt.set, tt.removed)
			}
			if added := strings.Contains(update, "consecutive_failures = if_not_exists(consecutive_failures, 0) + 1"); added != tt.failuresAdded {
				t.Errorf("failures counted onto the stored count: %v, want %v (%s)", added, tt.failuresAdded, update)
			}
			if !strings.Contains(update, "version = if_not_exists(version, 0) + 1") {
				t.Errorf("no version bump: %s", update)
			}
			if cond := resolve(*in.ConditionExpression, in); cond != "(lease_owner = run-1) AND (status = active)" {
				t.Errorf("condition %s", cond)
			}
			if in.ReturnValues != "" && in.ReturnValues != types.ReturnValueNone {
				t.Errorf("ReturnValues %s", in.ReturnValues)
			}
		})
	}

	// A failed condition is ErrConflict; another failure is reported.
	db := &updateOnly{err: &types.ConditionalCheckFailedException{}}
	s := NewConnectionStore(db, "connections")
	refreshed := func(c *connection.Connection) { c.Refreshed(now) }
	if err := s.UpdateLeased(context.Background(), "zc_1", "run-1", refreshed); !errors.Is(err, connection.ErrConflict) {
		t.Fatalf("condition failed: %v", err)
	}
	db.err = errors.New("throttled")
	if err := s.UpdateLeased(context.Background(), "zc_1", "run-1", refreshed); err == nil || errors.Is(err, connection.ErrConflict) {
		t.Fatalf("a failed write: %v", err)
	}
}

// clauses lists the attributes a request's update expression sets and
// removes, sorted.
func clauses(in *dynamodb.UpdateItemInput) (set, removed []string) {
	var mode string
	for _, tok := range regexp.MustCompile(`SET|REMOVE|#\w+ =|#\w+`).FindAllString(*in.UpdateExpression, -1) {
		switch name := in.ExpressionAttributeNames[strings.TrimSuffix(tok, " =")]; {
		case tok == "SET" || tok == "REMOVE":
			mode = tok
		case mode == "SET" && strings.HasSuffix(tok, " ="):
			set = append(set, name)
		case mode == "REMOVE":
			removed = append(removed, name)
		}
	}
	slices.Sort(set)
	slices.Sort(removed)
	return set, removed
}
