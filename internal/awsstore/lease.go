package awsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// The refresh lease (connection.Lease) is taken by a refresh, and by the
// callback while it replaces a connection's tokens. The refresh's writes
// share three rules: each is one conditional UpdateItem; each bumps
// `version`, so that a callback's optimistic Update that read the item
// before sees the change and reads again; and each but AcquireLease is
// conditional on the caller still holding the lease (and the connection
// still active: connection.LeasedTo), so a run that lost its lease (it
// took longer than the lease) can never overwrite the work of the run
// that took it over, nor undo an operator's disconnect.

// AcquireLease takes the refresh lease of a connection for owner until
// until, if the connection may be leased for a token due by dueBy
// (connection.Leasable: active, its token expiring at or before dueBy,
// nobody else holding an unexpired lease). It answers the connection as
// it stands after the write, or false when any condition failed.
func (s *ConnectionStore) AcquireLease(ctx context.Context, id, owner string, now, until, dueBy time.Time) (*connection.Connection, bool, error) {
	cond := expression.AttributeExists(expression.Name(attrID)).
		And(expression.Name(attrStatus).Equal(expression.Value(string(connection.Active)))).
		And(expression.Name(attrTokenExpires).LessThanEqual(expression.Value(dueBy.Unix()))).
		And(leaseFree(now))
	expr, err := expression.NewBuilder().WithUpdate(setLease(bumpVersion(), owner, until)).WithCondition(cond).Build()
	if err != nil {
		return nil, false, fmt.Errorf("build the lease's update: %w", err)
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("acquire lease: %w", err)
	}
	c, err := decodeConnection(out.Attributes)
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// TakeLease takes a connection's lease for owner until until, whatever its
// status, if nobody else holds an unexpired one: the callback holds it while
// it replaces a connection's tokens, so that a refresh never runs with a
// refresh token that is being replaced and revoked. It answers false when
// someone else holds the lease or the connection does not exist.
func (s *ConnectionStore) TakeLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	cond := expression.AttributeExists(expression.Name(attrID)).And(leaseFree(now))
	return s.conditionalUpdate(ctx, id, setLease(expression.UpdateBuilder{}, owner, until), cond, "take lease")
}

// Lease reports who holds a connection's refresh lease and until when;
// an empty owner means nobody ever did or the last one released it.
func (s *ConnectionStore) Lease(ctx context.Context, id string) (owner string, until time.Time, err error) {
	expr, err := expression.NewBuilder().
		WithProjection(expression.NamesList(expression.Name(attrLeaseOwner), expression.Name(attrLeaseUntil))).Build()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("build the lease's projection: %w", err)
	}
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.Table,
		Key:                      connectionKey(id),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     expr.Projection(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read lease: %w", err)
	}
	var l struct {
		Owner string `dynamodbav:"lease_owner"`
		Until int64  `dynamodbav:"lease_expires_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &l); err != nil {
		return "", time.Time{}, fmt.Errorf("decode lease: %w", err)
	}
	return l.Owner, FromUnix(l.Until), nil
}

// ReleaseLease gives the lease back without recording anything. A lease
// that is no longer owner's is left alone.
func (s *ConnectionStore) ReleaseLease(ctx context.Context, id, owner string) error {
	update := expression.Remove(expression.Name(attrLeaseOwner)).Remove(expression.Name(attrLeaseUntil))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(leaseHeldBy(owner)).Build()
	if err != nil {
		return fmt.Errorf("build the lease's release: %w", err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       connectionKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// UpdateLeased records what a refresh holding owner's lease did: change
// makes it happen to the connection (connection.Refreshed, RefreshFailed,
// RefreshRefused, each of which ends the lease), and one UpdateItem,
// conditional on owner still holding the lease and the connection still
// active (connection.LeasedTo), writes what change changed and nothing
// else. The item is not read first: change is given a connection holding
// only its id, the active status and owner's lease. It fails with
// connection.ErrConflict when the condition does.
func (s *ConnectionStore) UpdateLeased(ctx context.Context, id, owner string, change func(*connection.Connection)) error {
	base := connection.Connection{ID: id, Status: connection.Active, Lease: connection.Lease{Owner: owner}}
	cond := leaseHeldBy(owner).And(expression.Name(attrStatus).Equal(expression.Value(string(connection.Active))))
	ok, err := s.writeChanges(ctx, base, cond, change)
	if err != nil {
		return err
	}
	if !ok {
		return connection.ErrConflict
	}
	return nil
}

// leaseFree is connection.Lease.Free: no lease, or one that expired
// before now (in the whole seconds the table keeps).
func leaseFree(now time.Time) expression.ConditionBuilder {
	until := expression.Name(attrLeaseUntil)
	return expression.AttributeNotExists(until).Or(until.LessThan(expression.Value(now.Unix())))
}

func leaseHeldBy(owner string) expression.ConditionBuilder {
	return expression.Name(attrLeaseOwner).Equal(expression.Value(owner))
}

func setLease(update expression.UpdateBuilder, owner string, until time.Time) expression.UpdateBuilder {
	return update.Set(expression.Name(attrLeaseOwner), expression.Value(owner)).
		Set(expression.Name(attrLeaseUntil), expression.Value(until.Unix()))
}
