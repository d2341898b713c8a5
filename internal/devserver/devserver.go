// Package devserver serves the template's HTTP API routes on a local
// address, like `sam local start-api` but without Docker: each request
// becomes the API Gateway (payload 2.0) event its function would get
// (cookies in the event's cookies, JSON and text bodies as they are, other
// bodies base64-encoded), the function's real handler answers, and its
// cookies become Set-Cookie headers. Redirects to Zoho's consent page are
// pointed at the simulator, so a person can click through in a browser.
//
// The state cookie /connect sets is a __Host- cookie, Secure: over http,
// browsers keep it only for a secure context, which localhost and
// 127.0.0.1 are (headless Chromium keeps it on both; the browser test
// checks it on 127.0.0.1).
//
// Beside the template's routes: GET /_dev/return, a page standing in for
// the product's return_url; POST /_dev/refresh, one run of the refresh
// schedule.
package devserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zohoconnect/zohoconnect/internal/httpapi"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ReturnPath is the page standing in for the product's return_url.
const ReturnPath = "/_dev/return"

// maxBody bounds what the dev server reads of a request; the sync
// function applies its own, smaller limit.
const maxBody = 1 << 20

// Server routes requests to the bundle's handlers.
type Server struct {
	Bundle *localrun.Bundle
	Log    *slog.Logger
	// Site, when set, gets a demo form for every connection.connected
	// event WatchEvents sees, and WatchEvents prints its address.
	Site   *DemoSite
	routes []route
}

type route struct {
	method, path string // path as in the template, e.g. /connections/{connection_id}/submissions
	function     string
}

// New reads the routes from the template.
func New(b *localrun.Bundle, log *slog.Logger) (*Server, error) {
	s := &Server{Bundle: b, Log: log}
	for _, r := range b.Template.Routes {
		if s.handler(r.FunctionLogicalID) == nil {
			return nil, fmt.Errorf("devserver: route %s %s goes to %s, which this server cannot run", r.Method, r.Path, r.FunctionLogicalID)
		}
		s.routes = append(s.routes, route{method: strings.ToUpper(r.Method), path: r.Path, function: r.FunctionLogicalID})
	}
	if len(s.routes) == 0 {
		return nil, fmt.Errorf("devserver: the template has no HTTP API routes")
	}
	// API Gateway prefers the most specific route: literal paths first.
	sort.SliceStable(s.routes, func(i, j int) bool {
		return strings.Count(s.routes[i].path, "{") < strings.Count(s.routes[j].path, "{")
	})
	return s, nil
}

type handlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse

// handler is the bundle's handler of a function's HTTP API events.
func (s *Server) handler(function string) handlerFunc {
	b := s.Bundle
	switch function {
	case "CallbackFunction":
		return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			resp, _ := b.Callback.Handle(ctx, ev)
			return resp
		}
	case "SyncFunction":
		return b.Sync.Handle
	case "ProductApiFunction":
		return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			resp, _ := b.ProductAPI.Handle(ctx, ev)
			return resp
		}
	}
	return nil
}

// Routes lists "METHOD /path" of every route served.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/_dev/refresh":
		s.refresh(w, r)
		return
	case r.Method == http.MethodGet && r.URL.Path == ReturnPath:
		s.write(w, returnPage(r.URL.Query()))
		return
	}
	for _, rt := range s.routes {
		params, ok := match(rt.path, r.URL.Path)
		if !ok || rt.method != r.Method {
			continue
		}
		ev, err := event(r, rt, params)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		resp := s.handler(rt.function)(r.Context(), ev)
		s.write(w, resp)
		s.Log.Info("request", "method", r.Method, "path", r.URL.Path, "function", rt.function, "status_code", resp.StatusCode)
		return
	}
	http.Error(w, "no route: the template serves "+strings.Join(s.Routes(), ", "), http.StatusNotFound)
}

// match reports whether a request path fits a template path and returns
// its {parameters}.
func match(pattern, path string) (map[string]string, bool) {
	pp, rp := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(pp) != len(rp) {
		return nil, false
	}
	params := map[string]string{}
	for i := range pp {
		if strings.HasPrefix(pp[i], "{") && strings.HasSuffix(pp[i], "}") {
			if rp[i] == "" {
				return nil, false
			}
			params[strings.Trim(pp[i], "{}")] = rp[i]
		} else if pp[i] != rp[i] {
			return nil, false
		}
	}
	return params, true
}

