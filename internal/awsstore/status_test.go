package awsstore

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// updateOnly records UpdateItem requests; every other call fails.
type updateOnly struct {
	DynamoDB
	in  []*dynamodb.UpdateItemInput
	err error
}

func (u *updateOnly) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	u.in = append(u.in, in)
	return &dynamodb.UpdateItemOutput{}, u.err
}

// Sync's write (UpdateActive of connection.RequireReauth) is one
// UpdateItem naming exactly RequireReauthAttributes
// (every attribute through a #placeholder, so the names map is the whole
// list), asking nothing back, conditional on an active connection.
func TestRequireReauthRequest(t *testing.T) {
	db := &updateOnly{}
	s := NewConnectionStore(db, "connections")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	requireReauth := func(c *connection.Connection) { c.RequireReauth("scope_mismatch", now) }
	if err := s.UpdateActive(context.Background(), "zc_1", requireReauth); err != nil {
		t.Fatal(err)
	}
	if len(db.in) != 1 {
		t.Fatalf("%d requests", len(db.in))
	}
	in := db.in[0]
	var names []string
	for k := range in.Key {
		names = append(names, k)
	}
	for _, v := range in.ExpressionAttributeNames {
		names = append(names, v)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(RequireReauthAttributes))
	if !slices.Equal(names, want) {
		t.Fatalf("the request names %v, want %v", names, want)
	}
	// No attribute is named outside the placeholders.
	bare := regexp.MustCompile(`(^|[^#:\w])([A-Za-z_]\w*)`)
	for _, expr := range []string{*in.UpdateExpression, *in.ConditionExpression} {
		for _, m := range bare.FindAllStringSubmatch(expr, -1) {
			switch m[2] {
			case "SET", "REMOVE", "AND", "if_not_exists":
			default:
				t.Errorf("%q names %q directly", expr, m[2])
			}
		}
	}
	if in.ReturnValues != "" && in.ReturnValues != types.ReturnValueNone {
		t.Errorf("ReturnValues %s", in.ReturnValues)
	}
	if cond := resolve(*in.ConditionExpression, in); cond != "status = "+string(connection.Active) {
		t.Errorf("condition %s (%s)", *in.ConditionExpression, cond)
	}

	// A connection that is not active (or not there) is no error.
	db.err = &types.ConditionalCheckFailedException{}
	if err := s.UpdateActive(context.Background(), "zc_1", requireReauth); err != nil {
		t.Fatalf("condition failed: %v", err)
	}
	db.err = errors.New("throttled")
	if err := s.UpdateActive(context.Background(), "zc_1", requireReauth); err == nil {
		t.Fatal("a failed write was not reported")
	}
}

// resolve puts the names and values of a request's placeholders back
// into one of its expressions.
func resolve(expr string, in *dynamodb.UpdateItemInput) string {
	return regexp.MustCompile(`[#:][A-Za-z0-9_]+`).ReplaceAllStringFunc(expr, func(p string) string {
		if p[0] == '#' {
			return in.ExpressionAttributeNames[p]
		}
		switch v := in.ExpressionAttributeValues[p].(type) {
		case *types.AttributeValueMemberS:
			return v.Value
		case *types.AttributeValueMemberN:
			return v.Value
		}
		return p
	})
}

// SyncFunction may UpdateItem the connections table only for the
// attributes sync's RequireReauth write names (dynamodb:Attributes), and asking for
// nothing back.
func TestSyncFunctionUpdateItemPolicy(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	policies := path(doc.Content[0], "Resources", "SyncFunction", "Properties", "Policies")
	if policies == nil {
		t.Fatal("SyncFunction has no Policies")
	}
	var updates []*yaml.Node
	for _, p := range policies.Content {
		st := path(p, "Statement")
		if st == nil {
			continue
		}
		for _, s := range st.Content {
			for _, a := range scalars(path(s, "Action")) {
				if a == "dynamodb:UpdateItem" || a == "dynamodb:*" || a == "*" {
					updates = append(updates, s)
				}
			}
		}
	}
	// Three: the connections table's two (below: RequireReauth's and
	// RecordUse's), and the idempotency table's for the rate limit's
	// counters (submissionstore.RateCounter), whose keys only it may
	// update.
	if len(updates) != 3 {
		t.Fatalf("%d statements allow dynamodb:UpdateItem, want 3", len(updates))
	}
	lists := map[string][]string{
		"RequireReauth": slices.Sorted(slices.Values(RequireReauthAttributes)),
		"RecordUse":     slices.Sorted(slices.Values(RecordUseAttributes)),
	}
	found := map[string]int{}
	for _, u := range updates {
		switch r := path(u, "Resource"); {
		case r != nil && r.Tag == "!GetAtt" && r.Value == "ConnectionsTable.Arn":
			attrs := scalars(path(u, "Condition", "ForAllValues:StringEquals", "dynamodb:Attributes"))
			slices.Sort(attrs)
			matched := ""
			for name, want := range lists {
				if slices.Equal(attrs, want) {
					matched = name
				}
			}
			if matched == "" {
				t.Errorf("dynamodb:Attributes %v, want one of %v", attrs, lists)
				continue
			}
			found[matched]++
			checkConnectionsUpdateStatement(t, u)
		case r != nil && r.Tag == "!GetAtt" && r.Value == "IdempotencyTable.Arn":
			if keys := scalars(path(u, "Condition", "ForAllValues:StringLike", "dynamodb:LeadingKeys")); strings.Join(keys, ",") != "rl_*" {
				t.Errorf("UpdateItem of the idempotency table for keys %v, want only rl_*", keys)
			}
			if c := path(u, "Condition"); c == nil || len(c.Content) != 2 {
				t.Errorf("the idempotency table's UpdateItem conditions: %v", c)
			}
		default:
			t.Errorf("UpdateItem on %v", r)
		}
	}
	if found["RequireReauth"] != 1 || found["RecordUse"] != 1 {
		t.Errorf("UpdateItem statements of ConnectionsTable: %v, want one of each", found)
	}
}

// checkConnectionsUpdateStatement: one action, asking for nothing back,
// and no other condition.
func checkConnectionsUpdateStatement(t *testing.T, s *yaml.Node) {
	t.Helper()
	if got := scalars(path(s, "Action")); len(got) != 1 {
		t.Errorf("the conditioned statement allows %v", got)
	}
	if rv := scalars(path(s, "Condition", "StringEqualsIfExists", "dynamodb:ReturnValues")); strings.Join(rv, ",") != "NONE" {
		t.Errorf("dynamodb:ReturnValues %v", rv)
	}
	if c := path(s, "Condition"); c == nil || len(c.Content) != 4 {
		t.Errorf("the conditions are not exactly those two: %v", c)
	}
}

// path walks mapping keys.
func path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// scalars reads a scalar or a sequence of scalars.
func scalars(n *yaml.Node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	}
	return nil
}
