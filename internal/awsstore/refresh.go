package awsstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// DueIndex is the sparse index of active connections by refresh shard and
// token expiry (template.yaml, ConnectionsTable).
const DueIndex = "due-index"

// The refresh run's writes below share three rules: each is one
// conditional UpdateItem; each bumps `version`, so that a callback's
// optimistic Update that read the item before sees the change and reads
// again; and each but AcquireLease is conditional on the caller still
// holding the lease, so a run that lost its lease (it took longer than the
// lease) can never overwrite the work of the run that took it over.

// DueConnections lists the active connections of one refresh shard ("00"
// .. "15") whose access token expires at or before before, soonest first.
// limit bounds the answer (0: all); pages are followed. The index is
// eventually consistent: the lease write re-checks what matters.
func (s *ConnectionStore) DueConnections(ctx context.Context, shard string, before time.Time, limit int) ([]*connection.Connection, error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.Table,
		IndexName:              aws.String(DueIndex),
		KeyConditionExpression: aws.String("#shard = :shard AND #exp <= :before"),
		ExpressionAttributeNames: map[string]string{
			"#shard": "refresh_shard", "#exp": "token_expires_at",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard":  &types.AttributeValueMemberS{Value: shard},
			":before": nAttr(before.Unix()),
		},
	}
	var out []*connection.Connection
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(out), 1000)))
		}
		page, err := s.DB.Query(ctx, in)
		if err != nil {
			return out, fmt.Errorf("query %s shard %s: %w", DueIndex, shard, err)
		}
		for _, item := range page.Items {
			var it connectionItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return out, fmt.Errorf("decode connection: %w", err)
			}
			out = append(out, fromItem(it))
		}
		if len(page.LastEvaluatedKey) == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// AcquireLease takes the refresh lease of a connection for owner until
// until, if the connection is active, nobody else holds an unexpired
// lease, and its access token expires at or before dueBy (so a run that
// read the index before another run refreshed the token does not refresh
// it again). It answers the connection as it stands after the write, or
// false when any condition failed.
func (s *ConnectionStore) AcquireLease(ctx context.Context, id, owner string, now, until, dueBy time.Time) (*connection.Connection, bool, error) {
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.Table,
		Key:              connectionKey(id),
		UpdateExpression: aws.String("SET #lo = :owner, #le = :until, #version = if_not_exists(#version, :zero) + :one"),
		ConditionExpression: aws.String("attribute_exists(connection_id) AND #status = :active AND #exp <= :due" +
			" AND (attribute_not_exists(#le) OR #le < :now)"),
		ExpressionAttributeNames: map[string]string{
			"#lo": "lease_owner", "#le": "lease_expires_at", "#version": "version",
			"#status": "status", "#exp": "token_expires_at",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": sAttr(owner), ":until": nAttr(until.Unix()), ":now": nAttr(now.Unix()), ":due": nAttr(dueBy.Unix()),
			":active": sAttr(string(connection.Active)), ":zero": nAttr(0), ":one": nAttr(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("acquire lease: %w", err)
	}
	var it connectionItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return nil, false, fmt.Errorf("decode connection: %w", err)
	}
	return fromItem(it), true, nil
}

