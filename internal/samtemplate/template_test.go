package samtemplate

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
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
		// The DynamoDB token store's table exists when it is used or kept
		// (TokenStore, KeepDynamoDBTokenStore); every other table always.
		if want := map[string]string{"TokensTable": "HasDynamoDBTokenStore"}[tb.LogicalID]; tb.Condition != want {
			t.Errorf("%s: Condition %q, want %q", tb.LogicalID, tb.Condition, want)
		}
	}
	if want := []string{"ConnectionsTable", "StatesTable", "SessionsTable", "IdempotencyTable", "FormsTable", "ConcurrencyTable", "TokensTable"}; !reflect.DeepEqual(ids, want) {
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
	// EventsFunction compares each change with the item before it.
	if conn.StreamViewType != "NEW_AND_OLD_IMAGES" {
		t.Errorf("connections stream = %q, want NEW_AND_OLD_IMAGES", conn.StreamViewType)
	}
	wantGSIs := []Index{
		{IndexName: "due-index", KeySchema: []KeyElement{{"refresh_shard", "HASH"}, {"token_expires_at", "RANGE"}}, ProjectionType: "ALL"},
		{IndexName: "tenant-index", KeySchema: []KeyElement{{"tenant_id", "HASH"}, {"connection_id", "RANGE"}}, ProjectionType: "ALL"},
	}
	if !reflect.DeepEqual(conn.GlobalSecondaryIndexes, wantGSIs) {
		t.Errorf("connections GSIs = %+v, want %+v", conn.GlobalSecondaryIndexes, wantGSIs)
	}
	types := map[string]string{}
	for _, ad := range conn.AttributeDefinitions {
		types[ad.AttributeName] = ad.AttributeType
	}
	if want := map[string]string{"connection_id": "S", "refresh_shard": "S", "token_expires_at": "N", "tenant_id": "S"}; !reflect.DeepEqual(types, want) {
		t.Errorf("connections attributes = %v", types)
	}
	in := CreateTableInput(conn, "x-ConnectionsTable")
	if in.StreamSpecification == nil || !aws.ToBool(in.StreamSpecification.StreamEnabled) || in.StreamSpecification.StreamViewType != "NEW_AND_OLD_IMAGES" || len(in.GlobalSecondaryIndexes) != 2 {
		t.Errorf("connections CreateTable: stream %+v, %d GSIs", in.StreamSpecification, len(in.GlobalSecondaryIndexes))
	}

	// Public forms: no TTL (a form lives until deleted), a connection's
	// forms by an index.
	forms, _ := tpl.Table("FormsTable")
	if want := []KeyElement{{"form_id", "HASH"}}; !reflect.DeepEqual(forms.KeySchema, want) || forms.TTLAttribute != "" || forms.StreamViewType != "" {
		t.Errorf("forms table: key %v, TTL %q, stream %q", forms.KeySchema, forms.TTLAttribute, forms.StreamViewType)
	}
	if want := []Index{{IndexName: "connection-index", KeySchema: []KeyElement{{"connection_id", "HASH"}}, ProjectionType: "ALL"}}; !reflect.DeepEqual(forms.GlobalSecondaryIndexes, want) {
		t.Errorf("forms GSIs = %+v", forms.GlobalSecondaryIndexes)
	}

	for id, key := range map[string]string{"StatesTable": "state_hash", "SessionsTable": "session_id", "IdempotencyTable": "idempotency_key"} {
		tb, _ := tpl.Table(id)
		if want := []KeyElement{{key, "HASH"}}; !reflect.DeepEqual(tb.KeySchema, want) {
			t.Errorf("%s key = %v", id, tb.KeySchema)
		}
		if tb.TTLAttribute != "expires_at" {
			t.Errorf("%s TTL = %q", id, tb.TTLAttribute)
		}
		if tb.StreamViewType != "" || CreateTableInput(tb, "x").StreamSpecification != nil {
			t.Errorf("%s has a stream (%q): nothing reads it", id, tb.StreamViewType)
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
		"POST /connect/sessions ProductApiFunction HttpApi",
		"GET /connections ProductApiFunction HttpApi",
		"DELETE /connections/{connection_id} ProductApiFunction HttpApi",
		"GET /connections/{connection_id} ProductApiFunction HttpApi",
		"PATCH /connections/{connection_id} ProductApiFunction HttpApi",
		"GET /connections/{connection_id}/forms ProductApiFunction HttpApi",
		"POST /connections/{connection_id}/forms ProductApiFunction HttpApi",
		"DELETE /connections/{connection_id}/forms/{form_id} ProductApiFunction HttpApi",
		"GET /connections/{connection_id}/forms/{form_id} ProductApiFunction HttpApi",
		"POST /connections/{connection_id}/submission-key ProductApiFunction HttpApi",
		"POST /connections/{connection_id}/submissions SyncFunction HttpApi",
		"OPTIONS /f/{form_id} SyncFunction HttpApi",
		"POST /f/{form_id} SyncFunction HttpApi",
		"GET /oauth/callback CallbackFunction HttpApi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n got %q\nwant %q", got, want)
	}
}

