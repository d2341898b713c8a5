package submission

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/httpapi"
	"github.com/zohoconnect/zohoconnect/internal/metrics"
)

// Handler turns the function's two kinds of events into the service's
// two calls: API Gateway requests into Submit, SQS batches into
// Redeliver.
type Handler struct {
	Service *Service
	Log     *slog.Logger
	// MaxBodyBytes is the largest body accepted (MAX_BODY_BYTES).
	MaxBodyBytes int
	// Metrics receives the Submissions and SubmissionLatency metrics
	// (nil: none).
	Metrics *metrics.Emitter
	// Forms serves the public forms' routes, /f/{form_id} (nil: none).
	Forms RouteHandler
}

// RouteHandler serves other routes of the function (internal/formpost:
// POST and OPTIONS /f/{form_id}).
type RouteHandler interface {
	Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse
}

// Invoke is the Lambda entry point: an SQS event (Records[].eventSource
// "aws:sqs") or an API Gateway HTTP API (payload 2.0) request.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return h.HandleSQS(ctx, ev), nil
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return httpapi.JSON(400, &httpapi.Error{Code: "invalid_request", Message: "the event is not an API Gateway request"}), nil
	}
	return h.Handle(ctx, req), nil
}

func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok { // API Gateway sends lower-case names
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Handle serves POST /connections/{connection_id}/submissions.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if h.Forms != nil && isFormRoute(req) {
		return h.Forms.Handle(ctx, req)
	}
	start := time.Now()
	resp := h.handle(ctx, req)
	outcome := submissionOutcome(resp.StatusCode)
	h.Metrics.Emit("submission outcome", [][2]string{{"Outcome", outcome}},
		metrics.Value{Name: metrics.Submissions, Unit: metrics.Count, Value: 1},
		metrics.Value{Name: metrics.SubmissionLatency, Unit: metrics.Milliseconds, Value: float64(time.Since(start).Microseconds()) / 1000})
	return resp
}

// MaxReceives is the submission queue's maxReceiveCount (template.yaml;
// a samtemplate test keeps the two equal): a message that fails its
// MaxReceives-th receive goes to the dead-letter queue.
const MaxReceives = 8

// Outcome names a submission's answer, by its status, for the metrics
// (internal/formpost's too).
func Outcome(status int) string { return submissionOutcome(status) }

// submissionOutcome names an answer for the metrics.
func submissionOutcome(status int) string {
	switch {
	case status == 201:
		return "created"
	case status == 200:
		return "matched"
	case status == 202:
		return "queued"
	case status == 422:
		return "rejected"
	case status >= 500:
		return "failed"
	}
	return "refused"
}

func (h *Handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if m := req.RequestContext.HTTP.Method; m != "" && m != "POST" {
		return h.fail(ErrMethod)
	}
	id := req.PathParameters["connection_id"]
	if id == "" {
		id = connectionFromPath(req.RawPath)
	}
	body, err := DecodeBody(req.Body, req.IsBase64Encoded, h.MaxBodyBytes)
	if err != nil {
		return h.fail(err)
	}
	method := req.RequestContext.HTTP.Method
	if method == "" {
		method = "POST"
	}
	ans, err := h.Service.Submit(ctx, Request{
		ConnectionID:   id,
		Method:         method,
		Path:           signedPath(req, id),
		Credentials:    ParseCredentials(header(req, "authorization"), header(req, "x-signature")),
		ContentType:    header(req, "content-type"),
		Body:           body,
		RawQuery:       req.RawQueryString,
		IdempotencyKey: header(req, "idempotency-key"),
	})
	if err != nil {
		return h.fail(err)
	}
	resp := httpapi.JSON(ans.Status, json.RawMessage(ans.Body))
	return resp
}

// connectionFromPath reads the id from /connections/{id}/submissions
// (under any stage prefix) when API Gateway gave no path parameter.
func connectionFromPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "connections" && parts[i+2] == "submissions" {
			return parts[i+1]
		}
	}
	return ""
}

// signedPath is the path a signature covers: the request's, without the
// API's stage (API Gateway keeps a named stage in rawPath:
// /prod/connections/...; the $default stage has none). Without a rawPath
// (an event made by hand) it is the route's path for id.
func signedPath(req events.APIGatewayV2HTTPRequest, id string) string {
	p := req.RawPath
	if p == "" {
		return "/connections/" + id + "/submissions"
	}
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		if rest, ok := strings.CutPrefix(p, "/"+st); ok && strings.HasPrefix(rest, "/") {
			return rest
		}
	}
	return p
}

// ErrMethod: not a POST.
var ErrMethod = errors.New("only POST is served here")

