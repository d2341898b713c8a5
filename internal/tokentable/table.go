// Package tokentable is the token store of TokenStore=DynamoDB: each
// connection's tokens sealed with envelope encryption under the
// template's KMS keys (AccessTokenKey, RefreshTokenKey) and kept in the
// tokens table (TokensTable, env TOKENS_TABLE), one item per connection.
//
// The separation of the Secrets Manager store holds: a function that may
// not read refresh tokens (SyncFunction) is given no Sealer for them and,
// in the template, no KMS permission that decrypts them (the refresh key's
// policy names only RefreshFunction for Decrypt, with the context's kind
// refresh; internal/samtemplate's key-policy test proves it on the SAM
// transform). A sealed refresh token in the table is ciphertext to it.
//
// Why a table of its own, not attributes of the connections table: sync,
// the product API and the operator read whole connection items, the
// connections table's stream carries every change to EventsFunction
// (tokens would reach its events' inputs, and every refresh would invoke
// it), and its due-index projects ALL (each token write would be written
// twice). Here a refresh writes one small item of its own.
package tokentable

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// The tokens table's attributes. Each sealed token is two binary
// attributes: its data key as KMS encrypted it (…_key) and the box.
const (
	attrID          = "connection_id"
	attrAccessKey   = "access_key"
	attrAccess      = "access"
	attrAccessAt    = "access_written_at" // N, unix ms
	attrRefreshKey  = "refresh_key"
	attrRefresh     = "refresh"
	attrRefreshSHA  = "refresh_sha" // hex SHA-256 of the refresh token: a retried write is no replacement
	attrRefreshAt   = "refresh_written_at"
	attrReplacedKey = "replaced_refresh_key"
	attrReplaced    = "replaced_refresh"
)

// DefaultWritesPerSecond paces a refresh run's token writes in this store
// (refresh.Pacer): each is one UpdateItem of about 0.5 KB (one write unit)
// and no KMS call while the data key is reused. An on-demand table takes
// 40,000 write units a second (its default quota) and a partition 1,000;
// connection ids spread the items, so the bound keeps a run at a fortieth
// of the table's quota and leaves the connections table's writes room.
const DefaultWritesPerSecond = 1000

// Store keeps tokens in the tokens table. Access seals access tokens;
// Refresh seals refresh tokens and is nil in a function that must never
// read one (its refresh methods then fail).
type Store struct {
	DB      DynamoDB
	Table   string
	Access  *Sealer
	Refresh *Sealer
	// WriteRate is WritesPerSecond's answer (DefaultWritesPerSecond when 0).
	WriteRate int
	Now       func() time.Time
	// Reseal (RefreshFunction's store): a refresh token read under
	// another data key than this store's current one is sealed again
	// under it, in the same write as the connection's next access token
	// (a refresh reads one, then writes the other). The callback seals
	// each instance's refresh tokens under a data key of its own every
	// five minutes, so without it the table would hold ever more data
	// keys, and a run would decrypt about one per connection; with it a
	// run meets the few keys of the runs before it. The write is
	// conditional on the token being the one read (its SHA-256): a
	// reconnect's new token is never replaced.
	Reseal bool

	mu      sync.Mutex
	pending map[string]reseal
}

// reseal is a refresh token sealed again, waiting for the access token
// write of the same connection.
type reseal struct {
	sealed Sealed
	sha    string
}

// maxPending bounds the reseals waiting (a refresh that failed at Zoho
// writes no access token).
const maxPending = 10_000

