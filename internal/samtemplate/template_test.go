package samtemplate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

func loadReal(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestRealTemplateTables(t *testing.T) {
	tpl := loadReal(t)
	var ids []string
	for _, tb := range tpl.Tables {
		ids = append(ids, tb.LogicalID)
		if tb.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode %q", tb.LogicalID, tb.BillingMode)
		}
		if !tb.SSEEnabled {
			t.Errorf("%s: SSE not enabled", tb.LogicalID)
		}
	}
	if want := []string{"ConnectionsTable", "StatesTable", "IdempotencyTable"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("tables = %v, want %v", ids, want)
	}

	conn, _ := tpl.Table("ConnectionsTable")
	if want := []KeyElement{{"connection_id", "HASH"}}; !reflect.DeepEqual(conn.KeySchema, want) {
		t.Errorf("connections key = %v", conn.KeySchema)
	}
	if !conn.PointInTimeRecovery {
		t.Error("connections table: point-in-time recovery off")
	}
	if conn.TTLAttribute != "" {
		t.Errorf("connections table TTL = %q, want none", conn.TTLAttribute)
	}
	if len(conn.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("connections GSIs = %+v", conn.GlobalSecondaryIndexes)
	}
	due := conn.GlobalSecondaryIndexes[0]
	wantDue := Index{
		IndexName:      "due-index",
		KeySchema:      []KeyElement{{"refresh_shard", "HASH"}, {"token_expires_at", "RANGE"}},
		ProjectionType: "ALL",
	}
	if !reflect.DeepEqual(due, wantDue) {
		t.Errorf("due-index = %+v, want %+v", due, wantDue)
	}
	types := map[string]string{}
	for _, ad := range conn.AttributeDefinitions {
		types[ad.AttributeName] = ad.AttributeType
	}
	if want := map[string]string{"connection_id": "S", "refresh_shard": "S", "token_expires_at": "N"}; !reflect.DeepEqual(types, want) {
		t.Errorf("connections attributes = %v", types)
	}

	for id, key := range map[string]string{"StatesTable": "state_hash", "IdempotencyTable": "idempotency_key"} {
		tb, _ := tpl.Table(id)
		if want := []KeyElement{{key, "HASH"}}; !reflect.DeepEqual(tb.KeySchema, want) {
			t.Errorf("%s key = %v", id, tb.KeySchema)
		}
		if tb.TTLAttribute != "expires_at" {
			t.Errorf("%s TTL = %q", id, tb.TTLAttribute)
		}
	}
}

func TestRealTemplateRoutes(t *testing.T) {
	tpl := loadReal(t)
	var got []string
	for _, r := range tpl.Routes {
		got = append(got, r.Method+" "+r.Path+" "+r.FunctionLogicalID+" "+r.APILogicalID)
	}
	want := []string{
		"GET /connect CallbackFunction HttpApi",
		"POST /connections/{connection_id}/submissions SyncFunction HttpApi",
		"GET /oauth/callback CallbackFunction HttpApi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n got %q\nwant %q", got, want)
	}
}

// The environment table of docs/design.md, per function.
var designEnvironment = map[string][]string{
	"CallbackFunction": {"CONNECTIONS_TABLE", "LOG_LEVEL", "PUBLIC_BASE_URL", "STAGE", "STATES_TABLE", "STATE_TTL_SECONDS", "SUBMISSION_KEY_SECRET_ID", "TOKEN_SECRET_PREFIX", "ZOHO_CLIENT_SECRET_ID", "ZOHO_ENDPOINT_OVERRIDE", "ZOHO_SCOPES"},
	"RefreshFunction":  {"CONNECTIONS_TABLE", "LEASE_SECONDS", "LOG_LEVEL", "MAX_CONSECUTIVE_FAILURES", "REFRESH_WINDOW_SECONDS", "REFRESH_WORKERS", "SECRET_WRITES_PER_SECOND", "STAGE", "TOKEN_SECRET_PREFIX", "ZOHO_CLIENT_SECRET_ID", "ZOHO_ENDPOINT_OVERRIDE"},
	"SyncFunction":     {"CONNECTIONS_TABLE", "IDEMPOTENCY_TABLE", "LOG_LEVEL", "MAX_BODY_BYTES", "REFRESH_FUNCTION_NAME", "STAGE", "SUBMISSION_KEY_SECRET_ID", "SUBMISSION_QUEUE_URL", "TOKEN_SECRET_PREFIX", "ZOHO_ENDPOINT_OVERRIDE"},
}

