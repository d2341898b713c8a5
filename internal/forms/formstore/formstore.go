// Package formstore keeps public forms in the forms table (FormsTable,
// env FORMS_TABLE): partition form_id, GSI connection-index (partition
// connection_id) for a connection's forms. The product API creates,
// lists and deletes (PutItem, Query, GetItem, DeleteItem); SyncFunction,
// which serves /f/{form_id}, may only GetItem (template.yaml).
package formstore

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
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ConnectionIndex is the forms table's index by connection.
const ConnectionIndex = "connection-index"

// Store is the forms table.
type Store struct {
	DB    awsstore.DynamoDB
	Table string
}

var _ forms.Store = (*Store)(nil)

type item struct {
	ID              string            `dynamodbav:"form_id"`
	ConnectionID    string            `dynamodbav:"connection_id"`
	Module          string            `dynamodbav:"module"`
	AllowedOrigins  []string          `dynamodbav:"allowed_origins"`
	RedirectURL     string            `dynamodbav:"redirect_url,omitempty"`
	FieldMapping    map[string]string `dynamodbav:"field_mapping,omitempty"`
	RequiredFields  []string          `dynamodbav:"required_fields,omitempty"`
	HoneypotField   string            `dynamodbav:"honeypot_field,omitempty"`
	CaptchaProvider string            `dynamodbav:"captcha_provider,omitempty"`
	CaptchaSecret   string            `dynamodbav:"captcha_secret,omitempty"`
	CaptchaSiteKey  string            `dynamodbav:"captcha_site_key,omitempty"`
	RateLimit       int               `dynamodbav:"rate_limit_per_minute"`
	CreatedAt       int64             `dynamodbav:"created_at"`
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"form_id": &types.AttributeValueMemberS{Value: id}}
}

func toItem(f *forms.Form) item {
	it := item{
		ID: f.ID, ConnectionID: f.ConnectionID, Module: f.Module, AllowedOrigins: f.AllowedOrigins,
		RedirectURL: f.RedirectURL, FieldMapping: f.FieldMapping, RequiredFields: f.RequiredFields,
		HoneypotField: f.HoneypotField, RateLimit: f.RateLimitPerMinute, CreatedAt: f.CreatedAt.UnixMilli(),
	}
	if f.Captcha != nil {
		it.CaptchaProvider, it.CaptchaSecret, it.CaptchaSiteKey = string(f.Captcha.Provider), f.Captcha.Secret.Reveal(), f.Captcha.SiteKey
	}
	return it
}

func (it item) form() *forms.Form {
	f := &forms.Form{
		ID: it.ID, ConnectionID: it.ConnectionID, Module: it.Module, AllowedOrigins: it.AllowedOrigins,
		RedirectURL: it.RedirectURL, FieldMapping: it.FieldMapping, RequiredFields: it.RequiredFields,
		HoneypotField: it.HoneypotField, RateLimitPerMinute: it.RateLimit, CreatedAt: time.UnixMilli(it.CreatedAt).UTC(),
	}
	if it.CaptchaProvider != "" {
		f.Captcha = &forms.Captcha{Provider: captcha.Provider(it.CaptchaProvider), Secret: zoho.Secret(it.CaptchaSecret), SiteKey: it.CaptchaSiteKey}
	}
	return f
}

// Create stores a new form; it never overwrites one.
func (s *Store) Create(ctx context.Context, f *forms.Form) error {
	av, err := attributevalue.MarshalMap(toItem(f))
	if err != nil {
		return fmt.Errorf("encode form: %w", err)
	}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("form_id"))).Build()
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table, Item: av,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(),
	})
	if err != nil {
		return fmt.Errorf("store form: %w", err)
	}
	return nil
}

// Get reads a form, strongly consistent (a deleted form is gone at once).
func (s *Store) Get(ctx context.Context, id string) (*forms.Form, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	if out.Item == nil {
		return nil, forms.ErrNotFound
	}
	var it item
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode form: %w", err)
	}
	return it.form(), nil
}

// ListByConnection queries the connection index (never a scan).
func (s *Store) ListByConnection(ctx context.Context, connectionID string) ([]*forms.Form, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("connection_id").Equal(expression.Value(connectionID))).Build()
	if err != nil {
		return nil, err
	}
	var out []*forms.Form
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(ConnectionIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list forms: %w", err)
		}
		for _, av := range page.Items {
			var it item
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("decode form: %w", err)
			}
			out = append(out, it.form())
		}
	}
	return out, nil
}

// Delete removes a form; an unknown one is forms.ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) error {
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name("form_id"))).Build()
	if err != nil {
		return err
	}
	_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.Table, Key: key(id),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return forms.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete form: %w", err)
	}
	return nil
}
