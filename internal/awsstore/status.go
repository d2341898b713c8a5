package awsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// RequireReauthAttributes are the attributes RequireReauth's request
// names, the key included: SyncFunction's IAM policy (template.yaml)
// allows its UpdateItem on the connections table for exactly these
// (dynamodb:Attributes), so keep the two lists the same.
var RequireReauthAttributes = []string{
	"connection_id", "refresh_shard", "status", "status_changed_at", "status_reason", "updated_at", "version",
}

// RequireReauth marks an active connection reauth_required, for sync,
// when Zoho says its token cannot serve the org (DOMAIN_TOKEN_MISMATCH,
// OAUTH_SCOPE_MISMATCH) or the refresh token no longer works: status,
// status_reason, status_changed_at and updated_at are set, version bumped
// (so that a callback's optimistic Update that read the item before reads
// it again), refresh_shard removed (it leaves the due index). One
// conditional UpdateItem (status = active) and nothing else: the
// connection's other attributes (its submission key hash, tokens' expiry,
// lease) are never rewritten by sync. A connection already marked, or
// disconnected, and an unknown id are left as they are, without an error
// (nothing is ever created); the caller holds the submission either way.
func (s *ConnectionStore) RequireReauth(ctx context.Context, id, reason string, now time.Time) error {
	at := sAttr(formatTime(now))
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.Table,
		Key:       connectionKey(id),
		UpdateExpression: aws.String("SET #status = :reauth, #reason = :reason, #changed = :at, #updated = :at," +
			" #version = if_not_exists(#version, :zero) + :one REMOVE #shard"),
		ConditionExpression: aws.String("#status = :active"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#reason": "status_reason", "#changed": "status_changed_at",
			"#updated": "updated_at", "#version": "version", "#shard": "refresh_shard",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":reauth": sAttr(string(connection.ReauthRequired)), ":active": sAttr(string(connection.Active)),
			":reason": sAttr(reason), ":at": at, ":zero": nAttr(0), ":one": nAttr(1),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // not active (or no such connection): nothing to mark
	}
	if err != nil {
		return fmt.Errorf("mark connection %s reauth_required: %w", id, err)
	}
	return nil
}