func refreshSHA(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ErrNoRefreshKey is the answer of a refresh-token method of a store
// built without the refresh key (SyncFunction's).
var ErrNoRefreshKey = errors.New("tokentable: this store has no refresh token key")

// WritesPerSecond is how fast a refresh run may write tokens to this
// store (refresh.NewPacer).
func (s *Store) WritesPerSecond() int {
	if s.WriteRate > 0 {
		return s.WriteRate
	}
	return DefaultWritesPerSecond
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func key(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{attrID: &ddbtypes.AttributeValueMemberS{Value: id}}
}

// accessJSON is the sealed access token's plaintext, the same JSON as the
// Secrets Manager store's access secret.
type accessJSON struct {
	AccessToken string    `json:"access_token"`
	APIDomain   string    `json:"api_domain"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PutAccessToken seals and stores a connection's access token.
func (s *Store) PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error {
	b, err := json.Marshal(accessJSON{AccessToken: t.Token.Reveal(), APIDomain: t.APIDomain, ExpiresAt: t.ExpiresAt})
	if err != nil {
		return err
	}
	sealed, err := s.Access.Seal(ctx, id, b)
	if err != nil {
		return err
	}
	upd := func() expression.UpdateBuilder {
		return expression.Set(expression.Name(attrAccessKey), expression.Value(sealed.Key)).
			Set(expression.Name(attrAccess), expression.Value(sealed.Box)).
			Set(expression.Name(attrAccessAt), expression.Value(s.now().UnixMilli()))
	}
	if r, ok := s.takeReseal(id); ok {
		both := upd().Set(expression.Name(attrRefreshKey), expression.Value(r.sealed.Key)).
			Set(expression.Name(attrRefresh), expression.Value(r.sealed.Box))
		_, err := s.updateIf(ctx, id, both, expression.Name(attrRefreshSHA).Equal(expression.Value(r.sha)))
		if !errors.Is(err, errCondition) {
			if err != nil {
				return fmt.Errorf("write the access token of %s: %w", id, err)
			}
			return nil
		}
		// The refresh token changed since it was read: write the access token alone.
	}
	return s.update(ctx, id, upd(), nil, "write the access token")
}

// AccessToken reads a connection's access token (connection.ErrNoToken
// when there is none). The read is strongly consistent: after an
// on-demand refresh, sync must see the new token.
func (s *Store) AccessToken(ctx context.Context, id string) (connection.AccessToken, error) {
	var t connection.AccessToken
	b, err := s.open(ctx, id, s.Access, attrAccessKey, attrAccess)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("the access token of %s is not valid JSON", id)
	}
	return t, nil
}

// PutRefreshToken seals and stores a connection's refresh token; the one
// it replaces is kept for its revocation (ReplacedRefreshToken). The same
// token again (a retried write) replaces nothing.
func (s *Store) PutRefreshToken(ctx context.Context, id, refreshToken string) error {
	if s.Refresh == nil {
		return ErrNoRefreshKey
	}
	sealed, err := s.Refresh.Seal(ctx, id, []byte(refreshToken))
	if err != nil {
		return err
	}
	sha := refreshSHA(refreshToken)
	// The builders share their maps: each is made whole.
	set := func() expression.UpdateBuilder {
		return expression.Set(expression.Name(attrRefreshKey), expression.Value(sealed.Key)).
			Set(expression.Name(attrRefresh), expression.Value(sealed.Box)).
			Set(expression.Name(attrRefreshSHA), expression.Value(sha)).
			Set(expression.Name(attrRefreshAt), expression.Value(s.now().UnixMilli()))
	}
	// The item's values before the update are the right-hand sides, so
	// the current token moves to replaced in the same write.
	replace := func() expression.UpdateBuilder {
		return set().Set(expression.Name(attrReplacedKey), expression.Name(attrRefreshKey)).
			Set(expression.Name(attrReplaced), expression.Name(attrRefresh))
	}
	differs := expression.AttributeExists(expression.Name(attrRefresh)).
		And(expression.Name(attrRefreshSHA).NotEqual(expression.Value(sha)))
	first := expression.AttributeNotExists(expression.Name(attrRefresh))
	for range 3 {
		old, err := s.updateIf(ctx, id, replace(), differs)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errCondition) {
			return fmt.Errorf("write the refresh token of %s: %w", id, err)
		}
		if v, ok := old[attrRefreshSHA].(*ddbtypes.AttributeValueMemberS); ok && v.Value == sha {
			return nil // stored already
		}
		if _, err := s.updateIf(ctx, id, set(), first); err == nil {
			return nil
		} else if !errors.Is(err, errCondition) {
			return fmt.Errorf("write the refresh token of %s: %w", id, err)
		}
		// Another writer came between the two: look again.
	}
	return fmt.Errorf("write the refresh token of %s: it kept changing under this write", id)
}

// RefreshToken reads a connection's refresh token.
func (s *Store) RefreshToken(ctx context.Context, id string) (string, error) {
	rt, _, err := s.RefreshTokenWritten(ctx, id)
	return rt, err
}

// RefreshTokenWritten reads a connection's refresh token and when it was
// written (the migration compares it with the other store's).
func (s *Store) RefreshTokenWritten(ctx context.Context, id string) (string, time.Time, error) {
	if s.Refresh == nil {
		return "", time.Time{}, ErrNoRefreshKey
	}
	item, err := s.get(ctx, id, attrRefreshKey, attrRefresh, attrRefreshAt)
	if err != nil {
		return "", time.Time{}, err
	}
	b, err := s.openItem(ctx, id, item, s.Refresh, attrRefreshKey, attrRefresh)
	if err != nil {
		return "", time.Time{}, err
	}
	if s.Reseal {
		s.stashReseal(ctx, id, item, string(b))
	}
	var at time.Time
	if n, ok := item[attrRefreshAt].(*ddbtypes.AttributeValueMemberN); ok {
		if ms, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			at = time.UnixMilli(ms).UTC()
		}
	}
	return string(b), at, nil
}

// ReplacedRefreshToken reads the refresh token the last new one replaced
// (connection.ErrNoToken when none).
func (s *Store) ReplacedRefreshToken(ctx context.Context, id string) (string, error) {
	if s.Refresh == nil {
		return "", ErrNoRefreshKey
	}
	b, err := s.open(ctx, id, s.Refresh, attrReplacedKey, attrReplaced)
	return string(b), err
}

func (s *Store) stashReseal(ctx context.Context, id string, item map[string]ddbtypes.AttributeValue, token string) {
	k, _ := item[attrRefreshKey].(*ddbtypes.AttributeValueMemberB)
	if k == nil || s.Refresh.IsCurrent(Sealed{Key: k.Value}) {
		return
	}
	sealed, err := s.Refresh.Seal(ctx, id, []byte(token))
	if err != nil {
		return // sealed again another time
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]reseal{}
	}
	if len(s.pending) < maxPending {
		s.pending[id] = reseal{sealed: sealed, sha: refreshSHA(token)}
	}
}

func (s *Store) takeReseal(id string) (reseal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.pending[id]
	delete(s.pending, id)
	return r, ok
}

// Delete removes a connection's tokens; what is already gone is no error.
func (s *Store) Delete(ctx context.Context, id string) error {
	s.takeReseal(id)
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key(id)})
	if err != nil {
		return fmt.Errorf("delete the tokens of %s: %w", id, err)
	}
	return nil
}

var errCondition = errors.New("condition failed")

func (s *Store) update(ctx context.Context, id string, upd expression.UpdateBuilder, cond *expression.ConditionBuilder, what string) error {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(id),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("%s of %s: %w", what, id, err)
	}
	return nil
}

// updateIf writes upd when cond holds; else errCondition and the item's
// values as they were (when the service returns them).
func (s *Store) updateIf(ctx context.Context, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (map[string]ddbtypes.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(id),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, errCondition
	}
	return nil, err
}

func (s *Store) get(ctx context.Context, id string, attrs ...string) (map[string]ddbtypes.AttributeValue, error) {
	var proj expression.ProjectionBuilder
	for _, a := range attrs {
		proj = proj.AddNames(expression.Name(a))
	}
	expr, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		return nil, err
	}
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return nil, fmt.Errorf("read the tokens of %s: %w", id, err)
	}
	return out.Item, nil
}

func (s *Store) open(ctx context.Context, id string, sealer *Sealer, keyAttr, boxAttr string) ([]byte, error) {
	item, err := s.get(ctx, id, keyAttr, boxAttr)
	if err != nil {
		return nil, err
	}
	return s.openItem(ctx, id, item, sealer, keyAttr, boxAttr)
}

func (s *Store) openItem(ctx context.Context, id string, item map[string]ddbtypes.AttributeValue, sealer *Sealer, keyAttr, boxAttr string) ([]byte, error) {
	k, ok1 := item[keyAttr].(*ddbtypes.AttributeValueMemberB)
	box, ok2 := item[boxAttr].(*ddbtypes.AttributeValueMemberB)
	if !ok1 || !ok2 {
		return nil, connection.ErrNoToken
	}
	return sealer.Open(ctx, id, Sealed{Key: k.Value, Box: box.Value})
}

// Describe says whether a connection's tokens are in the table and when
// each was written, never their values (the operator's connections show;
// admin.SecretInspector).
func (s *Store) Describe(ctx context.Context, id string) ([]awsstore.SecretInfo, error) {
	item, err := s.get(ctx, id, attrAccessAt, attrRefreshAt)
	if err != nil {
		return nil, err
	}
	out := []awsstore.SecretInfo{{Kind: KindAccess, Name: s.Table + " " + id + " access"}, {Kind: KindRefresh, Name: s.Table + " " + id + " refresh"}}
	for i, attr := range []string{attrAccessAt, attrRefreshAt} {
		if n, ok := item[attr].(*ddbtypes.AttributeValueMemberN); ok {
			if ms, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				out[i].Exists, out[i].LastChanged = true, time.UnixMilli(ms).UTC()
			}
		}
	}
	return out, nil
}