func TestRealTemplateFunctions(t *testing.T) {
	tpl := loadReal(t)
	codeURIs := map[string]string{}
	for _, fn := range tpl.Functions {
		codeURIs[fn.LogicalID] = fn.CodeUri
		if want := designEnvironment[fn.LogicalID]; !reflect.DeepEqual(fn.EnvironmentNames, want) {
			t.Errorf("%s environment:\n got %v\nwant %v", fn.LogicalID, fn.EnvironmentNames, want)
		}
	}
	want := map[string]string{
		"CallbackFunction": "functions/callback",
		"RefreshFunction":  "functions/refresh",
		"SyncFunction":     "functions/sync",
	}
	if !reflect.DeepEqual(codeURIs, want) {
		t.Errorf("functions = %v", codeURIs)
	}

	vars := tpl.LocalVars()
	vars["ConnectionsTable"] = "local-ConnectionsTable"
	vars["IdempotencyTable"] = "local-IdempotencyTable"
	vars["SubmissionKeySecret"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:key"
	vars["SubmissionQueue"] = "http://127.0.0.1:1/123456789012/q"
	sync, _ := tpl.Function("SyncFunction")
	env, err := sync.ResolveEnvironment(vars)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]string{
		"CONNECTIONS_TABLE":        "local-ConnectionsTable",
		"IDEMPOTENCY_TABLE":        "local-IdempotencyTable",
		"LOG_LEVEL":                "info",
		"MAX_BODY_BYTES":           "65536",
		"REFRESH_FUNCTION_NAME":    "zohoconnect-local-refresh",
		"STAGE":                    "dev",
		"SUBMISSION_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
		"SUBMISSION_QUEUE_URL":     "http://127.0.0.1:1/123456789012/q",
		"TOKEN_SECRET_PREFIX":      "zohoconnect/dev/",
		"ZOHO_ENDPOINT_OVERRIDE":   "",
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("sync env:\n got %v\nwant %v", env, wantEnv)
	}

	callback, _ := tpl.Function("CallbackFunction")
	if _, err := callback.ResolveEnvironment(vars); err == nil || !strings.Contains(err.Error(), "StatesTable") {
		t.Errorf("resolve without StatesTable: err = %v, want one naming StatesTable", err)
	}
}

func TestRealTemplateParametersSecretsQueues(t *testing.T) {
	tpl := loadReal(t)
	defaults := tpl.ParameterDefaults()
	for name, want := range map[string]string{
		"Stage":                 "dev",
		"ZohoScopes":            "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.settings.fields.READ",
		"LogLevel":              "info",
		"RefreshWindowSeconds":  "1800",
		"RefreshWorkers":        "8",
		"SecretWritesPerSecond": "20",
		"MaxBodyBytes":          "65536",
		"RefreshSchedule":       "rate(10 minutes)",
	} {
		if defaults[name] != want {
			t.Errorf("parameter %s default = %q, want %q", name, defaults[name], want)
		}
	}

	client, ok := tpl.Secret("ZohoClientSecret")
	if !ok || client.SecretString.IsZero() || client.Generated {
		t.Errorf("ZohoClientSecret = %+v", client)
	}
	// The seed is a literal: naming the API here, which CallbackFunction
	// reads, made the stack a cycle (secret -> API -> function -> secret).
	s, ok := client.SecretString.Literal()
	if !ok {
		t.Fatalf("ZohoClientSecret's SecretString is %s, want a literal (no reference to the API)", client.SecretString)
	}
	var seed map[string]any
	if err := json.Unmarshal([]byte(s), &seed); err != nil {
		t.Fatalf("ZohoClientSecret's seed %s: %v", s, err)
	}
	if len(seed) != 2 || seed["client_id"] != "REPLACE_ME" || seed["client_secret"] != "REPLACE_ME" {
		t.Errorf("ZohoClientSecret's seed = %s, want client_id and client_secret only", s)
	}
	key, _ := tpl.Secret("SubmissionKeySecret")
	if !key.Generated || key.PasswordLength != 64 || !key.ExcludePunctuation {
		t.Errorf("SubmissionKeySecret = %+v", key)
	}

	q, _ := tpl.Queue("SubmissionQueue")
	if q.DeadLetterTarget != "SubmissionDeadLetterQueue" || q.MaxReceiveCount != submission.MaxReceives {
		t.Errorf("SubmissionQueue = %+v", q)
	}
	if q.VisibilityTimeout <= 6*20 {
		t.Errorf("SubmissionQueue visibility %d, want > 6 x sync timeout", q.VisibilityTimeout)
	}
}

