package refresh

import (
	"log/slog"

	"github.com/zohoconnect/zohoconnect/internal/metrics"
)

// MetricsNamespace and the metric names below are what template.yaml's
// RefreshFailuresAlarm and dashboard watch, and README.md's metrics table
// lists: namespace ZohoConnect, every metric with the one dimension Stage
// (DimensionStage), whose value is the stage the function runs in.
const (
	MetricsNamespace     = metrics.Namespace
	DimensionStage       = "Stage"
	MetricRefreshed      = "RefreshRefreshed"
	MetricFailed         = "RefreshFailed"
	MetricReauthRequired = "RefreshReauthRequired"
	MetricDeferred       = "RefreshDeferred"
	MetricDue            = "RefreshDue"
	MetricDuration       = "RefreshDuration"
)

// logRun writes the run's one summary line. It is also a CloudWatch
// embedded-metric-format record (internal/metrics) with the one dimension
// Stage, so CloudWatch Logs makes metrics of it with no API call, one
// series per stage.
func (s *Service) logRun(sum Summary, err error) {
	count := func(name string, n int) metrics.Value {
		return metrics.Value{Name: name, Unit: metrics.Count, Value: float64(n)}
	}
	emitter := &metrics.Emitter{Stage: s.Stage}
	attrs := emitter.Attrs(nil,
		count(MetricDue, sum.Due), count(MetricRefreshed, sum.Refreshed), count(MetricFailed, sum.Failed),
		count(MetricReauthRequired, sum.ReauthRequired), count(MetricDeferred, sum.Deferred),
		metrics.Value{Name: MetricDuration, Unit: metrics.Milliseconds, Value: float64(sum.DurationMS)},
	)
	attrs = append(attrs, slog.Any("summary", sum))
	if err != nil {
		s.Log.Error("refresh run", append(attrs, slog.String("err", err.Error()))...)
		return
	}
	s.Log.Info("refresh run", attrs...)
}
