package connectionitem

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// A stream image in the JSON Lambda delivers reads as the same connection
// the store reads from the table.
func TestStreamImagesDecode(t *testing.T) {
	raw := `{
	  "connection_id": {"S": "zc_0123456789abcdef01234567"},
	  "location": {"S": "eu"}, "environment": {"S": "sandbox"}, "org_id": {"S": "org1"},
	  "status": {"S": "reauth_required"}, "status_reason": {"S": "invalid_code"},
	  "status_changed_at": {"S": "2030-01-01T10:00:00Z"},
	  "token_expires_at": {"N": "1893492000"}, "version": {"N": "7"},
	  "field_mapping": {"M": {"email": {"S": "Email"}}},
	  "consecutive_failures": {"N": "2"}, "flagged": {"BOOL": false}, "nothing": {"NULL": true},
	  "tags": {"L": [{"S": "a"}, {"N": "1"}]}, "set": {"SS": ["x", "y"]}
	}`
	var image map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal([]byte(raw), &image); err != nil {
		t.Fatal(err)
	}
	c, err := StreamImages{}.DecodeImage(image)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "zc_0123456789abcdef01234567" || c.Location != "eu" || c.Status != "reauth_required" || c.Version != 7 ||
		c.StatusReason != "invalid_code" || !c.StatusChangedAt.Equal(time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)) ||
		c.TokenExpiresAt.Unix() != 1893492000 || c.FieldMapping["email"] != "Email" || c.ConsecutiveFailures != 2 {
		t.Fatalf("decoded %+v", c)
	}
	var bad map[string]events.DynamoDBAttributeValue
	_ = json.Unmarshal([]byte(`{"version": {"S": "seven"}}`), &bad)
	if _, err := (StreamImages{}).DecodeImage(bad); err == nil {
		t.Fatal("a version that is not a number decoded")
	}
}
