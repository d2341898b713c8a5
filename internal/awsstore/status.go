package awsstore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// RequireReauthAttributes are the attributes that sync's one write, an
// UpdateActive of connection.RequireReauth, names, the key included:
// status, status_reason, status_changed_at and updated_at set, version
// bumped, refresh_shard removed (it leaves the due index). SyncFunction's
// IAM policy (template.yaml) allows its UpdateItem on the connections
// table for exactly these (dynamodb:Attributes), so keep the two lists the
// same; a test builds the request and compares.
var RequireReauthAttributes = []string{
	"connection_id", "refresh_shard", "status", "status_changed_at", "status_reason", "updated_at", "version",
}

// UpdateActive makes change happen to an active connection, for sync
// (connection.RequireReauth, when Zoho says the token cannot serve the
// org or the refresh token no longer works): one UpdateItem, conditional
// on status = active and asking nothing back, writes what change changed
// and nothing else, with the version bumped (so that a callback's
// optimistic Update that read the item before reads it again). The item
// is not read first: change is given a connection holding only its id and
// the active status. A connection that is not active (already marked, or
// disconnected) and an unknown id are left as they are, without an error;
// nothing is ever created.
func (s *ConnectionStore) UpdateActive(ctx context.Context, id string, change func(*connection.Connection)) error {
	base := connection.Connection{ID: id, Status: connection.Active}
	cond := expression.Name(attrStatus).Equal(expression.Value(string(connection.Active)))
	_, err := s.writeChanges(ctx, base, cond, change)
	return err
}