// event builds the payload-2.0 event API Gateway would send.
func event(r *http.Request, rt route, params map[string]string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("the body is over %d bytes", maxBody)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.method + " " + rt.path, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}, PathParameters: params,
	}
	for k, v := range r.Header {
		if strings.EqualFold(k, "cookie") {
			// Payload 2.0 gathers the request's cookies in cookies.
			for _, line := range v {
				for _, c := range strings.Split(line, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev.Headers["host"] = r.Host
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	ev.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent(),
	}
	ev.RequestContext.RouteKey = ev.RouteKey
	ev.RequestContext.Stage = "$default"
	ev.RequestContext.DomainName = r.Host
	ev.RequestContext.DomainPrefix, _, _ = strings.Cut(r.Host, ".")
	ev.RequestContext.TimeEpoch = time.Now().UnixMilli()
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev, nil
}

// isText tells the bodies API Gateway hands a function as they are (JSON,
// XML, JavaScript, text/*) from those it base64-encodes (forms, multipart,
// anything else, or no type at all).
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), mt == "application/json", mt == "application/xml", mt == "application/javascript",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

func (s *Server) write(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Location") {
			v = s.simulated(v)
		}
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	_, _ = w.Write(body)
}

// simulated points a redirect to a Zoho host at the simulator, which
// stands in for that host under /_host/{host}/ (a browser cannot set the
// Host header).
func (s *Server) simulated(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	if _, _, ok := zoho.ByHost(u.Hostname()); !ok {
		return location
	}
	return s.Bundle.SimURL + "/_host/" + u.Hostname() + u.EscapedPath() + "?" + u.RawQuery
}

// returnPage stands in for the product's page a session's return_url
// names: it shows what the callback sent back, and what to do next.
func returnPage(q url.Values) events.APIGatewayV2HTTPResponse {
	var facts [][2]string
	for _, k := range []string{"status", "connection_id", "session_id", "error"} {
		if v := q.Get(k); v != "" {
			facts = append(facts, [2]string{k, v})
		}
	}
	title, note := "Back in the product: connected", "The product now fetches a submission key: "+
		"POST /connections/"+q.Get("connection_id")+"/submission-key with its API key."
	if q.Get("status") != "connected" {
		title, note = "Back in the product: not connected", "The connect did not complete ("+q.Get("error")+"): open a new session and try again."
	}
	return httpapi.Page(200, httpapi.PageContent{Title: title, Facts: facts, Note: note})
}

// WatchEvents prints every event that reaches the bus, one line each,
// until ctx ends.
func (s *Server) WatchEvents(ctx context.Context, out io.Writer) {
	for {
		ev, err := s.Bundle.NextEvent(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Warn("reading the bus failed", "err", err.Error())
				time.Sleep(time.Second)
				continue
			}
			return
		}
		fmt.Fprintln(out, EventLine(ev))
		if s.Site != nil && ev.DetailType == productevents.Connected {
			s.demoForm(ctx, out, ev.Detail.ConnectionID)
		}
	}
}

// demoForm makes the connection a demo form on the demo site and prints
// where to open it.
func (s *Server) demoForm(ctx context.Context, out io.Writer, connectionID string) {
	id, err := s.Site.CreateForm(ctx, connectionID)
	if err != nil {
		fmt.Fprintf(out, "  (no demo form: %v)\n", err)
		return
	}
	fmt.Fprintf(out, "  demo form %s: open %s/?form=%s (another origin), send it, and the thank-you page lists the org's leads\n",
		id, s.Site.Origin, id)
}

// EventLine is an event in one line: what happened, to which connection,
// for which tenant.
func EventLine(ev localrun.BusEvent) string {
	d := ev.Detail
	line := fmt.Sprintf("event %s: %s, tenant %q, %s %s org %s %q, by %s", ev.DetailType, d.ConnectionID, d.TenantID,
		d.Location, d.Environment, d.OrgID, d.OrgName, d.UserEmail)
	if d.PreviousUserEmail != "" {
		line += " (was " + d.PreviousUserEmail + ")"
	}
	if d.Reason != "" {
		line += ", reason " + d.Reason
	}
	if d.SessionID != "" {
		line += ", session " + d.SessionID
	}
	return line
}

// refresh runs the refresh function as its schedule would.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	out, err := s.Bundle.Refresh.Handle(r.Context(), json.RawMessage(`{"source":"devserver"}`))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// ConsumeQueue delivers queued submissions as Lambda's SQS event source
// would: it receives batches from the submission queue, hands them to the
// sync function and deletes what it did not report as failed. It returns
// when ctx ends.
func (s *Server) ConsumeQueue(ctx context.Context) {
	q := sqs.NewFromConfig(s.Bundle.AWS)
	queueURL := s.Bundle.Deploy.Queues["SubmissionQueue"]
	arn := s.Bundle.Deploy.QueueARNs["SubmissionQueue"]
	for ctx.Err() == nil {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}, MessageAttributeNames: []string{"All"},
		})
		if err != nil || len(out.Messages) == 0 {
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("queue receive failed", "err", err.Error())
				time.Sleep(time.Second)
			}
			continue
		}
		ev := events.SQSEvent{}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: s.Bundle.AWS.Region,
			})
		}
		resp := s.Bundle.Sync.HandleSQS(ctx, ev)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				_, _ = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
			}
		}
		s.Log.Info("queue batch delivered", "messages", len(out.Messages), "failed", len(failed))
	}
}