// failures maps the service's errors to the interface's answers.
var failures = []httpapi.Failure{
	{Err: ErrUnauthorized, Status: 401, Code: "unauthorized", Message: "A valid submission key (Authorization: Bearer) or a fresh signature (X-Signature: t=...,v1=...) for this connection is required."},
	{Err: ErrBodyTooLarge, Status: 413, Code: "body_too_large", Message: "The body is over the size limit."},
	{Err: ErrUnsupportedMedia, Status: 415, Code: "unsupported_media_type", Message: "Send application/json or application/x-www-form-urlencoded (UTF-8)."},
	{Err: ErrMalformedBody, Status: 400, Code: "invalid_request"},
	{Err: ErrUnknownModule, Status: 400, Code: "invalid_request"},
	{Err: ErrBadIdempotencyKey, Status: 400, Code: "invalid_request"},
	{Err: ErrKeyReused, Status: 409, Code: "idempotency_key_reused", Message: "This Idempotency-Key was already used for a different submission."},
	{Err: ErrInProgress, Status: 409, Code: "submission_in_progress", Message: "The same submission is being delivered now; send it again in a few seconds for its answer."},
	{Err: ErrRateLimited, Status: 429, Code: "rate_limited", Message: "Too many submissions for this connection; send it again after Retry-After seconds."},
	{Err: ErrMethod, Status: 405, Code: "method_not_allowed", Message: "Only POST is served here."},
}

func (h *Handler) fail(err error) events.APIGatewayV2HTTPResponse {
	var inv *InvalidError
	var rl *RateLimitedError
	if errors.As(err, &inv) {
		return httpapi.JSON(422, &httpapi.Error{Code: "invalid_submission", Message: inv.Message, Fields: inv.Fields})
	}
	if e := httpapi.Match(err, failures); e != nil {
		resp := httpapi.JSON(e.Status, e)
		switch {
		case e.Status == 401:
			resp.Headers["WWW-Authenticate"] = `Bearer realm="submissions"`
		case errors.Is(err, ErrInProgress):
			resp.Headers["Retry-After"] = "5"
		case errors.As(err, &rl):
			resp.Headers["Retry-After"] = strconv.Itoa(rl.RetryAfterSeconds())
		}
		return resp
	}
	h.Log.Error("submission failed", "err", err.Error())
	return httpapi.JSON(500, &httpapi.Error{Code: "internal", Message: "The submission could not be taken now. Please send it again in a minute."})
}

// HandleSQS delivers a batch from the retry queue, reporting the messages
// to try again (partial batch response). A failed message is hidden for
// its backoff first. A submission that waits (its org busy, its
// connection awaiting re-authorization) is not a failure: it was sent
// again as a fresh, delayed message.
func (h *Handler) HandleSQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	// One connection's messages are delivered together (batch.go: one
	// concurrency slot of its org, up to 100 records a Zoho call);
	// connections apart from each other, at once.
	errs := make([]error, len(ev.Records))
	outcomes := make([]string, len(ev.Records))
	var msgs []Message
	var at []int
	for i, rec := range ev.Records {
		var m Message
		if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.Key == "" {
			h.Log.Error("queue message unreadable: dropped", "message_id", rec.MessageId)
			continue
		}
		msgs, at = append(msgs, m), append(at, i)
	}
	merrs, mout := h.Service.RedeliverOutcomes(ctx, msgs)
	for k, err := range merrs {
		errs[at[k]], outcomes[at[k]] = err, mout[k]
	}
	var resp events.SQSEventResponse
	counts := map[string]int{}
	defer func() {
		for outcome, n := range counts {
			h.Metrics.Emit("queued submissions", [][2]string{{"Outcome", outcome}}, metrics.Value{Name: metrics.Submissions, Unit: metrics.Count, Value: float64(n)})
		}
	}()
	for i, rec := range ev.Records {
		err := errs[i]
		n, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		switch {
		case err == nil && outcomes[i] == "":
			counts["unreadable"]++ // dropped
			continue
		case err == nil:
			// delivered, or finished with otherwise: waiting (its org
			// busy) or held (re-authorization) in a fresh message,
			// already_done.
			counts[outcomes[i]]++
			continue
		case n >= MaxReceives: // SQS moves it to the dead-letter queue now
			counts["dead_lettered"]++
		default:
			counts["retried"]++
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		d := RetryAfter(err, n)
		if rec.ReceiptHandle != "" && h.Service.Queue != nil {
			if verr := h.Service.Queue.Delay(ctx, rec.ReceiptHandle, d); verr != nil {
				h.Log.Warn("setting a retry's backoff failed: it comes back after the queue's visibility timeout", "message_id", rec.MessageId, "err", verr.Error())
			}
		}
		h.Log.Info("queue message to retry", "message_id", rec.MessageId, "receive_count", n, "retry_after_seconds", int(d/time.Second))
	}
	return resp
}
