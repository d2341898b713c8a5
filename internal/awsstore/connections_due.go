package awsstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// The due index has two parts per refresh shard: "00".."15" holds the
// connections the schedule keeps fresh, "idle-00".."idle-15" the idle
// ones, which it checks once a day (connection.IdleShard). Both are the
// one sparse index, partitioned by refresh_shard, sorted by
// token_expires_at: an idle connection moves by one attribute, with no
// second index to pay for.

// DuePage reads one page of a part of the due index ("03" or "idle-03"):
// at most limit connections (0: up to 1 MB) whose token expires at or
// before before, soonest first, from just after after. more reports
// whether the part may hold more.
func (s *ConnectionStore) DuePage(ctx context.Context, part string, before time.Time, limit int, after connection.DueKey) ([]*connection.Connection, bool, error) {
	if !connection.ValidDuePart(part) {
		return nil, false, fmt.Errorf("due page: %q is not a part of %s", part, DueIndex)
	}
	key := expression.Key(attrShard).Equal(expression.Value(part)).
		And(expression.Key(attrTokenExpires).LessThanEqual(expression.Value(before.Unix())))
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, false, fmt.Errorf("build the due query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.Table,
		IndexName:                 aws.String(DueIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	if !after.IsZero() {
		if !connection.ValidID(after.ID) {
			return nil, false, fmt.Errorf("due page: %w", connection.ErrBadCursor)
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			attrID:           &types.AttributeValueMemberS{Value: after.ID},
			attrShard:        &types.AttributeValueMemberS{Value: part},
			attrTokenExpires: &types.AttributeValueMemberN{Value: strconv.FormatInt(Unix(after.ExpiresAt), 10)},
		}
	}
	out, err := s.DB.Query(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("query %s part %s: %w", DueIndex, part, err)
	}
	cs := make([]*connection.Connection, 0, len(out.Items))
	for _, item := range out.Items {
		c, err := decodeConnection(item)
		if err != nil {
			return nil, false, err
		}
		cs = append(cs, c)
	}
	return cs, len(out.LastEvaluatedKey) > 0, nil
}

// MarkIdle moves an active connection to the idle part of the due index,
// unless it was used at or after unusedBefore (sync recorded a use since
// it was read): one conditional UpdateItem, the version bumped. It
// answers whether it moved.
func (s *ConnectionStore) MarkIdle(ctx context.Context, id string, unusedBefore time.Time) (bool, error) {
	used := expression.Name(attrLastUsed)
	cond := expression.Name(attrStatus).Equal(expression.Value(string(connection.Active))).
		And(expression.AttributeExists(expression.Name(attrShard))).
		And(expression.AttributeNotExists(used).Or(used.LessThan(expression.Value(unusedBefore.Unix()))))
	update := bumpVersion().Set(expression.Name(attrShard), expression.Value(connection.IdleShard(id)))
	return s.conditionalUpdate(ctx, id, update, cond, "mark idle")
}

// conditionalUpdate is one UpdateItem of update on cond, asking nothing
// back; it answers false when cond failed.
func (s *ConnectionStore) conditionalUpdate(ctx context.Context, id string, update expression.UpdateBuilder, cond expression.ConditionBuilder, what string) (bool, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build %s: %w", what, err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return true, nil
}
