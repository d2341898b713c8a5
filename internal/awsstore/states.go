package awsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

const attrStateHash = "state_hash"

// stateItem is a pending connect as the states table holds it: hashes,
// never the state or the browser's nonce.
type stateItem struct {
	StateHash     string `dynamodbav:"state_hash"`
	Environment   string `dynamodbav:"environment"`
	StartLocation string `dynamodbav:"start_location"`
	ExpiresAt     int64  `dynamodbav:"expires_at"`
	BrowserHash   string `dynamodbav:"browser_hash"`
	SessionID     string `dynamodbav:"session_id,omitempty"`
	TenantID      string `dynamodbav:"tenant_id,omitempty"`
}

// StateStore is the states table: it keeps pending connects in the states table until Zoho's
// redirect consumes them. Items carry a TTL; reads check the expiry too,
// since TTL deletion can lag by days.
type StateStore struct {
	DB    DynamoDB
	Table string
}

// Put stores a pending connect; it never overwrites one.
func (s *StateStore) Put(ctx context.Context, p connection.PendingConnect) error {
	item, err := attributevalue.MarshalMap(stateItem{
		StateHash: p.StateHash, Environment: p.Environment, StartLocation: p.StartLocation, ExpiresAt: p.ExpiresAt.Unix(),
		BrowserHash: p.BrowserHash, SessionID: p.SessionID, TenantID: p.TenantID,
	})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrStateHash))).Build()
	if err != nil {
		return fmt.Errorf("build the state's condition: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.Table,
		Item:                     item,
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
	var it stateItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return connection.PendingConnect{}, fmt.Errorf("decode state: %w", err)
	}
	p := connection.PendingConnect{
		StateHash: stateHash, Environment: it.Environment, StartLocation: it.StartLocation, ExpiresAt: time.Unix(it.ExpiresAt, 0),
		BrowserHash: it.BrowserHash, SessionID: it.SessionID, TenantID: it.TenantID,
	}
	if !now.Before(p.ExpiresAt) {
		return connection.PendingConnect{}, connection.ErrStateNotFound
	}
	return p, nil
}
