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

// SlotStore is the concurrency table (ConcurrencyTable): one item per
// slot of an org's CRM concurrency (partition slot, e.g.
// org#eu/production/<org id>#3), holding its lease: owner and
// lease_until (unix milliseconds), and expires_at (the table's TTL, a
// day after the lease: only tidying, never read as the lease). A take is
// one conditional PutItem (no item, or its lease ended), a release one
// DeleteItem conditional on the owner, a hold one PutItem conditional on
// the lease ending sooner. No submitted value or token is stored.
type SlotStore struct {
	DB    awsstore.DynamoDB
	Table string
}

var _ submission.SlotStore = (*SlotStore)(nil)

var (
	attrSlot       = expression.Name("slot")
	attrOwner      = expression.Name("owner")
	attrLeaseUntil = expression.Name("lease_until")
)

// slotTidy is how long after its lease a slot item is kept (TTL).
const slotTidy = 24 * time.Hour

func (s *SlotStore) put(ctx context.Context, slot, owner string, until time.Time, cond expression.ConditionBuilder) error {
	return s.putReturning(ctx, slot, owner, until, cond, types.ReturnValuesOnConditionCheckFailureNone)
}

// putReturning is put, asking for the item a failed condition found
// (ConditionalCheckFailedException.Item) when rv says so.
func (s *SlotStore) putReturning(ctx context.Context, slot, owner string, until time.Time, cond expression.ConditionBuilder, rv types.ReturnValuesOnConditionCheckFailure) error {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item: map[string]types.AttributeValue{
			"slot":        &types.AttributeValueMemberS{Value: slot},
			"owner":       &types.AttributeValueMemberS{Value: owner},
			"lease_until": &types.AttributeValueMemberN{Value: strconv.FormatInt(until.UnixMilli(), 10)},
			"expires_at":  &types.AttributeValueMemberN{Value: strconv.FormatInt(awsstore.Unix(until.Add(slotTidy)), 10)},
		},
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: rv,
	})
	return err
}

// Take asks for the item its condition failed on (no extra read, no
// extra cost), to tell a held slot from a leased one.
func (s *SlotStore) Take(ctx context.Context, slot, owner string, now, until time.Time) error {
	err := s.putReturning(ctx, slot, owner, until, expression.Or(
		expression.AttributeNotExists(attrSlot),
		expression.LessThanEqual(attrLeaseUntil, expression.Value(now.UnixMilli()))),
		types.ReturnValuesOnConditionCheckFailureAllOld)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		if o, ok := ccf.Item["owner"].(*types.AttributeValueMemberS); ok && o.Value == submission.HoldOwner {
			return submission.ErrSlotHeld
		}
		return submission.ErrSlotTaken
	case err != nil:
		return fmt.Errorf("concurrency slot: take: %w", err)
	}
	return nil
}

func (s *SlotStore) Release(ctx context.Context, slot, owner string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Equal(attrOwner, expression.Value(owner))).Build()
	if err != nil {
		return err
	}
	_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       map[string]types.AttributeValue{"slot": &types.AttributeValueMemberS{Value: slot}},
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return nil // another's now: left as it is
	case err != nil:
		return fmt.Errorf("concurrency slot: release: %w", err)
	}
	return nil
}

func (s *SlotStore) Hold(ctx context.Context, slot string, until time.Time) error {
	err := s.put(ctx, slot, submission.HoldOwner, until, expression.Or(
		expression.AttributeNotExists(attrSlot),
		expression.LessThan(attrLeaseUntil, expression.Value(until.UnixMilli()))))
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return nil // held longer already
	case err != nil:
		return fmt.Errorf("concurrency slot: hold: %w", err)
	}
	return nil
}
