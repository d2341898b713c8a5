// Package metrics writes CloudWatch metrics as embedded-metric-format
// (EMF) log lines: one JSON line declares its metrics under `_aws`, and
// their values and dimensions are the line's top-level members, so
// CloudWatch Logs makes metrics of it with no API call and no extra
// permission. Every metric carries the Stage dimension, so that two stages
// in one account feed, and their alarms watch, metrics of their own.
package metrics

import (
	"log/slog"
	"slices"
	"time"
)

// Namespace is every metric's namespace (template.yaml's alarms and
// dashboard name it).
const Namespace = "ZohoConnect"

// The metrics of the callback and sync functions, and their dimensions
// (README, "Metrics"). The refresh run's are in internal/refresh.
const (
	// Connects counts finished callbacks by Outcome ("connected",
	// "reconnected" or the error code) and Location (the DC's code, or
	// "unknown" when the request named no known DC).
	Connects = "Connects"
	// Submissions counts submissions by Outcome: created, matched,
	// queued, rejected (Zoho or the rules refused it), refused (the
	// request itself: 4xx other than 422), failed (5xx); and, from the
	// retry queue, delivered, waiting (its org busy) and held
	// (re-authorization) in a fresh message, already_done, unreadable,
	// retried and dead_lettered.
	Submissions = "Submissions"
	// SubmissionLatency is a submission's own time by Outcome, in
	// milliseconds.
	SubmissionLatency = "SubmissionLatency"
)

// Unit names of CloudWatch.
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
)

// Value is one metric's value in a line.
type Value struct {
	Name  string
	Unit  string
	Value float64
}

// Emitter writes metric lines for one stage.
type Emitter struct {
	Log   *slog.Logger
	Stage string
	// Now is the lines' timestamp source (nil: time.Now).
	Now func() time.Time
}

// Emit writes one line (at info, with msg) holding values under the
// dimensions dims (name, value pairs; Stage is added first).
func (e *Emitter) Emit(msg string, dims [][2]string, values ...Value) {
	if e == nil || e.Log == nil {
		return
	}
	e.Log.Info(msg, e.Attrs(dims, values...)...)
}

// Attrs are the slog attributes that make a line a metric line: the
// `_aws` declaration, the dimensions' members (Stage first) and the
// values' members. A caller that writes its own line (another level, more
// attributes) adds them to it.
func (e *Emitter) Attrs(dims [][2]string, values ...Value) []any {
	return e.attrs(dims, nil, values)
}

// EmitSplit writes one line as Emit does, whose values count both under
// dims (with every other line of those dimensions: the total a search or
// an alarm on them finds) and under dims and split (a second dimension
// set: their part by split's value).
func (e *Emitter) EmitSplit(msg string, dims [][2]string, split [2]string, values ...Value) {
	if e == nil || e.Log == nil {
		return
	}
	e.Log.Info(msg, e.attrs(dims, &split, values)...)
}

func (e *Emitter) attrs(dims [][2]string, split *[2]string, values []Value) []any {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	stage := e.Stage
	if stage == "" {
		stage = LocalStage
	}
	names := []string{"Stage"}
	attrs := []any{nil, slog.String("Stage", stage)}
	for _, d := range dims {
		names = append(names, d[0])
		attrs = append(attrs, slog.String(d[0], d[1]))
	}
	sets := [][]string{names}
	if split != nil {
		sets = append(sets, append(slices.Clone(names), split[0]))
		attrs = append(attrs, slog.String(split[0], split[1]))
	}
	decl := make([]map[string]string, 0, len(values))
	for _, v := range values {
		decl = append(decl, map[string]string{"Name": v.Name, "Unit": v.Unit})
		attrs = append(attrs, slog.Float64(v.Name, v.Value))
	}
	attrs[0] = slog.Any("_aws", map[string]any{
		"Timestamp": now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": sets,
			"Metrics":    decl,
		}},
	})
	return attrs
}

// LocalStage is the Stage of a run without one (STAGE unset: a local
// run): CloudWatch takes no empty dimension value.
const LocalStage = "local"
