// Package samtemplate reads the project's AWS SAM template (template.yaml) so
// that local tooling (the integration-test harness, cmd/localstack, make dev)
// builds its tables, secrets, queues and function environments from the
// template itself, which stays the single source of truth.
//
// The template is parsed through yaml.Node, so CloudFormation's short tags
// (!Ref, !Sub, !GetAtt, ...) and their long forms ({"Ref": ...},
// {"Fn::Sub": ...}) survive parsing; they are resolved later against a map
// of local values supplied by the caller (see Value.Resolve).
package samtemplate

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Template is what local tooling needs to know of a SAM template.
type Template struct {
	// Parameters in template order.
	Parameters []Parameter
	// Tables are the AWS::DynamoDB::Table resources, in template order.
	Tables []Table
	// Functions are the AWS::Serverless::Function resources, in template order.
	Functions []Function
	// Routes are the HttpApi events of every function, sorted by path then method.
	Routes []Route
	// Secrets are the AWS::SecretsManager::Secret resources, in template order.
	Secrets []Secret
	// Queues are the AWS::SQS::Queue resources, in template order.
	Queues []Queue
	// EventBuses are the AWS::Events::EventBus resources, in template order.
	EventBuses []EventBus
	// Keys are the AWS::KMS::Key resources, in template order.
	Keys []Key

	// conditions are the Conditions section's definitions (ConditionTrue).
	conditions map[string]*yaml.Node
}

// Parameter is one template parameter.
type Parameter struct {
	Name          string
	Type          string
	Default       string
	HasDefault    bool
	AllowedValues []string
	// AllowedPattern is the parameter's regular expression, "" for none.
	AllowedPattern string
}

// Table is one AWS::DynamoDB::Table.
type Table struct {
	LogicalID              string
	BillingMode            string // PAY_PER_REQUEST or PROVISIONED
	KeySchema              []KeyElement
	AttributeDefinitions   []AttributeDefinition
	GlobalSecondaryIndexes []Index
	LocalSecondaryIndexes  []Index
	// TTLAttribute is the TimeToLiveSpecification's attribute when enabled, else "".
	TTLAttribute string
	// ReadCapacity and WriteCapacity are set only for PROVISIONED tables.
	ReadCapacity, WriteCapacity int64
	PointInTimeRecovery         bool
	SSEEnabled                  bool
	// StreamViewType is the StreamSpecification's (NEW_AND_OLD_IMAGES,
	// ...), "" when the table has no stream.
	StreamViewType string
	// Condition names the template condition the table exists under, ""
	// for none.
	Condition string
}

// KeyElement is one element of a key schema.
type KeyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"` // HASH or RANGE
}

// AttributeDefinition declares the type of a key attribute.
type AttributeDefinition struct {
	AttributeName string `yaml:"AttributeName"`
	AttributeType string `yaml:"AttributeType"` // S, N or B
}

// Index is a global or local secondary index.
type Index struct {
	IndexName        string
	KeySchema        []KeyElement
	ProjectionType   string // ALL, KEYS_ONLY or INCLUDE
	NonKeyAttributes []string
}

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID string
	CodeUri   string
	// FunctionName is the explicit FunctionName property; IsZero when absent.
	FunctionName Value
	// MemorySize (MB) and Timeout (seconds) are the function's own, else
	// Globals', as raw template values; IsZero when neither sets them
	// (Lambda's defaults: 128 MB, 3 s).
	MemorySize, Timeout Value
	// Environment holds the function's variables (Globals merged in) as raw
	// template values; EnvironmentNames lists them sorted.
	Environment      map[string]Value
	EnvironmentNames []string
	Events           []Event
}

// Event is one entry of a function's Events.
type Event struct {
	Name string
	Type string // HttpApi, ScheduleV2, SQS, ...
	// Properties is the event's raw Properties mapping (nil when absent).
	Properties *yaml.Node
}

