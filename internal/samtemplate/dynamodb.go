package samtemplate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTableInput is the one place a template table becomes a DynamoDB
// CreateTable request, named name, with its indexes and its stream
// (DynamoDB Local serves streams). SSE and point-in-time recovery are left
// out: they are account features that local services ignore or reject, and
// change nothing a test can see.
func CreateTableInput(t Table, name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingMode(t.BillingMode),
		KeySchema:   keySchema(t.KeySchema),
	}
	if t.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(t.StreamViewType),
		}
	}
	for _, ad := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(ad.AttributeName),
			AttributeType: types.ScalarAttributeType(ad.AttributeType),
		})
	}
	provisioned := in.BillingMode == types.BillingModeProvisioned
	var throughput *types.ProvisionedThroughput
	if provisioned {
		r, w := t.ReadCapacity, t.WriteCapacity
		if r == 0 {
			r = 5
		}
		if w == 0 {
			w = 5
		}
		throughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}
		in.ProvisionedThroughput = throughput
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:             aws.String(ix.IndexName),
			KeySchema:             keySchema(ix.KeySchema),
			Projection:            projection(ix),
			ProvisionedThroughput: throughput,
		})
	}
	for _, ix := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(ix.IndexName),
			KeySchema:  keySchema(ix.KeySchema),
			Projection: projection(ix),
		})
	}
	return in
}

// UpdateTimeToLiveInput turns on the table's TTL attribute; nil when the
// template sets none.
func UpdateTimeToLiveInput(t Table, name string) *dynamodb.UpdateTimeToLiveInput {
	if t.TTLAttribute == "" {
		return nil
	}
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(t.TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}

func keySchema(ks []KeyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       types.KeyType(k.KeyType),
		})
	}
	return out
}

func projection(ix Index) *types.Projection {
	p := &types.Projection{ProjectionType: types.ProjectionType(ix.ProjectionType)}
	if p.ProjectionType == "" {
		p.ProjectionType = types.ProjectionTypeAll
	}
	if len(ix.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = ix.NonKeyAttributes
	}
	return p
}
