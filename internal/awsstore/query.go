package awsstore

import (
	"context"
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
