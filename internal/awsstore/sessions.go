package awsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// SessionStore keeps connect sessions in the sessions table (partition
// session_id, TTL expires_at). Reads check the expiry too: TTL deletion
// lags.
type SessionStore struct {
	DB    DynamoDB
	Table string
}

type sessionItem struct {
	ID            string            `dynamodbav:"session_id"`
	TenantID      string            `dynamodbav:"tenant_id"`
	Environment   string            `dynamodbav:"environment"`
	StartLocation string            `dynamodbav:"start_location"`
	ReturnURL     string            `dynamodbav:"return_url"`
	Metadata      map[string]string `dynamodbav:"metadata,omitempty"`
	SecretHash    string            `dynamodbav:"secret_hash"`
	Status        string            `dynamodbav:"status"`
	ConnectionID  string            `dynamodbav:"connection_id"`
	CreatedAt     int64             `dynamodbav:"created_at"`
	ExpiresAt     int64             `dynamodbav:"expires_at"`
}

func sessionKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"session_id": &types.AttributeValueMemberS{Value: id}}
}

// Create stores a new session; it never overwrites one.
func (s *SessionStore) Create(ctx context.Context, c *connection.Session) error {
	item, err := attributevalue.MarshalMap(sessionItem{
		ID: c.ID, TenantID: c.TenantID, Environment: c.Environment, StartLocation: c.StartLocation,
		ReturnURL: c.ReturnURL, Metadata: c.Metadata, SecretHash: c.SecretHash, Status: string(c.Status),
		ConnectionID: c.ConnectionID, CreatedAt: Unix(c.CreatedAt), ExpiresAt: Unix(c.ExpiresAt),
	})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("session_id"))).Build()
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table, Item: item,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(),
	})
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// Get reads a session, strongly consistent; an expired one is
// ErrSessionNotFound.
func (s *SessionStore) Get(ctx context.Context, id string, now time.Time) (*connection.Session, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: sessionKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if out.Item == nil {
		return nil, connection.ErrSessionNotFound
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	c := &connection.Session{
		ID: it.ID, TenantID: it.TenantID, Environment: it.Environment, StartLocation: it.StartLocation,
		ReturnURL: it.ReturnURL, Metadata: it.Metadata, SecretHash: it.SecretHash, Status: connection.SessionStatus(it.Status),
		ConnectionID: it.ConnectionID, CreatedAt: FromUnix(it.CreatedAt), ExpiresAt: FromUnix(it.ExpiresAt),
	}
	if !now.Before(c.ExpiresAt) {
		return nil, connection.ErrSessionNotFound
	}
	return c, nil
}

// Complete records the connection a session made, once: a session that
// is already completed (or gone) answers ErrSessionCompleted.
func (s *SessionStore) Complete(ctx context.Context, id, connectionID string) error {
	expr, err := expression.NewBuilder().
		WithCondition(expression.Name("status").Equal(expression.Value(string(connection.SessionOpen)))).
		WithUpdate(expression.Set(expression.Name("status"), expression.Value(string(connection.SessionCompleted))).
			Set(expression.Name("connection_id"), expression.Value(connectionID))).
		Build()
	if err != nil {
		return err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.Table, Key: sessionKey(id),
		ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return connection.ErrSessionCompleted
	}
	if err != nil {
		return fmt.Errorf("complete session: %w", err)
	}
	return nil
}