// Property is the value at a path of the event's Properties
// (e.Property("DestinationConfig", "OnFailure", "Destination")); IsZero
// when absent.
func (e Event) Property(path ...string) Value {
	n := lookup(e.Properties, path...)
	if n == nil {
		return Value{}
	}
	return Value{node: n}
}

// Route is one HTTP API route.
type Route struct {
	Method            string
	Path              string
	FunctionLogicalID string
	EventName         string
	// APILogicalID is the resource named by ApiId (!Ref), "" for the implicit API.
	APILogicalID string
}

// Secret is one AWS::SecretsManager::Secret.
type Secret struct {
	LogicalID string
	// Name is the Name property (IsZero when CloudFormation names it).
	Name Value
	// SecretString is the SecretString property (IsZero when generated).
	SecretString Value
	// Generated is true when GenerateSecretString is present.
	Generated          bool
	PasswordLength     int
	ExcludePunctuation bool
	// Condition names the template condition the secret exists under.
	Condition string
}

// Queue is one AWS::SQS::Queue.
type Queue struct {
	LogicalID              string
	VisibilityTimeout      int // seconds, 0 when not set
	MessageRetentionPeriod int // seconds, 0 when not set
	// DeadLetterTarget is the logical id of the RedrivePolicy's target queue, "" for none.
	DeadLetterTarget string
	MaxReceiveCount  int
	// Condition names the template condition the queue exists under.
	Condition string
}

// EventBus is one AWS::Events::EventBus.
type EventBus struct {
	LogicalID string
	// Name is the Name property, as a raw template value (local tooling
	// names buses itself, as it names tables and secrets).
	Name Value
	// Condition names the template condition the bus exists under.
	Condition string
}

// Key is one AWS::KMS::Key (a symmetric encryption key: local tooling
// makes it in moto; its policy is AWS's to enforce).
type Key struct {
	LogicalID   string
	Description Value
	// Condition names the template condition the key exists under.
	Condition string
}

// Load reads and parses a template file.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template.
func Parse(src []byte) (*Template, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template is not a YAML mapping")
	}
	root := doc.Content[0]
	t := &Template{conditions: map[string]*yaml.Node{}}
	for _, kv := range pairs(lookup(root, "Conditions")) {
		t.conditions[kv.key] = kv.value
	}

	if params := lookup(root, "Parameters"); params != nil {
		for _, kv := range pairs(params) {
			p, err := parseParameter(kv.key, kv.value)
			if err != nil {
				return nil, err
			}
			t.Parameters = append(t.Parameters, p)
		}
	}

	var globalEnv *yaml.Node
	if g := lookup(root, "Globals", "Function", "Environment", "Variables"); g != nil {
		globalEnv = g
	}
	globalFn := lookup(root, "Globals", "Function")

	resources := lookup(root, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("template has no Resources")
	}
	for _, kv := range pairs(resources) {
		id, res := kv.key, kv.value
		typ := scalar(lookup(res, "Type"))
		props := lookup(res, "Properties")
		cond := scalar(lookup(res, "Condition"))
		if _, ok := t.conditions[cond]; cond != "" && !ok {
			return nil, fmt.Errorf("resource %s: Condition %s is not in the Conditions section", id, cond)
		}
		var err error
		switch typ {
		case "AWS::DynamoDB::Table":
			var tb Table
			tb, err = parseTable(id, props)
			tb.Condition = cond
			t.Tables = append(t.Tables, tb)
		case "AWS::Serverless::Function":
			var fn Function
			fn, err = parseFunction(id, props, globalFn, globalEnv)
			t.Functions = append(t.Functions, fn)
		case "AWS::SecretsManager::Secret":
			var s Secret
			s, err = parseSecret(id, props)
			s.Condition = cond
			t.Secrets = append(t.Secrets, s)
		case "AWS::SQS::Queue":
			var q Queue
			q, err = parseQueue(id, props)
			q.Condition = cond
			t.Queues = append(t.Queues, q)
		case "AWS::KMS::Key":
			k := Key{LogicalID: id, Condition: cond}
			if n := lookup(props, "Description"); n != nil {
				k.Description = Value{node: n}
			}
			t.Keys = append(t.Keys, k)
		case "AWS::Events::EventBus":
			b := EventBus{LogicalID: id, Condition: cond}
			if n := lookup(props, "Name"); n != nil {
				b.Name = Value{node: n}
			}
			t.EventBuses = append(t.EventBuses, b)
		}
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
	}
	for _, fn := range t.Functions {
		for _, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			r := Route{
				Method:            scalar(lookup(ev.Properties, "Method")),
				Path:              scalar(lookup(ev.Properties, "Path")),
				FunctionLogicalID: fn.LogicalID,
				EventName:         ev.Name,
			}
			if api := lookup(ev.Properties, "ApiId"); api != nil {
				if ref, ok := (Value{node: api}).Ref(); ok {
					r.APILogicalID = ref
				}
			}
			t.Routes = append(t.Routes, r)
		}
	}
	sort.SliceStable(t.Routes, func(i, j int) bool {
		if t.Routes[i].Path != t.Routes[j].Path {
			return t.Routes[i].Path < t.Routes[j].Path
		}
		return t.Routes[i].Method < t.Routes[j].Method
	})
	return t, nil
}

