package refresh

import (
	"log/slog"
	"time"
)

// MetricsNamespace and the metric names below are what template.yaml's
// RefreshFailuresAlarm watches (namespace ZohoConnect, metric
// RefreshFailed, no dimensions).
const (
	MetricsNamespace     = "ZohoConnect"
	MetricRefreshed      = "RefreshRefreshed"
	MetricFailed         = "RefreshFailed"
	MetricReauthRequired = "RefreshReauthRequired"
	MetricDeferred       = "RefreshDeferred"
	MetricDue            = "RefreshDue"
	MetricDuration       = "RefreshDuration"
)

// logRun writes the run's one summary line. It is also a CloudWatch
// embedded-metric-format record: the `_aws` member declares the metrics,
// and their values are the line's top-level members of the same names,
// so CloudWatch Logs makes metrics of it with no API call.
func (s *Service) logRun(sum Summary, err error) {
	count := func(name string) map[string]string { return map[string]string{"Name": name, "Unit": "Count"} }
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricsNamespace,
			"Dimensions": [][]string{{}},
			"Metrics": []any{
				count(MetricDue), count(MetricRefreshed), count(MetricFailed), count(MetricReauthRequired), count(MetricDeferred),
				map[string]string{"Name": MetricDuration, "Unit": "Milliseconds"},
			},
		}},
	}
	attrs := []any{
		slog.Any("_aws", emf),
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
