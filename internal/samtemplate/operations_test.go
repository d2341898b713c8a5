package samtemplate

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The operations side of template.yaml: what an operator relies on once
// the stack is deployed, read from the template's raw YAML. What
// CloudFormation itself would refuse (cycles, bad properties) is
// scripts/lint-template.py's job (make lint-template).

func rawTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// resourcesOfType lists the logical ids and nodes of one resource type.
func resourcesOfType(root *yaml.Node, typ string) []pair {
	var out []pair
	for _, kv := range pairs(lookup(root, "Resources")) {
		if scalar(lookup(kv.value, "Type")) == typ {
			out = append(out, kv)
		}
	}
	return out
}

func refOf(n *yaml.Node) string {
	ref, _ := (Value{node: n}).Ref()
	return ref
}

func TestStageNames(t *testing.T) {
	pattern := scalar(lookup(rawTemplate(t), "Parameters", "Stage", "AllowedPattern"))
	re, err := regexp.Compile(pattern)
	if err != nil || pattern == "" {
		t.Fatalf("Stage AllowedPattern %q: %v", pattern, err)
	}
	for name, ok := range map[string]bool{
		"dev": true, "prod": true, "staging": true, "pr-42": true, "a": true, "abcdefghijklmnop": true,
		"": false, "Prod": false, "42": false, "-dev": false, "pr_42": false, "dev/x": false, "abcdefghijklmnopq": false, "dev ": false,
	} {
		if re.MatchString(name) != ok {
			t.Errorf("Stage %q: allowed = %v, want %v", name, !ok, ok)
		}
	}
}

func TestZohoEndpointOverrideRefusedWhenDeployed(t *testing.T) {
	root := rawTemplate(t)
	var found bool
	for _, rule := range pairs(lookup(root, "Rules")) {
		if lookup(rule.value, "RuleCondition") != nil {
			continue // a conditional rule may not apply
		}
		for _, a := range lookup(rule.value, "Assertions").Content {
			fn, arg := (Value{node: lookup(a, "Assert")}).intrinsic()
			if fn == "Fn::Equals" && len(arg.Content) == 2 && refOf(arg.Content[0]) == "ZohoEndpointOverride" && scalar(arg.Content[1]) == "" {
				found = true
			}
		}
	}
	if !found {
		t.Error(`no unconditional Rules assertion !Equals [!Ref ZohoEndpointOverride, ""]: a deployed stack would accept it`)
	}
}

// One build path: sam build runs the Makefile's recipe (the one make
// build uses) at the repository root, for every function.
func TestFunctionsBuildWithTheMakefile(t *testing.T) {
	root := rawTemplate(t)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`(?m)^build-%Function:`)
	if !pattern.Match(makefile) {
		t.Error("the Makefile has no pattern rule for the build-<LogicalId> targets sam build runs")
	}
	tpl := loadReal(t)
	for _, fn := range resourcesOfType(root, "AWS::Serverless::Function") {
		md := lookup(fn.value, "Metadata")
		if got := [3]string{scalar(lookup(md, "BuildMethod")), scalar(lookup(md, "ContextPath")), scalar(lookup(md, "WorkingDirectory"))}; got != [3]string{"makefile", ".", "."} {
			t.Errorf("%s: Metadata BuildMethod, ContextPath, WorkingDirectory = %q, want makefile, ., .", fn.key, got)
		}
		if !strings.HasSuffix(fn.key, "Function") {
			t.Errorf("%s: the Makefile's build-%%Function rule needs a logical id ending in Function", fn.key)
			continue
		}
		f, _ := tpl.Function(fn.key)
		if want := "functions/" + strings.ToLower(strings.TrimSuffix(fn.key, "Function")); f.CodeUri != want {
			t.Errorf("%s: CodeUri %q, but build-%s builds ./%s", fn.key, f.CodeUri, fn.key, want)
		}
	}
	if got := lookup(root, "Globals", "Function", "Architectures"); got == nil || len(got.Content) != 1 || got.Content[0].Value != "arm64" {
		t.Error("Globals: Architectures is not [arm64], what make build and sam build build for")
	}
}

