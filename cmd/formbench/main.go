// Command formbench measures a public form's post (POST /f/{form_id},
// SyncFunction) on a warm instance against the local stack (DynamoDB
// Local, moto), the Zoho simulator and the CAPTCHA simulator at zero
// latency: the function's own time per post, and the AWS calls (by
// service and operation), Zoho calls and CAPTCHA calls each post makes;
// beside it, in the same run, a keyed submission of the same fields
// (POST /connections/{id}/submissions) for the ratio.
//
//	scripts/localstack.sh start && . .cache/localstack.env
//	go run ./cmd/formbench -n 300
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/benchstack"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/formpost"
	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstore"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/captcha/captchasim"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

func main() {
	n := flag.Int("n", 300, "measured posts per phase")
	warm := flag.Int("warm", 20, "warm-up posts (not measured)")
	flag.Parse()
	if err := bench(*n, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "formbench:", err)
		os.Exit(1)
	}
}

func bench(n, warm int) error {
	ctx := context.Background()
	stack, err := benchstack.Open(ctx)
	if err != nil {
		return err
	}
	cfg := stack.Config
	m := benchstack.NewMeter()
	cfg.APIOptions = append(cfg.APIOptions, m.CountOps)
	cfg.HTTPClient = &http.Client{Transport: m.Transport(benchstack.AWS)}
	db := dynamodb.NewFromConfig(cfg)
	sm := secretsmanager.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)

	client := zohosim.Client{ID: "1000.FORMBENCH", Secret: randomHex(16), RedirectURIs: []string{"https://bench.example/oauth/callback"}}
	sim := zohosim.New(zohosim.Options{Clients: []zohosim.Client{client}, Limits: zohosim.Limits{GrantCodesPer10Min: -1}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	csim := captchasim.New()
	csrv := httptest.NewServer(csim)
	defer csrv.Close()

	d, err := stack.Deploy(ctx, samtemplate.Local{DynamoDB: db, SecretsManager: sm, SQS: sq}, benchstack.Options{
		Stage: "s" + randomHex(4), ClientID: client.ID, ClientSecret: client.Secret,
		Params: map[string]string{"ZohoEndpointOverride": srv.URL, "CaptchaEndpointOverride": csrv.URL, "AllowAnonymousConnect": "true"}, Queues: true,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "formbench: cleanup:", err)
		}
	}()
	log := logging.New(io.Discard, "info")
	setenv := func(fn string) error {
		env, err := d.FunctionEnvironment(stack.Template, fn)
		if err != nil {
			return err
		}
		for k, v := range env {
			os.Setenv(k, v)
		}
		return nil
	}
	if err := setenv("CallbackFunction"); err != nil {
		return err
	}
	ccfg, err := callbackfn.LoadConfig()
	if err != nil {
		return err
	}
	cb, err := callbackfn.New(ccfg, cfg, log)
	if err != nil {
		return err
	}
	connID, key, err := connectOrg(ctx, sim, srv.URL, cb)
	if err != nil {
		return err
	}

	if err := setenv("SyncFunction"); err != nil {
		return err
	}
	scfg, err := syncfn.LoadConfig()
	if err != nil {
		return err
	}
	scfg.SubmissionsPerMinute = 1 << 30 // on, so its UpdateItem is measured
	h, err := syncfn.New(scfg, cfg, log)
	if err != nil {
		return err
	}
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL, Base: m.Transport(benchstack.Zoho)})
	if err != nil {
		return err
	}
	h.Service.NewCRM = syncfn.NewCRM(hc)
	fh, ok := h.Forms.(*formpost.Handler)
	if !ok {
		return fmt.Errorf("SyncFunction serves no forms (FORMS_TABLE)")
	}
	chc, err := captcha.NewHTTPClient(captcha.HTTPOptions{EndpointOverride: csrv.URL, Base: m.Transport(benchstack.Captcha)})
	if err != nil {
		return err
	}
	fh.Captcha = &captcha.Verifier{HTTP: chc}

	// Two forms, stored as the product API stores them.
	store := &formstore.Store{DB: dynamodb.NewFromConfig(stack.Config), Table: scfg.FormsTable}
	const origin = "https://www.bench.example"
	mk := func(spec forms.Spec) (string, error) {
		spec.AllowedOrigins, spec.HoneypotField, spec.RateLimitPerMinute = []string{origin}, "website", forms.MaxRateLimit
		f, err := forms.NewForm(connID, spec)
		if err != nil {
			return "", err
		}
		f.CreatedAt = time.Now()
		return f.ID, store.Create(ctx, f)
	}
	plain, err := mk(forms.Spec{RedirectURL: origin + "/thanks"})
	if err != nil {
		return err
	}
	withCaptcha, err := mk(forms.Spec{RedirectURL: origin + "/thanks", Captcha: &forms.CaptchaSpec{Provider: "turnstile", Secret: "bench-captcha-secret"}})
	if err != nil {
		return err
	}

	fields := func(i int, tag string) string {
		return fmt.Sprintf("first_name=Ada&last_name=Lovelace%s%d&email=ada.%s%d%%40example.com&company=Engines&phone=%%2B44+20+7946+0000&message=%s&website=",
			tag, i, tag, i, strings.Repeat("Hello+there.+", 20))
	}
	post := func(form string, i int, body string) error {
		req := events.APIGatewayV2HTTPRequest{
			RouteKey: "POST /f/{form_id}", RawPath: "/f/" + form, PathParameters: map[string]string{"form_id": form},
			Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "origin": origin, "accept": "text/html"},
			Body:    body,
		}
		req.RequestContext.HTTP.Method = "POST"
		req.RequestContext.HTTP.SourceIP = fmt.Sprintf("198.51.%d.%d", i/250, i%250)
		if resp := h.Handle(ctx, req); resp.StatusCode != 303 {
			return fmt.Errorf("form post %d answered %d: %s", i, resp.StatusCode, resp.Body)
		}
		return nil
	}
	submit := func(i int, body string) error {
		req := events.APIGatewayV2HTTPRequest{
			RawPath:        "/connections/" + connID + "/submissions",
			Headers:        map[string]string{"content-type": "application/x-www-form-urlencoded", "authorization": "Bearer " + key},
			PathParameters: map[string]string{"connection_id": connID},
			Body:           body,
		}
		req.RequestContext.HTTP.Method = "POST"
		if resp := h.Handle(ctx, req); resp.StatusCode >= 300 {
			return fmt.Errorf("submission %d answered %d: %s", i, resp.StatusCode, resp.Body)
		}
		return nil
	}
	for i := range warm {
		if err := post(plain, i, fields(i, "warmf")); err != nil {
			return err
		}
		if err := post(withCaptcha, i, fields(i, "warmc")+"&cf-turnstile-response="+captchasim.PassToken(captcha.Turnstile, fmt.Sprint(i))); err != nil {
			return err
		}
		if err := submit(i, fields(i, "warms")); err != nil {
			return err
		}
	}

	ownTimes := map[string]time.Duration{}
	phase := func(name string, run func(i int) error) error {
		m.Reset()
		zohoBefore, captchaBefore := crmCalls(sim), len(csim.Calls())
		times := make([]time.Duration, 0, n)
		for i := range n {
			t0 := time.Now()
			if err := run(i); err != nil {
				return err
			}
			times = append(times, time.Since(t0))
		}
		c := m.Counts()
		var total time.Duration
		for _, t := range times {
			total += t
		}
		sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
		own := (total - c.WaitAll()) / time.Duration(n)
		ownTimes[name] = own
		fmt.Printf("\n%s: %d warm posts\n", name, n)
		fmt.Printf("  wall per post: mean %v, p50 %v, p95 %v\n", (total / time.Duration(n)).Round(time.Microsecond),
			times[len(times)/2].Round(time.Microsecond), times[len(times)*95/100].Round(time.Microsecond))
		fmt.Printf("  of which waiting on AWS (local stack) %v, on Zoho (simulator) %v, on CAPTCHA (simulator) %v\n",
			(c.Wait[benchstack.AWS] / time.Duration(n)).Round(time.Microsecond), (c.Wait[benchstack.Zoho] / time.Duration(n)).Round(time.Microsecond), (c.Wait[benchstack.Captcha] / time.Duration(n)).Round(time.Microsecond))
		fmt.Printf("  function's own time per post: %v\n", own.Round(time.Microsecond))
		fmt.Printf("  AWS calls per post:%s", c.OpsPer(n))
		fmt.Printf("\n  Zoho calls per post: %.2f; CAPTCHA calls per post: %.2f\n",
			float64(crmCalls(sim)-zohoBefore)/float64(n), float64(len(csim.Calls())-captchaBefore)/float64(n))
		return nil
	}
	if err := phase("keyed submission (POST /connections/{id}/submissions, for the ratio)", func(i int) error { return submit(i, fields(i, "sub")) }); err != nil {
		return err
	}
	if err := phase("form post (POST /f/{form_id}, honeypot, no CAPTCHA)", func(i int) error { return post(plain, i, fields(i, "form")) }); err != nil {
		return err
	}
	if err := phase("form post with Turnstile", func(i int) error {
		return post(withCaptcha, i, fields(i, "cap")+"&cf-turnstile-response="+captchasim.PassToken(captcha.Turnstile, fmt.Sprint(i)))
	}); err != nil {
		return err
	}
	if err := phase("form post caught by the honeypot", func(i int) error {
		return post(plain, i, strings.Replace(fields(i, "bot"), "website=", "website=spam", 1))
	}); err != nil {
		return err
	}
	base := ownTimes["keyed submission (POST /connections/{id}/submissions, for the ratio)"]
	fmt.Printf("\nown time, form post / keyed submission: %.2f; with Turnstile / keyed submission: %.2f\n",
		float64(ownTimes["form post (POST /f/{form_id}, honeypot, no CAPTCHA)"])/float64(base),
		float64(ownTimes["form post with Turnstile"])/float64(base))
	return nil
}

