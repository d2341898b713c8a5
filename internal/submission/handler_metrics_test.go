package submission

import "testing"

func TestSubmissionOutcome(t *testing.T) {
	for status, want := range map[int]string{201: "created", 200: "matched", 202: "queued", 422: "rejected",
		400: "refused", 401: "refused", 409: "refused", 413: "refused", 429: "refused", 500: "failed", 502: "failed"} {
		if got := submissionOutcome(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}