// Table returns the table with the logical id.
func (t *Template) Table(logicalID string) (Table, bool) {
	for _, tb := range t.Tables {
		if tb.LogicalID == logicalID {
			return tb, true
		}
	}
	return Table{}, false
}

// Function returns the function with the logical id.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, fn := range t.Functions {
		if fn.LogicalID == logicalID {
			return fn, true
		}
	}
	return Function{}, false
}

// Secret returns the secret with the logical id.
func (t *Template) Secret(logicalID string) (Secret, bool) {
	for _, s := range t.Secrets {
		if s.LogicalID == logicalID {
			return s, true
		}
	}
	return Secret{}, false
}

// Queue returns the queue with the logical id.
func (t *Template) Queue(logicalID string) (Queue, bool) {
	for _, q := range t.Queues {
		if q.LogicalID == logicalID {
			return q, true
		}
	}
	return Queue{}, false
}

// EventBus returns the event bus with the logical id.
func (t *Template) EventBus(logicalID string) (EventBus, bool) {
	for _, b := range t.EventBuses {
		if b.LogicalID == logicalID {
			return b, true
		}
	}
	return EventBus{}, false
}

// ParameterDefaults maps every parameter that has a default to it.
func (t *Template) ParameterDefaults() map[string]string {
	m := make(map[string]string, len(t.Parameters))
	for _, p := range t.Parameters {
		if p.HasDefault {
			m[p.Name] = p.Default
		}
	}
	return m
}

// LocalVars is a starting point for Resolve: the parameter defaults and
// pseudo parameters of a local account (moto's account id, region
// us-east-1, stack name "zohoconnect-local"). Callers add the names of the
// resources they created (logical id → table name, secret ARN, queue URL)
// and "LogicalId.Attr" entries for !GetAtt.
func (t *Template) LocalVars() map[string]string {
	m := t.ParameterDefaults()
	m["AWS::Partition"] = "aws"
	m["AWS::Region"] = "us-east-1"
	m["AWS::AccountId"] = "123456789012"
	m["AWS::StackName"] = "zohoconnect-local"
	m["AWS::URLSuffix"] = "amazonaws.com"
	m["AWS::NoValue"] = ""
	t.SetConditions(m)
	return m
}

// ResolveEnvironment resolves every environment variable of the function
// against vars (see Value.Resolve).
func (f Function) ResolveEnvironment(vars map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(f.Environment))
	for _, name := range f.EnvironmentNames {
		v, err := f.Environment[name].Resolve(vars)
		if err != nil {
			return nil, fmt.Errorf("%s: environment variable %s: %w", f.LogicalID, name, err)
		}
		out[name] = v
	}
	return out, nil
}