// The environment table of docs/design.md, per function.
var designEnvironment = map[string][]string{
	"CallbackFunction":   {"ACCESS_TOKEN_KEY_ID", "ALLOW_ANONYMOUS_CONNECT", "CONNECTIONS_TABLE", "LOG_LEVEL", "PUBLIC_BASE_URL", "REFRESH_FUNCTION_NAME", "REFRESH_TOKEN_KEY_ID", "SESSIONS_TABLE", "STAGE", "STATES_TABLE", "STATE_TTL_SECONDS", "SUBMISSION_KEY_SECRET_ID", "TOKENS_TABLE", "TOKEN_SECRET_PREFIX", "TOKEN_STORE", "ZOHO_CLIENT_SECRET_ID", "ZOHO_ENDPOINT_OVERRIDE", "ZOHO_SCOPES"},
	"RefreshFunction":    {"ACCESS_TOKEN_KEY_ID", "CONNECTIONS_TABLE", "IDLE_AFTER_HOURS", "LEASE_SECONDS", "LOG_LEVEL", "MAX_CONSECUTIVE_FAILURES", "REFRESH_FUNCTION_NAME", "REFRESH_TOKEN_KEY_ID", "REFRESH_WINDOW_SECONDS", "REFRESH_WORKERS", "SECRET_WRITES_PER_SECOND", "STAGE", "TOKENS_TABLE", "TOKEN_SECRET_PREFIX", "TOKEN_STORE", "ZOHO_CLIENT_SECRET_ID", "ZOHO_ENDPOINT_OVERRIDE"},
	"SyncFunction":       {"ACCESS_TOKEN_KEY_ID", "CAPTCHA_ENDPOINT_OVERRIDE", "CONCURRENCY_TABLE", "CONNECTIONS_TABLE", "FORMS_TABLE", "IDEMPOTENCY_TABLE", "LOG_LEVEL", "MAX_BODY_BYTES", "PRODUCT_API_KEY_SECRET_ID", "REFRESH_FUNCTION_NAME", "STAGE", "SUBMISSIONS_PER_CONNECTION_PER_MINUTE", "SUBMISSION_KEY_SECRET_ID", "SUBMISSION_QUEUE_URL", "TOKENS_TABLE", "TOKEN_SECRET_PREFIX", "TOKEN_STORE", "ZOHO_ENDPOINT_OVERRIDE"},
	"ProductApiFunction": {"CONNECTIONS_TABLE", "CONNECT_SESSION_TTL_SECONDS", "FORMS_TABLE", "LOG_LEVEL", "PRODUCT_API_KEY_SECRET_ID", "PUBLIC_BASE_URL", "REFRESH_FUNCTION_NAME", "RETURN_URL_ORIGINS", "SESSIONS_TABLE", "STAGE", "SUBMISSION_KEY_SECRET_ID"},
	"EventsFunction":     {"EVENT_BUS_NAME", "LOG_LEVEL", "STAGE"},
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
		"CallbackFunction":   "functions/callback",
		"RefreshFunction":    "functions/refresh",
		"SyncFunction":       "functions/sync",
		"ProductApiFunction": "functions/productapi",
		"EventsFunction":     "functions/events",
	}
	if !reflect.DeepEqual(codeURIs, want) {
		t.Errorf("functions = %v", codeURIs)
	}

	vars := tpl.LocalVars()
	vars["ConnectionsTable"] = "local-ConnectionsTable"
	vars["IdempotencyTable"] = "local-IdempotencyTable"
	vars["FormsTable"] = "local-FormsTable"
	vars["ConcurrencyTable"] = "local-ConcurrencyTable"
	vars["SubmissionKeySecret"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:key"
	vars["ProductApiKeySecret"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:product"
	vars["SubmissionQueue"] = "http://127.0.0.1:1/123456789012/q"
	sync, _ := tpl.Function("SyncFunction")
	env, err := sync.ResolveEnvironment(vars)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]string{
		"CAPTCHA_ENDPOINT_OVERRIDE":             "",
		"CONNECTIONS_TABLE":                     "local-ConnectionsTable",
		"FORMS_TABLE":                           "local-FormsTable",
		"IDEMPOTENCY_TABLE":                     "local-IdempotencyTable",
		"CONCURRENCY_TABLE":                     "local-ConcurrencyTable",
		"LOG_LEVEL":                             "info",
		"MAX_BODY_BYTES":                        "65536",
		"PRODUCT_API_KEY_SECRET_ID":             "arn:aws:secretsmanager:us-east-1:123456789012:secret:product",
		"REFRESH_FUNCTION_NAME":                 "zohoconnect-local-refresh",
		"STAGE":                                 "dev",
		"SUBMISSIONS_PER_CONNECTION_PER_MINUTE": "60",
		"SUBMISSION_KEY_SECRET_ID":              "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
		"SUBMISSION_QUEUE_URL":                  "http://127.0.0.1:1/123456789012/q",
		"TOKEN_SECRET_PREFIX":                   "zohoconnect/dev/",
		"ZOHO_ENDPOINT_OVERRIDE":                "",
		// The default store: the DynamoDB store's names are empty (!If).
		"TOKEN_STORE":         "SecretsManager",
		"TOKENS_TABLE":        "",
		"ACCESS_TOKEN_KEY_ID": "",
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("sync env:\n got %v\nwant %v", env, wantEnv)
	}
	// TokenStore=DynamoDB: they name the table and the access key, and sync
	// gets no refresh key.
	vars["TokenStore"] = "DynamoDB"
	tpl.SetConditions(vars)
	vars["TokensTable"] = "local-TokensTable"
	vars["AccessTokenKey.Arn"] = "arn:aws:kms:us-east-1:123456789012:key/access"
	if env, err = sync.ResolveEnvironment(vars); err != nil || env["TOKEN_STORE"] != "DynamoDB" || env["TOKENS_TABLE"] != "local-TokensTable" ||
		env["ACCESS_TOKEN_KEY_ID"] != vars["AccessTokenKey.Arn"] {
		t.Errorf("sync env with TokenStore=DynamoDB: %v %v", env, err)
	}
	if _, ok := env["REFRESH_TOKEN_KEY_ID"]; ok {
		t.Error("sync is given REFRESH_TOKEN_KEY_ID")
	}
	vars["TokenStore"] = "SecretsManager"
	tpl.SetConditions(vars)

	callback, _ := tpl.Function("CallbackFunction")
	if _, err := callback.ResolveEnvironment(vars); err == nil || !strings.Contains(err.Error(), "SessionsTable") {
		t.Errorf("resolve without SessionsTable: err = %v, want one naming SessionsTable", err)
	}

	vars["EventBus"] = "local-EventBus"
	events, _ := tpl.Function("EventsFunction")
	if env, err := events.ResolveEnvironment(vars); err != nil || env["EVENT_BUS_NAME"] != "local-EventBus" {
		t.Errorf("events env = %v, %v", env, err)
	}
	var stream *Event
	for i, e := range events.Events {
		if e.Type == "DynamoDB" {
			stream = &events.Events[i]
		}
	}
	if stream == nil {
		t.Fatal("EventsFunction has no DynamoDB event")
	}
	if ga, ok := (Value{node: lookup(stream.Properties, "Stream")}).GetAtt(); !ok || ga != [2]string{"ConnectionsTable", "StreamArn"} {
		t.Errorf("EventsFunction's stream is %v, want !GetAtt ConnectionsTable.StreamArn", ga)
	}
}

