package awsstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connectionitem"
)

// writeChanges is the write that reads nothing first: change edits a
// connection holding only what cond guarantees (base), and one UpdateItem
// on cond writes what change changed (connection.Changes) and nothing
// else, with the version bumped. It answers false when cond failed.
func (s *ConnectionStore) writeChanges(ctx context.Context, base connection.Connection, cond expression.ConditionBuilder, change func(*connection.Connection)) (bool, error) {
	c := base
	change(&c)
	update, err := s.changesUpdate(&c)
	if err != nil {
		return false, err
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build the connection's update: %w", err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(c.ID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update connection %s: %w", c.ID, err)
	}
	return true, nil
}

// changesUpdate translates what c's transitions changed into an update:
// each changed field set to c's value, failures counted added to the
// stored count, the refresh shard following the status (the due index
// holds only refreshable connections), the lease removed when it ended,
// updated_at the change's own time or else the store's clock, the version
// bumped.
func (s *ConnectionStore) changesUpdate(c *connection.Connection) (expression.UpdateBuilder, error) {
	ch := c.Changes()
	if !ch.Has(connection.FieldUpdatedAt) {
		c.UpdatedAt = s.Now().UTC()
	}
	item, err := attributevalue.MarshalMap(connectionitem.From(c))
	if err != nil {
		return expression.UpdateBuilder{}, fmt.Errorf("encode connection: %w", err)
	}
	update := bumpVersion()
	for _, f := range ch.Fields() {
		if f == connection.FieldLease {
			if c.Lease.Owner == "" {
				update = update.Remove(expression.Name(attrLeaseOwner)).Remove(expression.Name(attrLeaseUntil))
			} else {
				update = update.Set(expression.Name(attrLeaseOwner), expression.Value(item[attrLeaseOwner])).
					Set(expression.Name(attrLeaseUntil), expression.Value(item[attrLeaseUntil]))
			}
			continue
		}
		a, ok := fieldAttributes[f]
		if !ok {
			return expression.UpdateBuilder{}, fmt.Errorf("no attribute for the connection's %s", f)
		}
		update = update.Set(expression.Name(a), expression.Value(item[a]))
	}
	if n := ch.FailuresCounted(); n > 0 && !ch.Has(connection.FieldConsecutiveFailures) {
		failures := expression.Name(attrFailures)
		update = update.Set(failures, expression.Plus(failures.IfNotExists(expression.Value(0)), expression.Value(n)))
	}
	if !ch.Has(connection.FieldUpdatedAt) {
		update = update.Set(expression.Name(attrUpdatedAt), expression.Value(item[attrUpdatedAt]))
	}
	if ch.Has(connection.FieldStatus) {
		if c.Refreshable() {
			update = update.Set(expression.Name(attrShard), expression.Value(item[attrShard]))
		} else {
			update = update.Remove(expression.Name(attrShard))
		}
	}
	return update, nil
}