// Lease reports who holds a connection's refresh lease and until when;
// an empty owner means nobody ever did or the last one released it.
func (s *ConnectionStore) Lease(ctx context.Context, id string) (owner string, until time.Time, err error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.Table,
		Key:                      connectionKey(id),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#lo, #le"),
		ExpressionAttributeNames: map[string]string{"#lo": "lease_owner", "#le": "lease_expires_at"},
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read lease: %w", err)
	}
	var l struct {
		Owner string `dynamodbav:"lease_owner"`
		Until int64  `dynamodbav:"lease_expires_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &l); err != nil {
		return "", time.Time{}, fmt.Errorf("decode lease: %w", err)
	}
	return l.Owner, FromUnix(l.Until), nil
}

// ReleaseLease gives the lease back without recording anything. A lease
// that is no longer owner's is left alone.
func (s *ConnectionStore) ReleaseLease(ctx context.Context, id, owner string) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          aws.String("REMOVE #lo, #le"),
		ConditionExpression:       aws.String("#lo = :owner"),
		ExpressionAttributeNames:  map[string]string{"#lo": "lease_owner", "#le": "lease_expires_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": sAttr(owner)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// TakeLease takes a connection's lease for owner until until, whatever its
// status, when nobody holds an unexpired one. The callback holds it while
// it replaces a connection's tokens, so that a refresh never runs with a
// refresh token that is being replaced and revoked. It answers false when
// someone else holds the lease or the connection does not exist.
func (s *ConnectionStore) TakeLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          aws.String("SET #lo = :owner, #le = :until"),
		ConditionExpression:       aws.String("attribute_exists(connection_id) AND (attribute_not_exists(#le) OR #le < :now)"),
		ExpressionAttributeNames:  map[string]string{"#lo": "lease_owner", "#le": "lease_expires_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": sAttr(owner), ":until": nAttr(until.Unix()), ":now": nAttr(now.Unix())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take lease: %w", err)
	}
	return true, nil
}

// RecordRefreshed records a refresh: the new expiry, the failure
// bookkeeping cleared (and a failing flag with it), the lease released.
// It fails with connection.ErrConflict when owner no longer holds the lease.
func (s *ConnectionStore) RecordRefreshed(ctx context.Context, id, owner string, expiresAt time.Time) error {
	return s.leasedUpdate(ctx, id, owner,
		"SET #exp = :exp, #cf = :zero, #na = :zero, #le_err = :empty, #reason = :empty REMOVE #lo, #le",
		map[string]string{
			"#exp": "token_expires_at", "#cf": "consecutive_failures", "#na": "next_attempt_at",
			"#le_err": "last_error", "#reason": "status_reason",
		},
		map[string]types.AttributeValue{":exp": nAttr(expiresAt.Unix()), ":empty": sAttr("")},
	)
}

// RecordFailure counts one more failed refresh, sets when to try again and
// why it failed, and releases the lease. A non-empty flagReason becomes
// the connection's status_reason (it stays active and is still retried,
// but operators see it). It answers the new count of consecutive failures.
func (s *ConnectionStore) RecordFailure(ctx context.Context, id, owner, lastError string, nextAttempt time.Time, flagReason string) (int, error) {
	names := map[string]string{"#cf": "consecutive_failures", "#na": "next_attempt_at", "#le_err": "last_error"}
	values := map[string]types.AttributeValue{":na": nAttr(nextAttempt.Unix()), ":err": sAttr(lastError)}
	set := "SET #cf = if_not_exists(#cf, :zero) + :one, #na = :na, #le_err = :err"
	if flagReason != "" {
		names["#reason"] = "status_reason"
		values[":flag"] = sAttr(flagReason)
		set += ", #reason = :flag"
	}
	var failures int
	err := s.leasedUpdateOut(ctx, id, owner, set+" REMOVE #lo, #le", names, values, func(out *dynamodb.UpdateItemOutput) error {
		if n, ok := out.Attributes["consecutive_failures"].(*types.AttributeValueMemberN); ok {
			failures, _ = strconv.Atoi(n.Value)
		}
		return nil
	})
	return failures, err
}

// MarkReauthRequired records that the refresh token no longer works: the
// connection becomes reauth_required with the reason and time, leaves the
// due index (its refresh_shard is removed) and the lease is released.
// Only a new connect makes it active again.
func (s *ConnectionStore) MarkReauthRequired(ctx context.Context, id, owner, reason string, now time.Time) error {
	return s.leasedUpdate(ctx, id, owner,
		"SET #status = :status, #reason = :reason, #changed = :changed, #le_err = :reason REMOVE #lo, #le, #shard",
		map[string]string{
			"#status": "status", "#reason": "status_reason", "#changed": "status_changed_at",
			"#le_err": "last_error", "#shard": "refresh_shard",
		},
		map[string]types.AttributeValue{
			":status": sAttr(string(connection.ReauthRequired)), ":reason": sAttr(reason),
			":changed": sAttr(formatTime(now)),
		},
	)
}

func (s *ConnectionStore) leasedUpdate(ctx context.Context, id, owner, update string, names map[string]string, values map[string]types.AttributeValue) error {
	return s.leasedUpdateOut(ctx, id, owner, update, names, values, nil)
}

// leasedUpdateOut runs update (a "SET ... REMOVE ..." expression that may
// lack either clause) on the condition that owner holds the lease and the
// connection is still active (an operator's disconnect, made while a
// refresh was under way, must not be undone by it), adding
// the version bump and updated_at.
func (s *ConnectionStore) leasedUpdateOut(ctx context.Context, id, owner, update string, names map[string]string, values map[string]types.AttributeValue, read func(*dynamodb.UpdateItemOutput) error) error {
	if names == nil {
		names = map[string]string{}
	}
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	names["#lo"], names["#le"], names["#version"], names["#updated"] = "lease_owner", "lease_expires_at", "version", "updated_at"
	names["#lstatus"] = "status"
	values[":owner"], values[":zero"], values[":one"] = sAttr(owner), nAttr(0), nAttr(1)
	values[":lactive"] = sAttr(string(connection.Active))
	values[":updated"] = sAttr(formatTime(s.Now()))
	bump := "#version = if_not_exists(#version, :zero) + :one, #updated = :updated"
	if rest, ok := strings.CutPrefix(update, "SET "); ok {
		update = "SET " + bump + ", " + rest
	} else {
		update = "SET " + bump + " " + update
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          &update,
		ConditionExpression:       aws.String("#lo = :owner AND #lstatus = :lactive"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	if read != nil {
		in.ReturnValues = types.ReturnValueUpdatedNew
	}
	out, err := s.DB.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return connection.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("update connection %s: %w", id, err)
	}
	if read != nil {
		return read(out)
	}
	return nil
}

func connectionKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"connection_id": &types.AttributeValueMemberS{Value: id}}
}

func sAttr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func nAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