func parseParameter(name string, n *yaml.Node) (Parameter, error) {
	p := Parameter{Name: name, Type: scalar(lookup(n, "Type")), AllowedPattern: scalar(lookup(n, "AllowedPattern"))}
	if d := lookup(n, "Default"); d != nil {
		if d.Kind != yaml.ScalarNode {
			return p, fmt.Errorf("parameter %s: Default is not a scalar", name)
		}
		p.Default, p.HasDefault = d.Value, true
	}
	if av := lookup(n, "AllowedValues"); av != nil {
		for _, c := range av.Content {
			p.AllowedValues = append(p.AllowedValues, c.Value)
		}
	}
	return p, nil
}

func parseTable(id string, props *yaml.Node) (Table, error) {
	tb := Table{LogicalID: id, BillingMode: "PROVISIONED"}
	if props == nil {
		return tb, fmt.Errorf("no Properties")
	}
	// A TableName, if any, is ignored: local tooling names tables itself.
	if bm := scalar(lookup(props, "BillingMode")); bm != "" {
		tb.BillingMode = bm
	}
	if err := decodeInto(lookup(props, "KeySchema"), &tb.KeySchema); err != nil {
		return tb, fmt.Errorf("KeySchema: %w", err)
	}
	if len(tb.KeySchema) == 0 {
		return tb, fmt.Errorf("no KeySchema")
	}
	if err := decodeInto(lookup(props, "AttributeDefinitions"), &tb.AttributeDefinitions); err != nil {
		return tb, fmt.Errorf("AttributeDefinitions: %w", err)
	}
	var err error
	if tb.GlobalSecondaryIndexes, err = parseIndexes(lookup(props, "GlobalSecondaryIndexes")); err != nil {
		return tb, fmt.Errorf("GlobalSecondaryIndexes: %w", err)
	}
	if tb.LocalSecondaryIndexes, err = parseIndexes(lookup(props, "LocalSecondaryIndexes")); err != nil {
		return tb, fmt.Errorf("LocalSecondaryIndexes: %w", err)
	}
	if ttl := lookup(props, "TimeToLiveSpecification"); ttl != nil {
		if scalar(lookup(ttl, "Enabled")) == "true" {
			tb.TTLAttribute = scalar(lookup(ttl, "AttributeName"))
		}
	}
	if pt := lookup(props, "ProvisionedThroughput"); pt != nil {
		tb.ReadCapacity, _ = strconv.ParseInt(scalar(lookup(pt, "ReadCapacityUnits")), 10, 64)
		tb.WriteCapacity, _ = strconv.ParseInt(scalar(lookup(pt, "WriteCapacityUnits")), 10, 64)
	}
	tb.PointInTimeRecovery = scalar(lookup(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")) == "true"
	tb.SSEEnabled = scalar(lookup(props, "SSESpecification", "SSEEnabled")) == "true"
	tb.StreamViewType = scalar(lookup(props, "StreamSpecification", "StreamViewType"))
	return tb, nil
}

func parseIndexes(n *yaml.Node) ([]Index, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("not a list")
	}
	var out []Index
	for _, c := range n.Content {
		ix := Index{IndexName: scalar(lookup(c, "IndexName"))}
		if ix.IndexName == "" {
			return nil, fmt.Errorf("index without IndexName")
		}
		if err := decodeInto(lookup(c, "KeySchema"), &ix.KeySchema); err != nil {
			return nil, fmt.Errorf("%s KeySchema: %w", ix.IndexName, err)
		}
		ix.ProjectionType = scalar(lookup(c, "Projection", "ProjectionType"))
		if err := decodeInto(lookup(c, "Projection", "NonKeyAttributes"), &ix.NonKeyAttributes); err != nil {
			return nil, fmt.Errorf("%s NonKeyAttributes: %w", ix.IndexName, err)
		}
		out = append(out, ix)
	}
	return out, nil
}

func parseFunction(id string, props, globalFn, globalEnv *yaml.Node) (Function, error) {
	fn := Function{LogicalID: id, Environment: map[string]Value{}}
	if props == nil {
		return fn, fmt.Errorf("no Properties")
	}
	fn.CodeUri = scalar(lookup(props, "CodeUri"))
	if n := lookup(props, "FunctionName"); n != nil {
		fn.FunctionName = Value{node: n}
	}
	for _, p := range []struct {
		name string
		v    *Value
	}{{"MemorySize", &fn.MemorySize}, {"Timeout", &fn.Timeout}} {
		if n := lookup(props, p.name); n != nil {
			*p.v = Value{node: n}
		} else if n := lookup(globalFn, p.name); n != nil {
			*p.v = Value{node: n}
		}
	}
	for _, vars := range []*yaml.Node{globalEnv, lookup(props, "Environment", "Variables")} {
		if vars == nil {
			continue
		}
		if vars.Kind != yaml.MappingNode {
			return fn, fmt.Errorf("Environment.Variables is not a mapping")
		}
		for _, kv := range pairs(vars) {
			fn.Environment[kv.key] = Value{node: kv.value}
		}
	}
	for name := range fn.Environment {
		fn.EnvironmentNames = append(fn.EnvironmentNames, name)
	}
	sort.Strings(fn.EnvironmentNames)
	if events := lookup(props, "Events"); events != nil {
		for _, kv := range pairs(events) {
			fn.Events = append(fn.Events, Event{
				Name:       kv.key,
				Type:       scalar(lookup(kv.value, "Type")),
				Properties: lookup(kv.value, "Properties"),
			})
		}
	}
	return fn, nil
}

func parseSecret(id string, props *yaml.Node) (Secret, error) {
	s := Secret{LogicalID: id}
	if props == nil {
		return s, nil
	}
	if n := lookup(props, "Name"); n != nil {
		s.Name = Value{node: n}
	}
	if n := lookup(props, "SecretString"); n != nil {
		s.SecretString = Value{node: n}
	}
	if g := lookup(props, "GenerateSecretString"); g != nil {
		s.Generated = true
		s.PasswordLength = 32 // Secrets Manager's default
		if l := scalar(lookup(g, "PasswordLength")); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil {
				return s, fmt.Errorf("PasswordLength: %w", err)
			}
			s.PasswordLength = n
		}
		s.ExcludePunctuation = scalar(lookup(g, "ExcludePunctuation")) == "true"
	}
	return s, nil
}

