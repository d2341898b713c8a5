package submissionstore

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

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// IdempotencyStore is the idempotency table: the sync function's
// exactly-once entries (partition idempotency_key, TTL expires_at). Every
// write is one conditional PutItem of the whole (small) item; times are
// kept, and compared, in whole unix seconds.
type IdempotencyStore struct {
	DB    awsstore.DynamoDB
	Table string
}

var _ submission.Idempotency = (*IdempotencyStore)(nil)

type idempotencyItem struct {
	Key             string `dynamodbav:"idempotency_key"`
	ConnectionID    string `dynamodbav:"connection_id"`
	Module          string `dynamodbav:"module"`
	Fingerprint     string `dynamodbav:"fingerprint"`
	SubmissionID    string `dynamodbav:"submission_id"`
	State           string `dynamodbav:"state"`
	ClaimToken      string `dynamodbav:"claim_token,omitempty"`
	ClaimExpiresAt  int64  `dynamodbav:"claim_expires_at,omitempty"`
	AnswerStatus    int    `dynamodbav:"answer_status,omitempty"`
	AnswerBody      string `dynamodbav:"answer_body,omitempty"`
	Record          []byte `dynamodbav:"record,omitempty"`
	QueuedAt        int64  `dynamodbav:"queued_at,omitempty"`
	HoldUntil       int64  `dynamodbav:"hold_until,omitempty"`
	MessageSent     bool   `dynamodbav:"message_sent,omitempty"`
	Attempts        int    `dynamodbav:"attempts,omitempty"`
	DeliveredStatus int    `dynamodbav:"delivered_status,omitempty"`
	RecordID        string `dynamodbav:"record_id,omitempty"`
	LastError       string `dynamodbav:"last_error,omitempty"`
	ExpiresAt       int64  `dynamodbav:"expires_at"`
}

func toIdempotencyItem(e *submission.Entry) idempotencyItem {
	return idempotencyItem{
		Key: e.Key, ConnectionID: e.ConnectionID, Module: e.Module, Fingerprint: e.Fingerprint,
		SubmissionID: e.SubmissionID, State: string(e.State), ClaimToken: e.ClaimToken,
		ClaimExpiresAt: awsstore.Unix(e.ClaimExpiresAt), AnswerStatus: e.Answer.Status, AnswerBody: e.Answer.Body,
		Record: e.Record, QueuedAt: awsstore.Unix(e.QueuedAt), HoldUntil: awsstore.Unix(e.HoldUntil), MessageSent: e.MessageSent, Attempts: e.Attempts,
		DeliveredStatus: e.DeliveredStatus, RecordID: e.RecordID, LastError: e.LastError, ExpiresAt: awsstore.Unix(e.ExpiresAt),
	}
}

func fromIdempotencyItem(it idempotencyItem) *submission.Entry {
	return &submission.Entry{
		Key: it.Key, ConnectionID: it.ConnectionID, Module: it.Module, Fingerprint: it.Fingerprint,
		SubmissionID: it.SubmissionID, State: submission.State(it.State), ClaimToken: it.ClaimToken,
		ClaimExpiresAt: awsstore.FromUnix(it.ClaimExpiresAt), Answer: submission.Answer{Status: it.AnswerStatus, Body: it.AnswerBody},
		Record: it.Record, QueuedAt: awsstore.FromUnix(it.QueuedAt), HoldUntil: awsstore.FromUnix(it.HoldUntil), MessageSent: it.MessageSent, Attempts: it.Attempts,
		DeliveredStatus: it.DeliveredStatus, RecordID: it.RecordID, LastError: it.LastError, ExpiresAt: awsstore.FromUnix(it.ExpiresAt),
	}
}

// The idempotency table's attributes that conditions name.
var (
	attrKey            = expression.Name("idempotency_key")
	attrState          = expression.Name("state")
	attrClaimToken     = expression.Name("claim_token")
	attrClaimExpiresAt = expression.Name("claim_expires_at")
	attrExpiresAt      = expression.Name("expires_at")
)

func stateIs(st submission.State) expression.ConditionBuilder {
	return attrState.Equal(expression.Value(string(st)))
}

// claimExpired: a claim whose claim_expires_at passed (a crashed run's).
// An entry without one (attribute absent) is not expired.
func claimExpired(now time.Time) expression.ConditionBuilder {
	return stateIs(submission.Claimed).And(attrClaimExpiresAt.LessThan(expression.Value(now.Unix())))
}

func claimedBy(owner string) expression.ConditionBuilder {
	return attrClaimToken.Equal(expression.Value(owner))
}