func TestRealTemplateParametersSecretsQueues(t *testing.T) {
	tpl := loadReal(t)
	defaults := tpl.ParameterDefaults()
	for name, want := range map[string]string{
		"Stage":                             "dev",
		"ZohoScopes":                        "ZohoCRM.modules.ALL,ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.settings.fields.READ",
		"LogLevel":                          "info",
		"RefreshWindowSeconds":              "1800",
		"RefreshWorkers":                    "8",
		"SecretWritesPerSecond":             "20",
		"MaxBodyBytes":                      "65536",
		"SubmissionsPerConnectionPerMinute": "60",
		"RefreshSchedule":                   "rate(10 minutes)",
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
	product, _ := tpl.Secret("ProductApiKeySecret")
	if !product.Generated || product.PasswordLength != 48 || !product.ExcludePunctuation || !product.SecretString.IsZero() {
		t.Errorf("ProductApiKeySecret = %+v", product)
	}

	// The webhook's resources exist only with a WebhookUrl; locally, as
	// in a stack deployed with the defaults, they do not.
	vars := tpl.LocalVars()
	var queues []string
	for _, q := range tpl.Queues {
		ok, err := tpl.Active(q.Condition, vars)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			queues = append(queues, q.LogicalID)
		}
	}
	if want := []string{"SubmissionQueue", "SubmissionDeadLetterQueue", "EventsDeadLetterQueue"}; !reflect.DeepEqual(queues, want) {
		t.Errorf("queues with the defaults = %v, want %v", queues, want)
	}
	if wq, _ := tpl.Queue("WebhookDeadLetterQueue"); wq.Condition != "HasWebhook" {
		t.Errorf("WebhookDeadLetterQueue's Condition = %q", wq.Condition)
	}
	vars["WebhookUrl"] = "https://product.example.com/hooks/zoho"
	if ok, err := tpl.ConditionTrue("HasWebhook", vars); !ok || err != nil {
		t.Errorf("HasWebhook with a WebhookUrl = %v, %v", ok, err)
	}
	if len(tpl.EventBuses) != 1 || tpl.EventBuses[0].LogicalID != "EventBus" || tpl.EventBuses[0].Condition != "" {
		t.Errorf("event buses = %+v", tpl.EventBuses)
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

// docs/design.md's environment table names, for each variable, exactly
// the functions the template gives it (designEnvironment).
func TestDesignEnvironmentTable(t *testing.T) {
	raw, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n## Environment variables")
	if start < 0 {
		t.Fatal("docs/design.md has no Environment variables section")
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	short := map[string]string{
		"callback": "CallbackFunction", "refresh": "RefreshFunction", "sync": "SyncFunction",
		"product API": "ProductApiFunction", "events": "EventsFunction",
	}
	got := map[string][]string{}
	row := regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\| ([^|]+) \\|")
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		names := strings.Split(strings.TrimSpace(m[2]), ", ")
		if len(names) == 1 && names[0] == "all" {
			names = names[:0]
			for s := range short {
				names = append(names, s)
			}
		}
		for _, n := range names {
			fn, ok := short[n]
			if !ok {
				t.Errorf("docs/design.md: %s names %q, not one of %v or all", m[1], n, slices.Sorted(maps.Keys(short)))
				continue
			}
			got[fn] = append(got[fn], m[1])
		}
	}
	for fn := range got {
		sort.Strings(got[fn])
	}
	if !reflect.DeepEqual(got, designEnvironment) {
		t.Errorf("docs/design.md's environment table:\n got %v\nwant %v", got, designEnvironment)
	}
}