func parseQueue(id string, props *yaml.Node) (Queue, error) {
	q := Queue{LogicalID: id}
	if props == nil {
		return q, nil
	}
	q.VisibilityTimeout, _ = strconv.Atoi(scalar(lookup(props, "VisibilityTimeout")))
	q.MessageRetentionPeriod, _ = strconv.Atoi(scalar(lookup(props, "MessageRetentionPeriod")))
	if rp := lookup(props, "RedrivePolicy"); rp != nil {
		target := lookup(rp, "deadLetterTargetArn")
		if target != nil {
			ga, ok := (Value{node: target}).GetAtt()
			if !ok || ga[1] != "Arn" {
				return q, fmt.Errorf("RedrivePolicy.deadLetterTargetArn: want !GetAtt Queue.Arn")
			}
			q.DeadLetterTarget = ga[0]
		}
		q.MaxReceiveCount, _ = strconv.Atoi(scalar(lookup(rp, "maxReceiveCount")))
	}
	return q, nil
}

type pair struct {
	key   string
	value *yaml.Node
}

// pairs lists a mapping's entries in order.
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out
}

// lookup follows a path of mapping keys; nil when any step is missing.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// scalar is a node's plain value, "" for a missing or non-scalar node.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func decodeInto(n *yaml.Node, v any) error {
	if n == nil {
		return nil
	}
	return n.Decode(v)
}
