package awsstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

const attrStateHash = "state_hash"

// StateStore is the states table: it keeps pending connects in the states table until Zoho's
// redirect consumes them. Items carry a TTL; reads check the expiry too,
// since TTL deletion can lag by days.
type StateStore struct {
	DB    DynamoDB
	Table string
}

// Put stores a pending connect; it never overwrites one.
func (s *StateStore) Put(ctx context.Context, p connection.PendingConnect) error {
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrStateHash))).Build()
	if err != nil {
		return fmt.Errorf("build the state's condition: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table,
		Item: map[string]types.AttributeValue{
			attrStateHash:    &types.AttributeValueMemberS{Value: p.StateHash},
			"environment":    &types.AttributeValueMemberS{Value: p.Environment},
			"start_location": &types.AttributeValueMemberS{Value: p.StartLocation},
			"expires_at":     &types.AttributeValueMemberN{Value: strconv.FormatInt(p.ExpiresAt.Unix(), 10)},
		},
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return fmt.Errorf("store state: %w", err)
	}
	return nil
}

// Consume deletes the pending connect and returns it. Of two callers with
// the same state, exactly one gets it; the other gets ErrStateNotFound.
// An expired state is consumed too, and reported as not found.
func (s *StateStore) Consume(ctx context.Context, stateHash string, now time.Time) (connection.PendingConnect, error) {
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(attrStateHash))).Build()
	if err != nil {
		return connection.PendingConnect{}, fmt.Errorf("build the state's condition: %w", err)
	}
	out, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                &s.Table,
		Key:                      map[string]types.AttributeValue{attrStateHash: &types.AttributeValueMemberS{Value: stateHash}},
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
		ReturnValues:             types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return connection.PendingConnect{}, connection.ErrStateNotFound
	}
	if err != nil {
		return connection.PendingConnect{}, fmt.Errorf("consume state: %w", err)
	}
	p := connection.PendingConnect{StateHash: stateHash}
	if v, ok := out.Attributes["environment"].(*types.AttributeValueMemberS); ok {
		p.Environment = v.Value
	}
	if v, ok := out.Attributes["start_location"].(*types.AttributeValueMemberS); ok {
		p.StartLocation = v.Value
	}
	if v, ok := out.Attributes["expires_at"].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		p.ExpiresAt = time.Unix(n, 0)
	}
	if !now.Before(p.ExpiresAt) {
		return connection.PendingConnect{}, connection.ErrStateNotFound
	}
	return p, nil
}