func crmCalls(sim *zohosim.Server) int {
	n := 0
	for _, v := range sim.Stats().CRMRequests {
		n += v
	}
	return n
}

// connect runs /connect, the simulator's consent and /oauth/callback.
func connectOrg(ctx context.Context, sim *zohosim.Server, simURL string, cb *connect.Handler) (string, string, error) {
	u := sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Environment: zoho.Production}}})
	get := func(path, q string) events.APIGatewayV2HTTPRequest {
		r := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: q, Headers: map[string]string{"accept": "application/json"}}
		r.RequestContext.HTTP.Method = "GET"
		return r
	}
	resp, err := cb.Handle(ctx, get("/connect", ""))
	if err != nil || resp.StatusCode != 302 {
		return "", "", fmt.Errorf("/connect answered %d: %v", resp.StatusCode, err)
	}
	cookies := resp.Cookies
	consent, _ := url.Parse(resp.Headers["Location"])
	q := consent.Query()
	q.Set("sim_org", u.Orgs[0].ID)
	q.Set("sim_action", "accept")
	consent.RawQuery = q.Encode()
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: simURL})
	if err != nil {
		return "", "", err
	}
	r, err := hc.Get(consent.String())
	if err != nil {
		return "", "", err
	}
	r.Body.Close()
	back, _ := url.Parse(r.Header.Get("Location"))
	// The browser sends back the cookie /connect set (the state's binding).
	cbReq := get("/oauth/callback", back.RawQuery)
	for _, c := range cookies {
		nv, _, _ := strings.Cut(c, ";")
		cbReq.Cookies = append(cbReq.Cookies, nv)
	}
	resp, err = cb.Handle(ctx, cbReq)
	if err != nil || resp.StatusCode != 200 {
		return "", "", fmt.Errorf("/oauth/callback answered %d: %v", resp.StatusCode, err)
	}
	var body struct {
		ConnectionID  string `json:"connection_id"`
		SubmissionKey string `json:"submission_key"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		return "", "", err
	}
	return body.ConnectionID, body.SubmissionKey, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
