package metrics

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

func TestEmitWritesOneEMFLine(t *testing.T) {
	var buf bytes.Buffer
	e := &Emitter{Log: slog.New(slog.NewJSONHandler(&buf, nil)), Stage: "pr-42", Now: func() time.Time { return time.UnixMilli(1700000000123) }}
	e.Emit("submission", [][2]string{{"Outcome", "created"}}, Value{Submissions, Count, 1}, Value{SubmissionLatency, Milliseconds, 12.5})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if line["Stage"] != "pr-42" || line["Outcome"] != "created" || line[Submissions] != 1.0 || line[SubmissionLatency] != 12.5 {
		t.Fatalf("members: %s", buf.Bytes())
	}
	aws := line["_aws"].(map[string]any)
	if aws["Timestamp"] != 1700000000123.0 {
		t.Fatalf("timestamp: %v", aws["Timestamp"])
	}
	m := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	dims, _ := json.Marshal(m["Dimensions"])
	metrics, _ := json.Marshal(m["Metrics"])
	if m["Namespace"] != Namespace || string(dims) != `[["Stage","Outcome"]]` ||
		string(metrics) != `[{"Name":"Submissions","Unit":"Count"},{"Name":"SubmissionLatency","Unit":"Milliseconds"}]` {
		t.Fatalf("declaration: %s %s %v", dims, metrics, m["Namespace"])
	}
	var nilEmitter *Emitter
	nilEmitter.Emit("nothing", nil) // no emitter configured: no line, no panic
}

// EmitSplit's values count under dims and under dims and split.
func TestEmitSplitDeclaresBothSets(t *testing.T) {
	var buf bytes.Buffer
	e := &Emitter{Log: slog.New(slog.NewJSONHandler(&buf, nil)), Stage: "dev"}
	e.EmitSplit("form post", [][2]string{{"Outcome", "captcha_failed"}}, [2]string{"Source", "form"}, Value{Submissions, Count, 1})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	m := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	dims, _ := json.Marshal(m["Dimensions"])
	if string(dims) != `[["Stage","Outcome"],["Stage","Outcome","Source"]]` || line["Source"] != "form" || line["Outcome"] != "captcha_failed" || line[Submissions] != 1.0 {
		t.Fatalf("line %s", buf.Bytes())
	}
	var nilEmitter *Emitter
	nilEmitter.EmitSplit("nothing", nil, [2]string{"Source", "form"})
}