// Claim writes a new claim when the key is free: no item, an item past
// its TTL (DynamoDB deletes expired items only eventually), or a claim
// past its claim_expires_at (left by a crashed run). Otherwise the
// existing entry comes back, from the failed condition itself (no second
// read) — unless it is this very claim: when the SDK retries a PutItem
// whose first try was written but whose answer was lost (a timeout, a
// dropped connection), the retry's condition fails on the claim the first
// try wrote. Claim tokens are random per attempt, so an entry holding
// e.ClaimToken is ours, and the claim is won.
func (s *IdempotencyStore) Claim(ctx context.Context, e *submission.Entry, now time.Time) (*submission.Entry, error) {
	free := expression.AttributeNotExists(attrKey).
		Or(attrExpiresAt.LessThan(expression.Value(now.Unix())), claimExpired(now))
	err := s.put(ctx, e, free, true)
	var held *heldError
	if errors.As(err, &held) {
		prev := held.prev
		if prev == nil {
			if prev, err = s.Get(ctx, e.Key); err != nil {
				return nil, err
			}
		}
		if prev == nil { // gone in between: the caller may try again
			return nil, fmt.Errorf("claim: %w", submission.ErrClaimLost)
		}
		if prev.State == submission.Claimed && e.ClaimToken != "" && prev.ClaimToken == e.ClaimToken {
			return nil, nil
		}
		return prev, submission.ErrClaimHeld
	}
	return nil, err
}

// Take claims a queued entry, or one whose claim expired, for delivery
// from the queue.
func (s *IdempotencyStore) Take(ctx context.Context, e *submission.Entry, now time.Time) error {
	return s.put(ctx, e, stateIs(submission.Queued).Or(claimExpired(now)), false)
}

// Put writes e if the stored entry is still owner's.
func (s *IdempotencyStore) Put(ctx context.Context, e *submission.Entry, owner string) error {
	return s.put(ctx, e, claimedBy(owner), false)
}

// MarkSent writes e (its queue message sent) if the stored entry is still
// queued under e.ClaimToken: a consumer that took the entry meanwhile
// (a new claim token) or gave it up (rejected) is never undone.
func (s *IdempotencyStore) MarkSent(ctx context.Context, e *submission.Entry) error {
	return s.put(ctx, e, stateIs(submission.Queued).And(claimedBy(e.ClaimToken)), false)
}

// Requeue writes e (made queued again by Entry.Requeue) if the stored
// entry is still rejected, else ErrClaimLost: of two replays of the same
// dead letter, or a replay racing anything else, one wins.
func (s *IdempotencyStore) Requeue(ctx context.Context, e *submission.Entry) error {
	return s.put(ctx, e, stateIs(submission.Rejected), false)
}

// Release deletes an entry still claimed by owner.
func (s *IdempotencyStore) Release(ctx context.Context, key, owner string) error {
	expr, err := expression.NewBuilder().WithCondition(claimedBy(owner)).Build()
	if err != nil {
		return fmt.Errorf("build the release's condition: %w", err)
	}
	_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.Table,
		Key:                       map[string]types.AttributeValue{"idempotency_key": &types.AttributeValueMemberS{Value: key}},
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return submission.ErrClaimLost
	}
	if err != nil {
		return fmt.Errorf("release idempotency entry: %w", err)
	}
	return nil
}

// Get reads an entry (strongly consistent); nil when there is none or it
// is past its TTL.
func (s *IdempotencyStore) Get(ctx context.Context, key string) (*submission.Entry, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.Table,
		Key:            map[string]types.AttributeValue{"idempotency_key": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get idempotency entry: %w", err)
	}
	return decodeEntry(out.Item)
}

func decodeEntry(item map[string]types.AttributeValue) (*submission.Entry, error) {
	if item == nil {
		return nil, nil
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency entry: %w", err)
	}
	if it.ExpiresAt != 0 && it.ExpiresAt < time.Now().Unix() {
		return nil, nil
	}
	return fromIdempotencyItem(it), nil
}

type heldError struct{ prev *submission.Entry }

func (e *heldError) Error() string { return "idempotency entry held" }

func (s *IdempotencyStore) put(ctx context.Context, e *submission.Entry, cond expression.ConditionBuilder, returnOld bool) error {
	item, err := attributevalue.MarshalMap(toIdempotencyItem(e))
	if err != nil {
		return fmt.Errorf("encode idempotency entry: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build the idempotency entry's condition: %w", err)
	}
	in := &dynamodb.PutItemInput{
		TableName:                 &s.Table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if returnOld {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.DB.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if returnOld {
			prev, derr := decodeEntry(ccf.Item)
			if derr != nil {
				prev = nil
			}
			return &heldError{prev: prev}
		}
		return submission.ErrClaimLost
	}
	if err != nil {
		return fmt.Errorf("write idempotency entry: %w", err)
	}
	return nil
}
