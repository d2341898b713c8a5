// Package awsstore holds the AWS adapters: connections and states in
// DynamoDB, tokens and client credentials in Secrets Manager.
package awsstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// DynamoDB is the part of the DynamoDB client the stores use.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// connectionItem is a connection as the table holds it. Times that indexes
// or conditions compare are unix seconds.
type connectionItem struct {
	ID                  string            `dynamodbav:"connection_id"`
	Location            string            `dynamodbav:"location"`
	AccountsServer      string            `dynamodbav:"accounts_server"`
	APIDomain           string            `dynamodbav:"api_domain"`
	Environment         string            `dynamodbav:"environment"`
	OrgID               string            `dynamodbav:"org_id"`
	OrgName             string            `dynamodbav:"org_name"`
	UserID              string            `dynamodbav:"user_id"`
	UserEmail           string            `dynamodbav:"user_email"`
	Scopes              string            `dynamodbav:"scopes"`
	Status              string            `dynamodbav:"status"`
	StatusReason        string            `dynamodbav:"status_reason"`
	StatusChangedAt     string            `dynamodbav:"status_changed_at"`
	TokenExpiresAt      int64             `dynamodbav:"token_expires_at"`
	RefreshShard        string            `dynamodbav:"refresh_shard,omitempty"`
	SubmissionKeyID     string            `dynamodbav:"submission_key_id"`
	SubmissionKeyHash   string            `dynamodbav:"submission_key_hash"`
	FieldMapping        map[string]string `dynamodbav:"field_mapping"`
	ConsecutiveFailures int               `dynamodbav:"consecutive_failures"`
	NextAttemptAt       int64             `dynamodbav:"next_attempt_at"`
	LastError           string            `dynamodbav:"last_error"`
	CreatedAt           string            `dynamodbav:"created_at"`
	UpdatedAt           string            `dynamodbav:"updated_at"`
	Version             int64             `dynamodbav:"version"`
}

func toItem(c *connection.Connection) connectionItem {
	it := connectionItem{
		ID: c.ID, Location: c.Location, AccountsServer: c.AccountsServer, APIDomain: c.APIDomain,
		Environment: c.Environment, OrgID: c.OrgID, OrgName: c.OrgName, UserID: c.UserID,
		UserEmail: c.UserEmail, Scopes: c.Scopes, Status: string(c.Status), StatusReason: c.StatusReason,
		StatusChangedAt: formatTime(c.StatusChangedAt), TokenExpiresAt: Unix(c.TokenExpiresAt),
		SubmissionKeyID: c.SubmissionKeyID, SubmissionKeyHash: c.SubmissionHash, FieldMapping: c.FieldMapping,
		ConsecutiveFailures: c.ConsecutiveFailures, NextAttemptAt: Unix(c.NextAttemptAt), LastError: c.LastError,
		CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt), Version: c.Version,
	}
	if c.Status == connection.Active {
		it.RefreshShard = connection.RefreshShard(c.ID)
	}
	return it
}

func fromItem(it connectionItem) *connection.Connection {
	return &connection.Connection{
		ID: it.ID, Location: it.Location, AccountsServer: it.AccountsServer, APIDomain: it.APIDomain,
		Environment: it.Environment, OrgID: it.OrgID, OrgName: it.OrgName, UserID: it.UserID,
		UserEmail: it.UserEmail, Scopes: it.Scopes, Status: connection.Status(it.Status), StatusReason: it.StatusReason,
		StatusChangedAt: parseTime(it.StatusChangedAt), TokenExpiresAt: FromUnix(it.TokenExpiresAt),
		SubmissionKeyID: it.SubmissionKeyID, SubmissionHash: it.SubmissionKeyHash, FieldMapping: it.FieldMapping,
		ConsecutiveFailures: it.ConsecutiveFailures, NextAttemptAt: FromUnix(it.NextAttemptAt), LastError: it.LastError,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version,
	}
}

// ConnectionStore keeps connections in the connections table.
type ConnectionStore struct {
	DB    DynamoDB
	Table string
	Now   func() time.Time
}

// NewConnectionStore returns a store over the named table.
func NewConnectionStore(db DynamoDB, table string) *ConnectionStore {
	return &ConnectionStore{DB: db, Table: table, Now: time.Now}
}

// Get reads a connection (strongly consistent).
func (s *ConnectionStore) Get(ctx context.Context, id string) (*connection.Connection, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.Table,
		Key:            map[string]types.AttributeValue{"connection_id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	if out.Item == nil {
		return nil, connection.ErrNotFound
	}
	var it connectionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode connection: %w", err)
	}
	return fromItem(it), nil
}

// Update reads the connection, lets change edit it (a new connection, with
// only its ID set and Version 0, when none is stored), and writes it back
// only if nobody wrote in between; it tries again a few times when someone
// did. The lease attributes are never touched, so an update does not break
// a refresh in progress.
func (s *ConnectionStore) Update(ctx context.Context, id string, change func(c *connection.Connection) error) (*connection.Connection, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.Get(ctx, id)
		if errors.Is(err, connection.ErrNotFound) {
			c, err = &connection.Connection{ID: id}, nil
		}
		if err != nil {
			return nil, err
		}
		if err := change(c); err != nil {
			return nil, err
		}
		c.UpdatedAt = s.Now().UTC()
		if c.CreatedAt.IsZero() {
			c.CreatedAt = c.UpdatedAt
		}
		err = s.write(ctx, c)
		if errors.Is(err, connection.ErrConflict) && attempt < 4 {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Version++
		return c, nil
	}
}

// write sets every attribute of the item with one conditional UpdateItem.
func (s *ConnectionStore) write(ctx context.Context, c *connection.Connection) error {
	item, err := attributevalue.MarshalMap(toItem(c))
	if err != nil {
		return fmt.Errorf("encode connection: %w", err)
	}
	delete(item, "connection_id")
	names := map[string]string{"#version": "version"}
	values := map[string]types.AttributeValue{
		":one": &types.AttributeValueMemberN{Value: "1"},
	}
	keys := make([]string, 0, len(item))
	for k := range item {
		if k != "version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	set := "SET #version = if_not_exists(#version, :zero) + :one"
	values[":zero"] = &types.AttributeValueMemberN{Value: "0"}
	for i, k := range keys {
		n, v := "#a"+strconv.Itoa(i), ":a"+strconv.Itoa(i)
		names[n], values[v] = k, item[k]
		set += ", " + n + " = " + v
	}
	update := set
	if c.Status != connection.Active {
		names["#shard"] = "refresh_shard"
		update += " REMOVE #shard"
	}
	cond := "attribute_not_exists(connection_id)"
	if c.Version > 0 {
		cond = "#version = :expected"
		values[":expected"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(c.Version, 10)}
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       map[string]types.AttributeValue{"connection_id": &types.AttributeValueMemberS{Value: c.ID}},
		UpdateExpression:          &update,
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return connection.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	return nil
}

// Unix is t in unix seconds, 0 for the zero time: how the tables keep the
// times that conditions and indexes compare.
func Unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// FromUnix reads back what Unix wrote.
func FromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