// Every function writes to a log group of the template, named as Lambda
// would name it and kept LogRetentionDays.
func TestFunctionLogGroups(t *testing.T) {
	root := rawTemplate(t)
	tpl := loadReal(t)
	vars := tpl.LocalVars()
	if refOf(lookup(root, "Globals", "Function", "Environment", "Variables", "STAGE")) != "Stage" {
		t.Error("Globals: STAGE is not !Ref Stage for every function")
	}
	var retention []string
	for _, v := range lookup(root, "Parameters", "LogRetentionDays", "AllowedValues").Content {
		retention = append(retention, v.Value)
	}
	cloudWatch := []string{"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"}
	if !reflect.DeepEqual(retention, cloudWatch) {
		t.Errorf("LogRetentionDays AllowedValues = %v, want CloudWatch's %v", retention, cloudWatch)
	}
	logGroups := map[string]*yaml.Node{}
	for _, lg := range resourcesOfType(root, "AWS::Logs::LogGroup") {
		logGroups[lg.key] = lg.value
		if refOf(lookup(lg.value, "Properties", "RetentionInDays")) != "LogRetentionDays" {
			t.Errorf("%s: RetentionInDays is not !Ref LogRetentionDays", lg.key)
		}
	}
	for _, fn := range tpl.Functions {
		props := lookup(root, "Resources", fn.LogicalID, "Properties")
		lgID := refOf(lookup(props, "LoggingConfig", "LogGroup"))
		if lgID == "" || logGroups[lgID] == nil {
			t.Errorf("%s: LoggingConfig.LogGroup is not !Ref of a log group of the template", fn.LogicalID)
			continue
		}
		if scalar(lookup(props, "LoggingConfig", "LogFormat")) != "JSON" {
			t.Errorf("%s: LoggingConfig.LogFormat is not JSON", fn.LogicalID)
		}
		name, err := fn.FunctionName.Resolve(vars)
		if err != nil {
			t.Errorf("%s: FunctionName: %v (the log group is named after it)", fn.LogicalID, err)
			continue
		}
		group, err := (Value{node: lookup(logGroups[lgID], "Properties", "LogGroupName")}).Resolve(vars)
		if err != nil || group != "/aws/lambda/"+name {
			t.Errorf("%s: log group %s is %q (%v), want /aws/lambda/%s", fn.LogicalID, lgID, group, err, name)
		}
	}
}

