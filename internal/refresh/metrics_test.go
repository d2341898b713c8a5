package refresh

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
)

// The run line's Stage dimension is the stage from STAGE (Service.Stage), so two stacks in
// one account feed two series, and each stack's alarm and dashboard
// (template.yaml: Stage=<its stage>) see only their own.
func TestRunMetricsCarryTheStage(t *testing.T) {
	for env, want := range map[string]string{"pr-42": "pr-42", "prod": "prod", "": metrics.LocalStage} {
		t.Run("STAGE="+env, func(t *testing.T) {
			f := newFixture(t)
			f.svc.Stage = env
			f.svc.Log = logging.New(f.logs, "info")
			f.add("ok-1", time.Minute)
			if _, err := f.svc.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var line struct {
				AWS struct {
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
					}
				} `json:"_aws"`
				Stage *string `json:"Stage"`
			}
			for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
				if strings.Contains(l, `"msg":"refresh run"`) {
					if err := json.Unmarshal([]byte(l), &line); err != nil {
						t.Fatal(err)
					}
				}
			}
			cwm := line.AWS.CloudWatchMetrics
			if len(cwm) != 1 || cwm[0].Namespace != MetricsNamespace || len(cwm[0].Dimensions) != 1 ||
				len(cwm[0].Dimensions[0]) != 1 || cwm[0].Dimensions[0][0] != DimensionStage {
				t.Fatalf("_aws.CloudWatchMetrics = %+v, want one set [Stage] in %s", cwm, MetricsNamespace)
			}
			if line.Stage == nil || *line.Stage != want {
				t.Errorf("Stage member = %v, want %q", line.Stage, want)
			}
		})
	}
}
