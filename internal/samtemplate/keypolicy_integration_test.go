//go:build integration

package samtemplate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"reflect"
	"strings"
	"testing"
)

// transformed is template.yaml after the SAM transform, as CloudFormation
// gets it: scripts/lint-template.py's transform, run with .venv's
// aws-sam-translator (make test installs it; integration tests run after).
func transformed(t *testing.T) map[string]any {
	t.Helper()
	py := "../../.venv/bin/python"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s: %v (make tools installs the pinned aws-sam-translator)", py, err)
	}
	const script = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("lint_template", "../../scripts/lint-template.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
json.dump(m.transform("../../template.yaml"), sys.stdout)
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("SAM transform: %v %s", err, stderr)
	}
	var tpl map[string]any
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// resolveIf resolves every Fn::If by conds and drops AWS::NoValue, as
// CloudFormation does for a stack with those condition values.
func resolveIf(v any, conds map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		if args, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(args) == 3 {
			if conds[args[0].(string)] {
				return resolveIf(args[1], conds)
			}
			return resolveIf(args[2], conds)
		}
		out := map[string]any{}
		for k, e := range x {
			if r := resolveIf(e, conds); !isNoValue(r) {
				out[k] = r
			}
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if r := resolveIf(e, conds); !isNoValue(r) {
				out = append(out, r)
			}
		}
		return out
	}
	return v
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// allows says whether an IAM action pattern list covers action (IAM's *
// and ? wildcards, any case).
func allows(actions any, action string) bool {
	for _, a := range list(actions) {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if m, _ := path.Match(strings.ToLower(s), strings.ToLower(action)); m {
			return true
		}
	}
	return false
}

func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, s := range list(doc.(map[string]any)["Statement"]) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// names says whether a principal value names the role (!GetAtt Role.Arn).
func names(principal any, role string) bool {
	p, ok := principal.(map[string]any)
	if !ok {
		return principal == "*"
	}
	for _, a := range list(p["AWS"]) {
		if a == "*" || reflect.DeepEqual(a, map[string]any{"Fn::GetAtt": []any{role, "Arn"}}) {
			return true
		}
	}
	return false
}

func kindCondition(s map[string]any) any {
	c, _ := s["Condition"].(map[string]any)
	eq, _ := c["StringEquals"].(map[string]any)
	return eq["kms:EncryptionContext:kind"]
}

// TestSyncFunctionCannotDecryptRefreshTokens proves, on the transformed
// template and for every value of TokenStore and KeepDynamoDBTokenStore,
// that neither SyncFunction's role nor RefreshTokenKey's policy lets sync
// decrypt a refresh token: the role has no KMS statement (every key
// grant is the key policy's), the refresh key's policy names only
// RefreshFunction for Decrypt, under the context's kind refresh, and the
// access key lets sync decrypt the access kind only.
func TestSyncFunctionCannotDecryptRefreshTokens(t *testing.T) {
	raw := transformed(t)
	for _, c := range []struct {
		name  string
		conds map[string]bool
	}{
		{"SecretsManager", map[string]bool{"TokensInSecretsManager": true}},
		{"SecretsManager, kept", map[string]bool{"TokensInSecretsManager": true, "HasDynamoDBTokenStore": true}},
		{"DynamoDB", map[string]bool{"TokensInDynamoDB": true, "HasDynamoDBTokenStore": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := resolveIf(raw["Resources"], c.conds).(map[string]any)
			for id, r := range res {
				if cond, ok := r.(map[string]any)["Condition"].(string); ok && !c.conds[cond] {
					delete(res, id) // not made in this stack
				}
			}
			role := res["SyncFunctionRole"].(map[string]any)["Properties"].(map[string]any)
			for _, arn := range list(role["ManagedPolicyArns"]) {
				// AWS's managed execution roles: logs, and SQS receive/delete.
				if s, _ := arn.(string); !strings.HasSuffix(s, ":policy/service-role/AWSLambdaBasicExecutionRole") && !strings.HasSuffix(s, ":policy/service-role/AWSLambdaSQSQueueExecutionRole") {
					t.Errorf("SyncFunctionRole has managed policy %v", arn)
				}
			}
			for _, p := range list(role["Policies"]) {
				for _, s := range statements(p.(map[string]any)["PolicyDocument"]) {
					if s["NotAction"] != nil || s["NotResource"] != nil {
						t.Errorf("SyncFunctionRole: a NotAction/NotResource statement: %v", s)
					}
					if s["Effect"] == "Allow" && (allows(s["Action"], "kms:Decrypt") || allows(s["Action"], "kms:ReEncryptFrom")) {
						t.Errorf("SyncFunctionRole allows decrypting with KMS: %v", s)
					}
				}
			}
			key, ok := res["RefreshTokenKey"].(map[string]any)
			if exists := c.conds["HasDynamoDBTokenStore"]; ok != exists {
				t.Fatalf("RefreshTokenKey exists: %v, want %v", ok, exists)
			}
			if !ok {
				return
			}
			refreshReaders := 0
			for _, s := range statements(key["Properties"].(map[string]any)["KeyPolicy"]) {
				if s["Effect"] != "Allow" {
					continue
				}
				if s["NotPrincipal"] != nil || s["NotAction"] != nil {
					t.Errorf("RefreshTokenKey: NotPrincipal/NotAction: %v", s)
				}
				if names(s["Principal"], "SyncFunctionRole") {
					t.Errorf("RefreshTokenKey's policy names SyncFunction: %v", s)
				}
				if allows(s["Action"], "kms:Decrypt") && names(s["Principal"], "RefreshFunctionRole") {
					if kindCondition(s) != "refresh" {
						t.Errorf("RefreshFunction decrypts without kind=refresh: %v", s)
					}
					refreshReaders++
				}
			}
			if refreshReaders != 1 {
				t.Errorf("RefreshTokenKey lets RefreshFunction decrypt in %d statements, want 1", refreshReaders)
			}
			syncReads := 0
			for _, s := range statements(res["AccessTokenKey"].(map[string]any)["Properties"].(map[string]any)["KeyPolicy"]) {
				if s["Effect"] != "Allow" || !names(s["Principal"], "SyncFunctionRole") {
					continue
				}
				if !reflect.DeepEqual(list(s["Action"]), []any{"kms:Decrypt"}) || kindCondition(s) != "access" {
					t.Errorf("AccessTokenKey grants sync more than Decrypt of the access kind: %v", s)
				}
				syncReads++
			}
			if syncReads != 1 {
				t.Errorf("AccessTokenKey lets sync decrypt in %d statements, want 1", syncReads)
			}
		})
	}
}