// The access log is JSON of single $context variables, none of which
// holds the query string (the callback's query carries the grant code).
func TestAccessLogHasNoQueryString(t *testing.T) {
	root := rawTemplate(t)
	props := lookup(root, "Resources", "HttpApi", "Properties")
	if v := (Value{node: lookup(props, "AccessLogSettings", "DestinationArn")}); !v.IsZero() {
		if ga, ok := v.GetAtt(); !ok || ga[1] != "Arn" || scalar(lookup(root, "Resources", ga[0], "Type")) != "AWS::Logs::LogGroup" {
			t.Errorf("AccessLogSettings.DestinationArn %s is not a log group of the template", v)
		}
	} else {
		t.Fatal("HttpApi has no AccessLogSettings")
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(scalar(lookup(props, "AccessLogSettings", "Format"))), &format); err != nil {
		t.Fatalf("access log Format is not a JSON object of strings: %v", err)
	}
	allowed := map[string]bool{
		"$context.requestId": true, "$context.requestTime": true, "$context.requestTimeEpoch": true,
		"$context.routeKey": true, "$context.path": true, "$context.status": true, "$context.protocol": true,
		"$context.responseLength": true, "$context.responseLatency": true, "$context.domainName": true,
		"$context.integration.status": true, "$context.integration.latency": true, "$context.integration.error": true,
		"$context.integrationStatus": true, "$context.error.message": true, "$context.error.responseType": true,
		"$context.identity.sourceIp": true, "$context.identity.userAgent": true, "$context.httpMethod": true,
		"$context.stage": true, "$context.apiId": true,
	}
	for _, need := range []string{"$context.routeKey", "$context.status", "$context.requestId"} {
		if !slices.Contains(mapValues(format), need) {
			t.Errorf("access log lacks %s", need)
		}
	}
	for k, v := range format {
		if !allowed[v] {
			t.Errorf("access log field %s = %q: not one $context variable known to hold no query string", k, v)
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Every route has its own throttle, from parameters.
func TestRouteThrottling(t *testing.T) {
	root := rawTemplate(t)
	props := lookup(root, "Resources", "HttpApi", "Properties")
	check := func(what string, n *yaml.Node) {
		for _, k := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
			p := refOf(lookup(n, k))
			if p == "" || lookup(root, "Parameters", p) == nil {
				t.Errorf("%s: %s is not !Ref of a parameter", what, k)
			}
		}
	}
	check("DefaultRouteSettings", lookup(props, "DefaultRouteSettings"))
	settings := lookup(props, "RouteSettings")
	for _, r := range loadReal(t).Routes {
		key := r.Method + " " + r.Path
		if n := lookup(settings, key); n == nil {
			t.Errorf("route %s has no RouteSettings entry", key)
		} else {
			check("RouteSettings "+key, n)
		}
	}
	for _, kv := range pairs(settings) {
		if !slices.ContainsFunc(loadReal(t).Routes, func(r Route) bool { return r.Method+" "+r.Path == kv.key }) {
			t.Errorf("RouteSettings %q names no route of the template", kv.key)
		}
	}
	sync := lookup(root, "Resources", "SyncFunction", "Properties")
	if fn, arg := (Value{node: lookup(sync, "ReservedConcurrentExecutions")}).intrinsic(); fn != "Fn::If" || len(arg.Content) != 3 || refOf(arg.Content[1]) != "SyncReservedConcurrency" {
		t.Error("SyncFunction: ReservedConcurrentExecutions is not !If [..., !Ref SyncReservedConcurrency, ...]")
	}
	if refOf(lookup(sync, "Events", "Retry", "Properties", "ScalingConfig", "MaximumConcurrency")) != "SyncQueueMaxConcurrency" {
		t.Error("SyncFunction's SQS event: ScalingConfig.MaximumConcurrency is not !Ref SyncQueueMaxConcurrency")
	}
}

// metricKey is a metric in namespace ZohoConnect with its dimension names.
type metricKey struct {
	name string
	dims string // sorted, comma separated
}

func dimsKey(names []string) string {
	s := slices.Clone(names)
	sort.Strings(s)
	return strings.Join(s, ",")
}

// Every alarm on a ZohoConnect metric watches its own stage.
func TestAlarmsWatchTheirStage(t *testing.T) {
	root := rawTemplate(t)
	alarms := resourcesOfType(root, "AWS::CloudWatch::Alarm")
	for _, want := range []string{"DeadLetterAlarm", "RefreshFailuresAlarm", "OldestQueuedSubmissionAlarm", "Api5xxAlarm"} {
		if !slices.ContainsFunc(alarms, func(p pair) bool { return p.key == want }) {
			t.Errorf("no alarm %s", want)
		}
	}
	for _, a := range alarms {
		props := lookup(a.value, "Properties")
		if len(lookup(props, "Dimensions").Content) == 0 {
			t.Errorf("%s has no dimensions: it would watch every stack's metric", a.key)
		}
		if scalar(lookup(props, "Namespace")) != "ZohoConnect" {
			continue
		}
		var stage bool
		for _, d := range lookup(props, "Dimensions").Content {
			stage = stage || (scalar(lookup(d, "Name")) == "Stage" && refOf(lookup(d, "Value")) == "Stage")
		}
		if !stage {
			t.Errorf("%s: a ZohoConnect alarm without Stage = !Ref Stage watches every stage's metric", a.key)
		}
	}
}

// The dashboard is valid JSON once substituted, shows every function, both
// queues and the API, and its ZohoConnect metrics are exactly README.md's
// metrics table, with the same dimensions.
func TestDashboard(t *testing.T) {
	root := rawTemplate(t)
	body := lookup(root, "Resources", "Dashboard", "Properties", "DashboardBody")
	if body == nil {
		t.Fatal("no Dashboard")
	}
	vars := loadReal(t).LocalVars()
	for _, kv := range pairs(lookup(root, "Resources")) {
		vars[kv.key] = "ref-" + kv.key
		for _, attr := range []string{"Arn", "QueueName"} {
			vars[kv.key+"."+attr] = attr + "-" + kv.key
		}
	}
	text, err := (Value{node: body}).Resolve(vars)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Region  string  `json:"region"`
				Metrics [][]any `json:"metrics"`
				Alarms  []string
			} `json:"properties"`
		} `json:"widgets"`
	}
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v\n%s", err, text)
	}
	search := regexp.MustCompile(`^SEARCH\('\{ZohoConnect,([A-Za-z,]+)\} MetricName="([A-Za-z]+)" Stage="dev"', '[A-Za-z0-9]+', \d+\)$`)
	shown := map[metricKey]bool{}
	seen := map[string]bool{}
	for _, w := range dash.Widgets {
		if w.Type == "metric" && w.Properties.Region != vars["AWS::Region"] {
			t.Errorf("a metric widget without the stack's region: %+v", w)
		}
		for _, alarm := range w.Properties.Alarms {
			seen[alarm] = true
		}
		for _, m := range w.Properties.Metrics {
			if len(m) == 1 {
				expr, _ := m[0].(map[string]any)["expression"].(string)
				sm := search.FindStringSubmatch(expr)
				if sm == nil {
					t.Errorf("expression %q is not a SEARCH of this stage's ZohoConnect metric", expr)
					continue
				}
				shown[metricKey{sm[2], dimsKey(strings.Split(sm[1], ","))}] = true
				continue
			}
			var strs []string
			for _, x := range m {
				if s, ok := x.(string); ok {
					strs = append(strs, s)
					seen[s] = true
				}
			}
			if strs[0] == "ZohoConnect" {
				var dims []string
				for i := 2; i+1 < len(strs); i += 2 {
					dims = append(dims, strs[i])
					if strs[i] == "Stage" && strs[i+1] != "dev" {
						t.Errorf("%v: another stage's metric", strs)
					}
				}
				shown[metricKey{strs[1], dimsKey(dims)}] = true
			}
		}
	}
	for _, want := range []string{"ref-CallbackFunction", "ref-RefreshFunction", "ref-SyncFunction", "QueueName-SubmissionQueue", "QueueName-SubmissionDeadLetterQueue", "ref-HttpApi"} {
		if !seen[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	for _, a := range resourcesOfType(root, "AWS::CloudWatch::Alarm") {
		if !seen["Arn-"+a.key] {
			t.Errorf("the dashboard's alarm widget lacks %s", a.key)
		}
	}

	documented := readmeMetrics(t)
	if len(documented) == 0 {
		t.Fatal("README.md has no metrics table")
	}
	for k := range shown {
		if !documented[k] {
			t.Errorf("the dashboard shows %s with dimensions %s; README.md's metrics table does not list it so", k.name, k.dims)
		}
	}
	for k := range documented {
		if !shown[k] {
			t.Errorf("README.md lists metric %s (%s); the dashboard does not show it", k.name, k.dims)
		}
	}
}

// readmeMetrics reads README.md's "### Metrics" table: | `Name` | unit |
// `Dim`, `Dim` | ...
func readmeMetrics(t *testing.T) map[metricKey]bool {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "\n### Metrics")
	if start < 0 {
		return nil
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\| [A-Za-z]+ \\| ([^|]+) \\|")
	dim := regexp.MustCompile("`([A-Za-z]+)`")
	out := map[metricKey]bool{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var dims []string
		for _, d := range dim.FindAllStringSubmatch(m[2], -1) {
			dims = append(dims, d[1])
		}
		out[metricKey{m[1], dimsKey(dims)}] = true
	}
	return out
}
