package captcha_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/captcha"
)

// A reCAPTCHA v3 key's siteverify answers "success": true for any valid
// token, a bot's included, and tells them apart by "score" (1.0 a person,
// 0.0 a bot; Google's default threshold 0.5): a low score is refused.
// hCaptcha's score means the opposite (risk) and is left alone.
func TestRecaptchaV3LowScoreRefused(t *testing.T) {
	answer := ""
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(ts.Close)
	hc, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	v := &captcha.Verifier{HTTP: hc}
	for _, c := range []struct {
		p      captcha.Provider
		answer string
		ok     bool
	}{
		{captcha.ReCAPTCHA, `{"success":true,"score":0.1,"action":"submit"}`, false},
		{captcha.ReCAPTCHA, `{"success":true,"score":0.0}`, false},
		{captcha.ReCAPTCHA, `{"success":true,"score":0.9,"action":"submit"}`, true},
		{captcha.ReCAPTCHA, `{"success":true}`, true}, // v2: no score
		{captcha.HCaptcha, `{"success":true,"score":0.9}`, true},
	} {
		answer = c.answer
		err := v.Verify(context.Background(), c.p, "s", "token", "")
		if c.ok && err != nil || !c.ok && !errors.Is(err, captcha.ErrFailed) {
			t.Errorf("%s answering %s: %v", c.p, c.answer, err)
		}
	}
}