const inline = `
Parameters:
  Stage: {Type: String, Default: dev}
  NoDefault: {Type: String}
Globals:
  Function:
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: globals
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 3, WriteCapacityUnits: 4}
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: N}
        - {AttributeName: g, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-g
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [a, b]}
      LocalSecondaryIndexes:
        - IndexName: by-pk-g
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: g, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: false}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Environment:
        Variables:
          OVERRIDDEN: function
          LITERAL: "42"
          REF: !Ref Items
          LONG_REF: {Ref: Stage}
          GETATT: !GetAtt Items.Arn
          GETATT_LIST: {"Fn::GetAtt": [Items, Arn]}
          SUB: !Sub "x/${Stage}/${Items.Arn}/${!Literal}"
          SUB2: !Sub
            - "${A}-${Stage}"
            - A: !Ref Items
          JOIN: !Join [",", [a, !Ref Stage]]
          IF: !If [Cond, a, b]
      Events:
        Get:
          Type: HttpApi
          Properties: {Method: GET, Path: /x}
        Any:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn}
  Q:
    Type: AWS::SQS::Queue
`

func TestInlineTemplate(t *testing.T) {
	tpl, err := Parse([]byte(inline))
	if err != nil {
		t.Fatal(err)
	}
	if p := tpl.Parameters[1]; p.Name != "NoDefault" || p.HasDefault {
		t.Errorf("NoDefault = %+v", p)
	}
	tb, _ := tpl.Table("Items")
	if tb.TTLAttribute != "" {
		t.Errorf("disabled TTL read as %q", tb.TTLAttribute)
	}
	in := CreateTableInput(tb, "pre-Items")
	if aws.ToString(in.TableName) != "pre-Items" || in.BillingMode != types.BillingModeProvisioned {
		t.Errorf("input = %+v", in)
	}
	if aws.ToInt64(in.ProvisionedThroughput.ReadCapacityUnits) != 3 || aws.ToInt64(in.ProvisionedThroughput.WriteCapacityUnits) != 4 {
		t.Errorf("throughput = %+v", in.ProvisionedThroughput)
	}
	if len(in.KeySchema) != 2 || in.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("key schema = %+v", in.KeySchema)
	}
	gsi := in.GlobalSecondaryIndexes[0]
	if gsi.Projection.ProjectionType != types.ProjectionTypeInclude || !reflect.DeepEqual(gsi.Projection.NonKeyAttributes, []string{"a", "b"}) || gsi.ProvisionedThroughput == nil {
		t.Errorf("gsi = %+v", gsi)
	}
	if lsi := in.LocalSecondaryIndexes[0]; aws.ToString(lsi.IndexName) != "by-pk-g" || lsi.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
		t.Errorf("lsi = %+v", lsi)
	}
	if UpdateTimeToLiveInput(tb, "x") != nil {
		t.Error("TTL input for a table without TTL")
	}

	fn, _ := tpl.Function("Fn")
	vars := map[string]string{"Stage": "dev", "Items": "pre-Items", "Items.Arn": "arn:items"}
	cases := map[string]string{
		"SHARED":      "from-globals",
		"OVERRIDDEN":  "function",
		"LITERAL":     "42",
		"REF":         "pre-Items",
		"LONG_REF":    "dev",
		"GETATT":      "arn:items",
		"GETATT_LIST": "arn:items",
		"SUB":         "x/dev/arn:items/${Literal}",
		"SUB2":        "pre-Items-dev",
		"JOIN":        "a,dev",
	}
	for name, want := range cases {
		got, err := fn.Environment[name].Resolve(vars)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := fn.Environment["IF"].Resolve(vars); err == nil {
		t.Error("!If resolved; want an error")
	}
	if _, err := fn.Environment["REF"].Resolve(map[string]string{}); err == nil || !strings.Contains(err.Error(), "Items") {
		t.Errorf("missing var: err = %v", err)
	}
	if ref, ok := fn.Environment["REF"].Ref(); !ok || ref != "Items" {
		t.Errorf("Ref() = %q, %v", ref, ok)
	}
	if s, ok := fn.Environment["LITERAL"].Literal(); !ok || s != "42" {
		t.Errorf("Literal() = %q, %v", s, ok)
	}
	if len(tpl.Routes) != 1 || tpl.Routes[0] != (Route{Method: "GET", Path: "/x", FunctionLogicalID: "Fn", EventName: "Get"}) {
		t.Errorf("routes = %+v", tpl.Routes)
	}
	if len(fn.Events) != 2 || fn.Events[1].Type != "SQS" {
		t.Errorf("events = %+v", fn.Events)
	}
}

func TestParseErrors(t *testing.T) {
	for name, src := range map[string]string{
		"not yaml":     "a: [",
		"not mapping":  "- a",
		"no resources": "Parameters: {}",
		"no key":       "Resources: {T: {Type: AWS::DynamoDB::Table, Properties: {BillingMode: PAY_PER_REQUEST}}}",
		"bad redrive":  "Resources: {Q: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: arn:x}}}}",
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGenerate(t *testing.T) {
	s, err := generate(64, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 64 || strings.ContainsAny(s, punctuation) {
		t.Errorf("generate = %q", s)
	}
}
