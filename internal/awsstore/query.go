package awsstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// DueIndex is the sparse index of refreshable connections by refresh
// shard and token expiry (template.yaml, ConnectionsTable).
const DueIndex = "due-index"

// DueConnections lists the active connections of one refresh shard ("00"
// .. "15") whose access token expires at or before before, soonest first.
// limit bounds the answer (0: all); pages are followed. The index is
// eventually consistent: the lease write re-checks what matters.
func (s *ConnectionStore) DueConnections(ctx context.Context, shard string, before time.Time, limit int) ([]*connection.Connection, error) {
	key := expression.Key(attrShard).Equal(expression.Value(shard)).
		And(expression.Key(attrTokenExpires).LessThanEqual(expression.Value(before.Unix())))
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, fmt.Errorf("build the due query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.Table,
		IndexName:                 aws.String(DueIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
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
			c, err := decodeConnection(item)
			if err != nil {
				return out, err
			}
			out = append(out, c)
		}
		if len(page.LastEvaluatedKey) == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ScanStats is what a listing cost.
type ScanStats struct {
	Scanned      int     // items read
	Matched      int     // items that passed the filter
	Pages        int     // Scan requests
	CapacityUsed float64 // read units, when the service reports them
}

// List calls fn for every connection, or only those of status when it is
// not empty, in the table's order, for the operator's command. A Scan
// reads (and bills) every item whatever the filter, about 1 read unit per
// 8 KB of connections: a deployment's table is small, and only an
// operator lists it.
func (s *ConnectionStore) List(ctx context.Context, status connection.Status, fn func(*connection.Connection) error) (ScanStats, error) {
	var st ScanStats
	in := &dynamodb.ScanInput{
		TableName:              &s.Table,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if s.PageSize > 0 {
		in.Limit = aws.Int32(s.PageSize)
	}
	if status != "" {
		expr, err := expression.NewBuilder().
			WithFilter(expression.Name(attrStatus).Equal(expression.Value(string(status)))).Build()
		if err != nil {
			return st, fmt.Errorf("build the listing's filter: %w", err)
		}
		in.FilterExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Filter(), expr.Names(), expr.Values()
	}
	p := dynamodb.NewScanPaginator(s.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return st, fmt.Errorf("scan connections: %w", err)
		}
		st.Pages++
		st.Scanned += int(page.ScannedCount)
		if page.ConsumedCapacity != nil {
			st.CapacityUsed += aws.ToFloat64(page.ConsumedCapacity.CapacityUnits)
		}
		for _, item := range page.Items {
			c, err := decodeConnection(item)
			if err != nil {
				return st, err
			}
			st.Matched++
			if err := fn(c); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// TenantIndex is the sparse index of connections by tenant (template.yaml,
// ConnectionsTable).
const TenantIndex = "tenant-index"

// ListPage answers one page of connections, for the product API: a
// tenant's through TenantIndex (a Query, never a Scan), or every
// connection by a paged Scan when q names no tenant. A status is a filter,
// so a page may hold fewer than q.Limit and still have a next one. The
// cursor is the page's last key, as opaque base64url JSON, checked when it
// comes back.
func (s *ConnectionStore) ListPage(ctx context.Context, q connection.Query) (connection.Page, error) {
	start, err := decodeCursor(q.Cursor, q.TenantID)
	if err != nil {
		return connection.Page{}, err
	}
	var filter *expression.ConditionBuilder
	if q.Status != "" {
		f := expression.Name(attrStatus).Equal(expression.Value(string(q.Status)))
		filter = &f
	}
	var items []map[string]types.AttributeValue
	var last map[string]types.AttributeValue
	if q.TenantID != "" {
		b := expression.NewBuilder().WithKeyCondition(expression.Key(attrTenant).Equal(expression.Value(q.TenantID)))
		if filter != nil {
			b = b.WithFilter(*filter)
		}
		expr, err := b.Build()
		if err != nil {
			return connection.Page{}, fmt.Errorf("build the tenant query: %w", err)
		}
		out, err := s.DB.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.Table, IndexName: aws.String(TenantIndex), Limit: aws.Int32(int32(q.Limit)), ExclusiveStartKey: start,
			KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		})
		if err != nil {
			return connection.Page{}, fmt.Errorf("query %s: %w", TenantIndex, err)
		}
		items, last = out.Items, out.LastEvaluatedKey
	} else {
		in := &dynamodb.ScanInput{TableName: &s.Table, Limit: aws.Int32(int32(q.Limit)), ExclusiveStartKey: start}
		if filter != nil {
			expr, err := expression.NewBuilder().WithFilter(*filter).Build()
			if err != nil {
				return connection.Page{}, fmt.Errorf("build the listing's filter: %w", err)
			}
			in.FilterExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Filter(), expr.Names(), expr.Values()
		}
		out, err := s.DB.Scan(ctx, in)
		if err != nil {
			return connection.Page{}, fmt.Errorf("scan connections: %w", err)
		}
		items, last = out.Items, out.LastEvaluatedKey
	}
	page := connection.Page{Connections: make([]*connection.Connection, 0, len(items))}
	for _, item := range items {
		c, err := decodeConnection(item)
		if err != nil {
			return connection.Page{}, err
		}
		page.Connections = append(page.Connections, c)
	}
	if len(last) > 0 {
		if page.NextCursor, err = encodeCursor(last); err != nil {
			return connection.Page{}, err
		}
	}
	return page, nil
}

const attrTenant = "tenant_id"

// encodeCursor writes a page's last key (string attributes only).
func encodeCursor(key map[string]types.AttributeValue) (string, error) {
	m := make(map[string]string, len(key))
	for k, v := range key {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("a page key attribute %s is not a string", k)
		}
		m[k] = sv.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor reads a cursor back, accepting only what encodeCursor
// writes for the same query: a connection id, and the tenant's id when
// the query is a tenant's.
func decodeCursor(cursor, tenant string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) > 1024 {
		return nil, connection.ErrBadCursor
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || !connection.ValidID(m[attrID]) {
		return nil, connection.ErrBadCursor
	}
	want := 1
	if tenant != "" {
		want = 2
		if m[attrTenant] != tenant {
			return nil, connection.ErrBadCursor
		}
	}
	if len(m) != want {
		return nil, connection.ErrBadCursor
	}
	key := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}
