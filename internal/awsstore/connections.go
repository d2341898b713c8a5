// Package awsstore holds the AWS adapters of the connection domain, one
// store per table: the connections table (ConnectionStore) and the states
// table (StateStore) in DynamoDB, and tokens and client credentials in
// Secrets Manager (TokenVault, CachedSecret). Stores only translate: what
// happens to a connection is decided by its methods (internal/connection),
// and a store writes it with conditions and updates built as values
// (feature/dynamodb/expression), never spliced into strings.
package awsstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connectionitem"
)

// DynamoDB is the part of the DynamoDB client the stores use.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// The connections table's attributes that conditions, updates and the
// due index name.
const (
	attrID           = "connection_id"
	attrStatus       = "status"
	attrTokenExpires = "token_expires_at"
	attrShard        = "refresh_shard"
	attrFailures     = "consecutive_failures"
	attrLeaseOwner   = "lease_owner"
	attrLeaseUntil   = "lease_expires_at"
	attrUpdatedAt    = "updated_at"
	attrVersion      = "version"
)

// fieldAttributes are the attributes of the domain's fields that
// transitions change (FieldLease is two: lease_owner, lease_expires_at).
var fieldAttributes = map[connection.Field]string{
	connection.FieldStatus:              attrStatus,
	connection.FieldStatusReason:        "status_reason",
	connection.FieldStatusChangedAt:     "status_changed_at",
	connection.FieldTokenExpiresAt:      attrTokenExpires,
	connection.FieldConsecutiveFailures: attrFailures,
	connection.FieldNextAttemptAt:       "next_attempt_at",
	connection.FieldLastError:           "last_error",
	connection.FieldUpdatedAt:           attrUpdatedAt,
}

// ConnectionStore is the connections table: every use case's reads and
// writes of it, each one request (Update reads, then writes):
//
//   - Get, Update: the callback's and the operator's read-modify-write,
//     optimistic on the item's version (connections.go);
//   - AcquireLease, Lease, ReleaseLease, TakeLease and UpdateLeased: the
//     refresh lease and the writes made under it (lease.go);
//   - UpdateActive: sync's status-only write (status.go);
//   - RecordUse: sync's record of a use, at most one an hour
//     (connections_use.go);
//   - DuePage, MarkIdle: a refresh worker's page of the due index from a
//     cursor, and an idle connection moved to the index's idle part
//     (connections_due.go);
//   - DueConnections, List: the due index and the operator's listing
//     (query.go).
//
// The writes that do not read the item first (UpdateLeased, UpdateActive)
// write what the domain's transition changed and nothing else (changes.go).
type ConnectionStore struct {
	DB    DynamoDB
	Table string
	Now   func() time.Time
	// PageSize is the items one Scan request of List reads; 0: up to 1 MB.
	PageSize int32
}

// NewConnectionStore returns a store over the named table.
func NewConnectionStore(db DynamoDB, table string) *ConnectionStore {
	return &ConnectionStore{DB: db, Table: table, Now: time.Now}
}

// Get reads a connection (strongly consistent).
func (s *ConnectionStore) Get(ctx context.Context, id string) (*connection.Connection, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.Table,
		Key:            connectionKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	if out.Item == nil {
		return nil, connection.ErrNotFound
	}
	return decodeConnection(out.Item)
}

// Update reads the connection, lets change edit it (a new connection, with
// only its ID set and Version 0, when none is stored), and writes it back
// only if nobody wrote in between; it tries again a few times when someone
// did. The lease attributes are never touched, so an update does not break
// a refresh in progress. updated_at is the time change gave it
// (connection.FieldUpdatedAt), else the store's clock.
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
		if !c.Changes().Has(connection.FieldUpdatedAt) {
			c.UpdatedAt = s.Now().UTC()
		}
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
		c.ClearChanges()
		return c, nil
	}
}

// write sets every attribute of the item but the lease with one UpdateItem,
// conditional on the version read (or on there being no item), and keeps
// the item in the due index only while the connection is refreshable.
func (s *ConnectionStore) write(ctx context.Context, c *connection.Connection) error {
	item, err := attributevalue.MarshalMap(connectionitem.From(c))
	if err != nil {
		return fmt.Errorf("encode connection: %w", err)
	}
	for _, k := range []string{attrID, attrVersion, attrLeaseOwner, attrLeaseUntil} {
		delete(item, k)
	}
	keys := make([]string, 0, len(item))
	for k := range item {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	update := bumpVersion()
	for _, k := range keys {
		update = update.Set(expression.Name(k), expression.Value(item[k]))
	}
	if !c.Refreshable() {
		update = update.Remove(expression.Name(attrShard))
	}
	// An optional attribute left empty is removed, not kept from before:
	// an emptied setting is gone, and tenant_id (an index key) is never
	// written empty.
	for _, k := range connectionitem.Optional {
		if _, set := item[k]; !set {
			update = update.Remove(expression.Name(k))
		}
	}
	cond := expression.AttributeNotExists(expression.Name(attrID))
	if c.Version > 0 {
		cond = expression.Name(attrVersion).Equal(expression.Value(c.Version))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build the connection's update: %w", err)
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
		return connection.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	return nil
}

// bumpVersion starts every write's update: version counts writes, so that
// an optimistic Update that read the item before sees any write since.
func bumpVersion() expression.UpdateBuilder {
	v := expression.Name(attrVersion)
	return expression.Set(v, expression.Plus(v.IfNotExists(expression.Value(0)), expression.Value(1)))
}

func decodeConnection(item map[string]types.AttributeValue) (*connection.Connection, error) {
	return connectionitem.Decode(item)
}

func connectionKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrID: &types.AttributeValueMemberS{Value: id}}
}

// conditionFailed reports whether err is a failed condition: a lost race,
// or an item not in the state the write requires.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Unix is t in unix seconds, 0 for the zero time: how the tables keep the
// times that conditions and indexes compare.
func Unix(t time.Time) int64 { return connectionitem.Unix(t) }

// FromUnix reads back what Unix wrote.
func FromUnix(n int64) time.Time { return connectionitem.FromUnix(n) }

func formatTime(t time.Time) string { return connectionitem.FormatTime(t) }
