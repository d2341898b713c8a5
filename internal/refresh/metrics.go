package refresh

import (
	"log/slog"
	"os"
	"time"
)

// MetricsNamespace and the metric names below are what template.yaml's
// RefreshFailuresAlarm and dashboard watch, and README.md's metrics table
// lists: namespace ZohoConnect, every metric with the one dimension Stage
// (DimensionStage), whose value is the stage the function runs in.
const (
	MetricsNamespace     = "ZohoConnect"
	DimensionStage       = "Stage"
	MetricRefreshed      = "RefreshRefreshed"
	MetricFailed         = "RefreshFailed"
	MetricReauthRequired = "RefreshReauthRequired"
	MetricDeferred       = "RefreshDeferred"
	MetricDue            = "RefreshDue"
	MetricDuration       = "RefreshDuration"
)

// StageEnv names the variable template.yaml sets on every function to its
// Stage parameter. Without it (a local run) the dimension is LocalStage:
// CloudWatch takes no empty dimension value.
const (
	StageEnv   = "STAGE"
	LocalStage = "local"
)

// metricsStage is the Stage dimension's value. It is read where the line
// is written (once a run), as Service has no field for it yet.
func metricsStage() string {
	if v := os.Getenv(StageEnv); v != "" {
		return v
	}
	return LocalStage
}

// logRun writes the run's one summary line. It is also a CloudWatch
// embedded-metric-format record: the `_aws` member declares the metrics
// and their one dimension set (Stage), and their values and the
// dimension's are the line's top-level members of the same names, so
// CloudWatch Logs makes metrics of it with no API call, one series per
// stage.
func (s *Service) logRun(sum Summary, err error) {
	count := func(name string) map[string]string { return map[string]string{"Name": name, "Unit": "Count"} }
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricsNamespace,
			"Dimensions": [][]string{{DimensionStage}},
			"Metrics": []any{
				count(MetricDue), count(MetricRefreshed), count(MetricFailed), count(MetricReauthRequired), count(MetricDeferred),
				map[string]string{"Name": MetricDuration, "Unit": "Milliseconds"},
			},
		}},
	}
	attrs := []any{
		slog.Any("_aws", emf),
		slog.String(DimensionStage, metricsStage()),
		slog.Int(MetricDue, sum.Due), slog.Int(MetricRefreshed, sum.Refreshed), slog.Int(MetricFailed, sum.Failed),
		slog.Int(MetricReauthRequired, sum.ReauthRequired), slog.Int(MetricDeferred, sum.Deferred),
		slog.Int64(MetricDuration, sum.DurationMS),
		slog.Any("summary", sum),
	}
	if err != nil {
		s.Log.Error("refresh run", append(attrs, slog.String("err", err.Error()))...)
		return
	}
	s.Log.Info("refresh run", attrs...)
}
