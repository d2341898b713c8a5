package submissionstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// RateCounter keeps the rate limit's fixed-window counters in the
// idempotency table: one item per connection and window, keyed
// rl_<connection_id>_<window start, unix seconds> (never a submission's
// key: those start b_ or h_), with the table's TTL. A take is one
// UpdateItem: ADD count 1 under the condition that the item has no count
// yet or a count below the limit, so concurrent takes from every instance
// never count past it, and a refused take writes nothing.
type RateCounter struct {
	DB    awsstore.DynamoDB
	Table string
}

var _ submission.RateCounter = (*RateCounter)(nil)

var attrCount = expression.Name("count")

// RateCounterKey is the counter item's key of connection id's window.
func RateCounterKey(id string, window time.Time) string {
	return "rl_" + id + "_" + strconv.FormatInt(window.Unix(), 10)
}

func (r *RateCounter) Take(ctx context.Context, id string, window time.Time, limit int, expiresAt time.Time) error {
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(attrCount, expression.Value(1)).
			Set(attrExpiresAt, expression.Value(awsstore.Unix(expiresAt)))).
		WithCondition(expression.Or(
			expression.AttributeNotExists(attrCount),
			expression.LessThan(attrCount, expression.Value(limit)))).
		Build()
	if err != nil {
		return err
	}
	_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(r.Table),
		Key:                       map[string]types.AttributeValue{"idempotency_key": &types.AttributeValueMemberS{Value: RateCounterKey(id, window)}},
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return submission.ErrRateLimited
	case err != nil:
		return fmt.Errorf("rate counter: update item: %w", err)
	}
	return nil
}
