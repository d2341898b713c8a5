// Package connectionitem is the connections table's item format: how a
// connection is kept in DynamoDB, read back from the table or from its
// stream. It links no AWS client, so EventsFunction, which only reads the
// stream, can read connections without linking DynamoDB's.
package connectionitem

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Item is a connection as the table holds it. Times that indexes
// or conditions compare are unix seconds.
type Item struct {
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
	TenantID            string            `dynamodbav:"tenant_id,omitempty"` // a GSI key: never empty
	Metadata            map[string]string `dynamodbav:"metadata,omitempty"`
	AllowedFields       []string          `dynamodbav:"allowed_fields,omitempty"`
	OnDuplicate         string            `dynamodbav:"on_duplicate,omitempty"`
	Edition             string            `dynamodbav:"edition,omitempty"`
	ConcurrencyLimit    int               `dynamodbav:"concurrency_limit,omitempty"`
	ConnectedAt         string            `dynamodbav:"connected_at,omitempty"`
	SessionID           string            `dynamodbav:"session_id,omitempty"`
	PreviousUserEmail   string            `dynamodbav:"previous_user_email,omitempty"`
	Connects            int               `dynamodbav:"connects,omitempty"`
	LastUsedAt          int64             `dynamodbav:"last_used_at,omitempty"`
	LeaseOwner          string            `dynamodbav:"lease_owner,omitempty"`
	LeaseExpiresAt      int64             `dynamodbav:"lease_expires_at,omitempty"`
	CreatedAt           string            `dynamodbav:"created_at"`
	UpdatedAt           string            `dynamodbav:"updated_at"`
	Version             int64             `dynamodbav:"version"`
}

func From(c *connection.Connection) Item {
	it := Item{
		ID: c.ID, Location: c.Location, AccountsServer: c.AccountsServer, APIDomain: c.APIDomain,
		Environment: c.Environment, OrgID: c.OrgID, OrgName: c.OrgName, UserID: c.UserID,
		UserEmail: c.UserEmail, Scopes: c.Scopes, Status: string(c.Status), StatusReason: c.StatusReason,
		StatusChangedAt: FormatTime(c.StatusChangedAt), TokenExpiresAt: Unix(c.TokenExpiresAt),
		SubmissionKeyID: c.SubmissionKeyID, SubmissionKeyHash: c.SubmissionHash, FieldMapping: c.FieldMapping,
		ConsecutiveFailures: c.ConsecutiveFailures, NextAttemptAt: Unix(c.NextAttemptAt), LastError: c.LastError,
		TenantID: c.TenantID, Metadata: c.Metadata, AllowedFields: c.AllowedFields, OnDuplicate: c.OnDuplicate,
		Edition: c.Edition, ConcurrencyLimit: c.ConcurrencyLimit,
		ConnectedAt: FormatTime(c.ConnectedAt), SessionID: c.SessionID, PreviousUserEmail: c.PreviousUserEmail, Connects: c.Connects,
		LastUsedAt: Unix(c.LastUsedAt), LeaseOwner: c.Lease.Owner, LeaseExpiresAt: Unix(c.Lease.Until),
		CreatedAt: FormatTime(c.CreatedAt), UpdatedAt: FormatTime(c.UpdatedAt), Version: c.Version,
	}
	if c.Refreshable() {
		it.RefreshShard = connection.RefreshShard(c.ID)
		if c.Idle {
			it.RefreshShard = connection.IdleShard(c.ID)
		}
	}
	return it
}

func (it Item) Connection() *connection.Connection {
	return &connection.Connection{
		ID: it.ID, Location: it.Location, AccountsServer: it.AccountsServer, APIDomain: it.APIDomain,
		Environment: it.Environment, OrgID: it.OrgID, OrgName: it.OrgName, UserID: it.UserID,
		UserEmail: it.UserEmail, Scopes: it.Scopes, Status: connection.Status(it.Status), StatusReason: it.StatusReason,
		StatusChangedAt: ParseTime(it.StatusChangedAt), TokenExpiresAt: FromUnix(it.TokenExpiresAt),
		SubmissionKeyID: it.SubmissionKeyID, SubmissionHash: it.SubmissionKeyHash, FieldMapping: it.FieldMapping,
		ConsecutiveFailures: it.ConsecutiveFailures, NextAttemptAt: FromUnix(it.NextAttemptAt), LastError: it.LastError,
		TenantID: it.TenantID, Metadata: it.Metadata, AllowedFields: it.AllowedFields, OnDuplicate: it.OnDuplicate,
		Edition: it.Edition, ConcurrencyLimit: it.ConcurrencyLimit,
		ConnectedAt: ParseTime(it.ConnectedAt), SessionID: it.SessionID, PreviousUserEmail: it.PreviousUserEmail, Connects: it.Connects,
		LastUsedAt: FromUnix(it.LastUsedAt), Idle: strings.HasPrefix(it.RefreshShard, connection.IdleShardPrefix),
		Lease:     connection.Lease{Owner: it.LeaseOwner, Until: FromUnix(it.LeaseExpiresAt)},
		CreatedAt: ParseTime(it.CreatedAt), UpdatedAt: ParseTime(it.UpdatedAt), Version: it.Version,
	}
}

// Optional are the attributes an item omits when they are empty (the
// lease's and the refresh shard's aside, which their writes own).
var Optional = []string{"tenant_id", "metadata", "allowed_fields", "on_duplicate", "edition", "concurrency_limit", "connected_at", "session_id", "previous_user_email", "connects", "last_used_at"}

// Decode reads a connection from an item.
func Decode(item map[string]types.AttributeValue) (*connection.Connection, error) {
	var it Item
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode connection: %w", err)
	}
	return it.Connection(), nil
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

// FormatTime is how the table keeps times nothing compares: RFC 3339, UTC.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseTime reads back what FormatTime wrote.
func ParseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
