package awsstore

// The adapters only the operator's command (cmd/zohoconnect) uses: a
// listing of the connections table, a look at a connection's token
// secrets that never reads their values, and the dead-letter queue.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Scanner is the part of the DynamoDB client a listing uses.
type Scanner interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ Scanner = (*dynamodb.Client)(nil)

// ConnectionLister reads the whole connections table. A Scan reads (and
// bills) every item whatever the filter, about 1 read unit per 8 KB of
// connections: a deployment's table is small, and only an operator lists it.
type ConnectionLister struct {
	DB    Scanner
	Table string
	// PageSize is the items one Scan request reads; 0: up to 1 MB.
	PageSize int32
}

// ScanStats is what a listing cost.
type ScanStats struct {
	Scanned      int     // items read
	Matched      int     // items that passed the filter
	Pages        int     // Scan requests
	CapacityUsed float64 // read units, when the service reports them
}

// List calls fn for every connection, or only those of status when it is
// not empty, in the table's order.
func (l *ConnectionLister) List(ctx context.Context, status connection.Status, fn func(*connection.Connection) error) (ScanStats, error) {
	var st ScanStats
	in := &dynamodb.ScanInput{
		TableName:              &l.Table,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if l.PageSize > 0 {
		in.Limit = aws.Int32(l.PageSize)
	}
	if status != "" {
		in.FilterExpression = aws.String("#status = :status")
		in.ExpressionAttributeNames = map[string]string{"#status": "status"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":status": &types.AttributeValueMemberS{Value: string(status)}}
	}
	p := dynamodb.NewScanPaginator(l.DB, in)
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
			var it connectionItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return st, fmt.Errorf("decode connection: %w", err)
			}
			st.Matched++
			if err := fn(fromItem(it)); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// SecretDescriber is the part of the Secrets Manager client that tells
// about a secret without reading its value.
type SecretDescriber interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

var _ SecretDescriber = (*secretsmanager.Client)(nil)

// SecretInfo is what an operator may know of a token secret: whether it
// exists and when it changed, never its value.
type SecretInfo struct {
	Kind        string // "access" or "refresh"
	Name        string
	Exists      bool
	LastChanged time.Time
	// DeletedAt is set when the secret is scheduled for deletion.
	DeletedAt time.Time
}

// TokenSecretInspector describes a connection's two token secrets.
type TokenSecretInspector struct {
	SM     SecretDescriber
	Prefix string
}

// Describe returns the access and the refresh secret of a connection.
func (i *TokenSecretInspector) Describe(ctx context.Context, id string) ([]SecretInfo, error) {
	v := TokenVault{Prefix: i.Prefix}
	out := []SecretInfo{{Kind: "access", Name: v.AccessSecretName(id)}, {Kind: "refresh", Name: v.RefreshSecretName(id)}}
	for k := range out {
		d, err := i.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(out[k].Name)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe secret %s: %w", out[k].Name, err)
		}
		out[k].Exists = true
		out[k].LastChanged = aws.ToTime(d.LastChangedDate)
		out[k].DeletedAt = aws.ToTime(d.DeletedDate)
	}
	return out, nil
}
