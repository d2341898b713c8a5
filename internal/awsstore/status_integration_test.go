//go:build integration

package awsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func newConn(t *testing.T, s *awsstore.ConnectionStore, org string, expires time.Time, status connection.Status) string {
	t.Helper()
	id := connection.ID("us", zoho.Production, org)
	if _, err := s.Update(context.Background(), id, func(c *connection.Connection) error {
		c.Location, c.Environment, c.OrgID = "us", "production", org
		c.TokenExpiresAt = expires
		c.SetStatus(status, "", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// Sync's RequireReauth (UpdateActive of connection.RequireReauth) changes
// the status attributes of an active connection and nothing else;
// anything else it leaves alone. (storetest's contract has the same
// without the raw attributes, for the fake too.)
func TestRequireReauth(t *testing.T) {
	env := testenv.New(t)
	s := awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	requireReauth := func(reason string, at time.Time) func(*connection.Connection) {
		return func(c *connection.Connection) { c.RequireReauth(reason, at) }
	}
	raw := func(id string) map[string]types.AttributeValue {
		out, err := env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(env.Tables["ConnectionsTable"]),
			Key: map[string]types.AttributeValue{"connection_id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}

	id := newConn(t, s, "3000", now.Add(time.Hour), connection.Active)
	if _, err := s.Update(ctx, id, func(c *connection.Connection) error {
		c.SubmissionKeyID, c.SubmissionHash, c.FieldMapping = "kid", "hash-of-the-key", map[string]string{"budget": "Annual_Revenue"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A refresh holds the lease meanwhile: untouched by the mark.
	if _, ok, err := s.AcquireLease(ctx, id, "run-1", now, now.Add(time.Minute), now.Add(2*time.Hour)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	before := raw(id)
	old, _ := s.Get(ctx, id)

	if err := s.UpdateActive(ctx, id, requireReauth("domain_token_mismatch", now.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	after := raw(id)
	c, _ := s.Get(ctx, id)
	if c.Status != connection.ReauthRequired || c.StatusReason != "domain_token_mismatch" || !c.StatusChangedAt.Equal(now.Add(time.Second)) ||
		!c.UpdatedAt.Equal(now.Add(time.Second)) || c.Version != old.Version+1 {
		t.Fatalf("after: %+v (version before %d)", c, old.Version)
	}
	if _, ok := after["refresh_shard"]; ok {
		t.Fatal("still in the due index")
	}
	changed := map[string]bool{"status": true, "status_reason": true, "status_changed_at": true, "updated_at": true, "version": true, "refresh_shard": true}
	for k, v := range before {
		if changed[k] {
			continue
		}
		if w, ok := after[k]; !ok || !sameAttr(v, w) {
			t.Errorf("%s changed: %#v → %#v", k, v, w)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s added", k)
		}
	}

	// Already marked: nothing changes, no error.
	if err := s.UpdateActive(ctx, id, requireReauth("scope_mismatch", now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Get(ctx, id); again.Version != c.Version || again.StatusReason != "domain_token_mismatch" {
		t.Fatalf("a marked connection changed: %+v", again)
	}
	// Disconnected: stays disconnected.
	gone := newConn(t, s, "3001", now, connection.Disconnected)
	g0, _ := s.Get(ctx, gone)
	if err := s.UpdateActive(ctx, gone, requireReauth("scope_mismatch", now)); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Get(ctx, gone); g.Status != connection.Disconnected || g.Version != g0.Version {
		t.Fatalf("disconnected: %+v", g)
	}
	// Unknown: nothing is created.
	unknown := connection.ID("eu", zoho.Sandbox, "nobody")
	if err := s.UpdateActive(ctx, unknown, requireReauth("scope_mismatch", now)); err != nil {
		t.Fatal(err)
	}
	if item := raw(unknown); item != nil {
		t.Fatalf("an item was created: %v", item)
	}
}

func sameAttr(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberM:
		y, ok := b.(*types.AttributeValueMemberM)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for k, v := range x.Value {
			if !sameAttr(v, y.Value[k]) {
				return false
			}
		}
		return true
	}
	return false
}
