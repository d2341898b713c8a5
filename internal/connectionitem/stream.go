package connectionitem

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// StreamImages reads connections from the connections table's stream
// records (Lambda's DynamoDB event), in the table's own item format.
type StreamImages struct{}

// DecodeImage reads one image.
func (StreamImages) DecodeImage(image map[string]events.DynamoDBAttributeValue) (*connection.Connection, error) {
	item := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := fromStream(v)
		if err != nil {
			return nil, fmt.Errorf("stream image attribute %s: %w", k, err)
		}
		item[k] = av
	}
	return Decode(item)
}

// fromStream converts Lambda's attribute value type into the SDK's.
func fromStream(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		if _, err := strconv.ParseFloat(v.Number(), 64); err != nil {
			return nil, fmt.Errorf("number %q", v.Number())
		}
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		out := make([]types.AttributeValue, 0, len(v.List()))
		for _, e := range v.List() {
			av, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			out = append(out, av)
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		out := make(map[string]types.AttributeValue, len(v.Map()))
		for k, e := range v.Map() {
			av, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
