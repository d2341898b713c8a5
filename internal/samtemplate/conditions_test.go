package samtemplate

import (
	"strings"
	"testing"
)

const conditional = `
Parameters:
  Url: {Type: String, Default: ""}
  Mode: {Type: String, Default: a}
Conditions:
  HasUrl: !Not [!Equals [!Ref Url, ""]]
  ModeB: !Equals [!Ref Mode, b]
  Both: !And [!Condition HasUrl, !Condition ModeB]
  Either: {"Fn::Or": [{"Condition": HasUrl}, !Condition ModeB]}
  Loop: !Not [!Condition Loop]
  Unknown: !If [HasUrl, a, b]
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-events"}
  Hook:
    Type: AWS::SQS::Queue
    Condition: HasUrl
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: KEYS_ONLY}
`

func TestConditions(t *testing.T) {
	tpl, err := Parse([]byte(conditional))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url, mode string
		want      map[string]bool
	}{
		{"", "a", map[string]bool{"HasUrl": false, "ModeB": false, "Both": false, "Either": false}},
		{"https://x", "a", map[string]bool{"HasUrl": true, "ModeB": false, "Both": false, "Either": true}},
		{"https://x", "b", map[string]bool{"HasUrl": true, "ModeB": true, "Both": true, "Either": true}},
		{"", "b", map[string]bool{"HasUrl": false, "ModeB": true, "Both": false, "Either": true}},
	} {
		vars := tpl.LocalVars()
		vars["Url"], vars["Mode"] = c.url, c.mode
		for name, want := range c.want {
			if got, err := tpl.ConditionTrue(name, vars); err != nil || got != want {
				t.Errorf("Url=%q Mode=%q: %s = %v, %v; want %v", c.url, c.mode, name, got, err, want)
			}
		}
	}
	vars := tpl.LocalVars()
	for name, wantErr := range map[string]string{"Loop": "itself", "Unknown": "not a condition", "Missing": "no condition"} {
		if _, err := tpl.ConditionTrue(name, vars); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, wantErr)
		}
	}
	if ok, err := tpl.Active("", vars); !ok || err != nil {
		t.Errorf("Active(\"\") = %v, %v", ok, err)
	}
	if q, _ := tpl.Queue("Hook"); q.Condition != "HasUrl" {
		t.Errorf("Hook's condition %q", q.Condition)
	}
	b, ok := tpl.EventBus("Bus")
	if !ok || b.Name.IsZero() {
		t.Fatalf("event bus %+v", b)
	}
	if name, err := b.Name.Resolve(vars); err != nil || name != "zohoconnect-local-events" {
		t.Errorf("bus name %q, %v", name, err)
	}
	items, _ := tpl.Table("Items")
	if in := CreateTableInput(items, "x"); items.StreamViewType != "KEYS_ONLY" || in.StreamSpecification == nil || in.StreamSpecification.StreamViewType != "KEYS_ONLY" {
		t.Errorf("stream %q, input %+v", items.StreamViewType, in.StreamSpecification)
	}

	if _, err := Parse([]byte("Resources: {Q: {Type: AWS::SQS::Queue, Condition: Nowhere}}")); err == nil || !strings.Contains(err.Error(), "Nowhere") {
		t.Errorf("a Condition the template lacks: err = %v", err)
	}
}
