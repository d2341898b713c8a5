package localinvoke

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"gopkg.in/yaml.v3"

	"github.com/zohoconnect/zohoconnect/internal/localrun/ddbstream"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// The routes the stage drives to seed what events need; the function
// serving each is whatever the template says.
const (
	routeConnect     = "GET /connect"
	routeCallback    = "GET /oauth/callback"
	routeSubmissions = "POST /connections/{connection_id}/submissions"
	routeSessions    = "POST /connect/sessions"
	routeForms       = "POST /connections/{connection_id}/forms"
	routeFormPost    = "POST /f/{form_id}"
	routeFormOptions = "OPTIONS /f/{form_id}"
)

// What the stage's form allows: the page it sits on, and where a
// browser's post is sent after.
const (
	FormOrigin      = "https://www.example.com"
	FormRedirectURL = "https://www.example.com/thanks"
)

// Form is the public form the stage made on the seed org's connection.
type Form struct {
	ID        string `json:"form_id"`
	ActionURL string `json:"action_url"`
}

// Connection is the org the stage connected, as the callback answered.
type Connection struct {
	ID            string `json:"connection_id"`
	SubmissionKey string `json:"submission_key"`
	Location      string `json:"location"`
	Environment   string `json:"environment"`
	OrgID         string `json:"org_id"`
	OrgName       string `json:"org_name"`
}

// QueuedSubmission is a submission the stage stored queued, and the
// message sync sent for it.
type QueuedSubmission struct {
	Message struct {
		Key          string `json:"idempotency_key"`
		ConnectionID string `json:"connection_id"`
		SubmissionID string `json:"submission_id"`
	}
	// Email is the submitted lead's, to find it in the org once delivered.
	Email string
}

// Prepare makes an event real for this stage (see the package comment)
// and answers the event to send. name is the event's file name
// (events/callback-session.json): it says only what the event cannot,
// whether a callback comes back from a connect session. An event of no
// kind it knows is answered unchanged.
func (s *Stage) Prepare(ctx context.Context, name string, event []byte) ([]byte, error) {
	ev, err := decodeObject(event)
	if err != nil {
		return nil, err
	}
	switch {
	case isHTTP(ev):
		err = s.prepareHTTP(ctx, filepath.Base(name), ev)
	case isSQS(ev):
		err = s.prepareSQS(ctx, ev)
	case isStream(ev):
		var real []byte
		if real, err = s.StreamEvent(ctx); err == nil {
			return real, nil
		}
	case isScheduled(ev):
		_, err = s.Connected(ctx) // something due to refresh
	case isRefreshOne(ev):
		err = s.prepareRefreshOne(ctx, ev)
	default:
		return event, nil
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers as written (timeEpoch)
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("localinvoke: the event is not a JSON object: %w", err)
	}
	return ev, nil
}

func isHTTP(ev map[string]any) bool {
	_, rk := ev["routeKey"].(string)
	_, rc := ev["requestContext"].(map[string]any)
	return rk && rc
}

func isSQS(ev map[string]any) bool {
	recs, _ := ev["Records"].([]any)
	if len(recs) == 0 {
		return false
	}
	r, _ := recs[0].(map[string]any)
	return r["eventSource"] == "aws:sqs"
}

func isStream(ev map[string]any) bool {
	recs, _ := ev["Records"].([]any)
	if len(recs) == 0 {
		return false
	}
	r, _ := recs[0].(map[string]any)
	return r["eventSource"] == "aws:dynamodb"
}

func isScheduled(ev map[string]any) bool {
	return ev["detail-type"] == "Scheduled Event"
}

func isRefreshOne(ev map[string]any) bool {
	_, ok := ev["connection_id"].(string)
	return ok && len(ev) <= 2
}

func (s *Stage) prepareHTTP(ctx context.Context, name string, ev map[string]any) error {
	switch ev["routeKey"] {
	case routeConnect:
		if q, _ := url.ParseQuery(str(ev["rawQueryString"])); q.Has("session") {
			_, token, err := s.OpenSession(ctx)
			if err != nil {
				return err
			}
			setQuery(ev, url.Values{"session": {token}}.Encode())
		}
	case routeSessions:
		headers, _ := ev["headers"].(map[string]any)
		for k, v := range headers {
			if strings.EqualFold(k, "authorization") && strings.HasPrefix(strings.ToLower(str(v)), "bearer ") {
				headers[k] = "Bearer " + s.ProductAPIKey
			}
		}
	case routeCallback:
		q, _ := url.ParseQuery(str(ev["rawQueryString"]))
		action := ""
		switch {
		case q.Has("code"):
			action = "accept"
		case q.Has("error"):
			action = "reject"
		default:
			return nil // an invalid request stays one
		}
		connect := "environment=sandbox"
		if strings.Contains(name, "session") {
			_, token, err := s.OpenSession(ctx)
			if err != nil {
				return err
			}
			connect = url.Values{"session": {token}}.Encode()
		}
		back, cookies, err := s.consent(ctx, connect, CallbackOrgID, action)
		if err != nil {
			return err
		}
		setQuery(ev, back)
		if len(cookies) > 0 {
			ev["cookies"] = toAny(cookies)
		}
	case routeSubmissions:
		c, err := s.Connected(ctx)
		if err != nil {
			return err
		}
		return s.authorize(ev, c)
	case routeFormPost, routeFormOptions:
		f, err := s.Form(ctx)
		if err != nil {
			return err
		}
		setPath(ev, "/f/"+f.ID, map[string]any{"form_id": f.ID})
	}
	return nil
}

// setPath points an HTTP API request at path, with its path parameters.
func setPath(ev map[string]any, path string, params map[string]any) {
	ev["rawPath"] = path
	ev["pathParameters"] = params
	if rc, ok := ev["requestContext"].(map[string]any); ok {
		if h, ok := rc["http"].(map[string]any); ok {
			h["path"] = path
		}
	}
}

// Form makes, once per stage, a public form on the seed org's connection
// (Connected) the way the product does: POST
// /connections/{connection_id}/forms through the function the template
// routes it to, with the stage's product API key: Leads, FormOrigin
// allowed, FormRedirectURL, Last_Name required, a honeypot field
// "website".
func (s *Stage) Form(ctx context.Context) (*Form, error) {
	s.mu.Lock()
	f := s.form
	s.mu.Unlock()
	if f != nil {
		return f, nil
	}
	c, err := s.Connected(ctx)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{
		"module": "Leads", "allowed_origins": []string{FormOrigin}, "redirect_url": FormRedirectURL,
		"required_fields": []string{"Last_Name"}, "honeypot_field": "website",
	})
	path := "/connections/" + c.ID + "/forms"
	req := HTTPRequest(http.MethodPost, path, "", map[string]string{
		"content-type": "application/json", "authorization": "Bearer " + s.ProductAPIKey}, body)
	req.RouteKey, req.RequestContext.RouteKey = routeForms, routeForms
	req.PathParameters = map[string]string{"connection_id": c.ID}
	resp, err := s.invokeRoute(ctx, routeForms, "seed: POST /connections/{connection_id}/forms", req)
	if err != nil {
		return nil, err
	}
	f = &Form{}
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), f) != nil || f.ID == "" {
		return nil, fmt.Errorf("localinvoke: making a form: the product API answered %d %s", resp.StatusCode, resp.Body)
	}
	s.mu.Lock()
	if s.form == nil {
		s.form = f
	}
	f = s.form
	s.mu.Unlock()
	return f, nil
}

// setQuery sets rawQueryString and queryStringParameters (API Gateway
// joins repeated names with commas).
func setQuery(ev map[string]any, raw string) {
	ev["rawQueryString"] = raw
	q, _ := url.ParseQuery(raw)
	params := map[string]any{}
	for k, v := range q {
		params[k] = strings.Join(v, ",")
	}
	ev["queryStringParameters"] = params
}

// authorize points a submission at connection c and replaces its
// credential with c's: a Bearer key by c's submission key, a signature
// by one made with it.
func (s *Stage) authorize(ev map[string]any, c *Connection) error {
	path := "/connections/" + c.ID + "/submissions"
	ev["rawPath"] = path
	ev["pathParameters"] = map[string]any{"connection_id": c.ID}
	if rc, ok := ev["requestContext"].(map[string]any); ok {
		if h, ok := rc["http"].(map[string]any); ok {
			h["path"] = path
		}
	}
	headers, _ := ev["headers"].(map[string]any)
	body := []byte(str(ev["body"]))
	if ev["isBase64Encoded"] == true {
		b, err := base64.StdEncoding.DecodeString(str(ev["body"]))
		if err != nil {
			return fmt.Errorf("localinvoke: isBase64Encoded, but the body is not base64: %w", err)
		}
		body = b
	}
	idem := ""
	for k, v := range headers {
		if strings.EqualFold(k, "idempotency-key") {
			idem = str(v)
		}
	}
	for k, v := range headers {
		switch strings.ToLower(k) {
		case "authorization":
			if scheme, _, ok := strings.Cut(str(v), " "); ok && strings.EqualFold(scheme, "Bearer") {
				headers[k] = "Bearer " + c.SubmissionKey
			}
		case "x-signature":
			method := http.MethodPost
			if rc, ok := ev["requestContext"].(map[string]any); ok {
				if h, ok := rc["http"].(map[string]any); ok && str(h["method"]) != "" {
					method = str(h["method"])
				}
			}
			headers[k] = Sign(c.SubmissionKey, method, path, str(ev["rawQueryString"]), idem, body, time.Now())
		}
	}
	return nil
}

// Sign is the X-Signature a client sends (submission.Sign: interface.md's
// t=,v1= scheme) for a request at now.
func Sign(key, method, path, rawQuery, idempotencyKey string, body []byte, now time.Time) string {
	return submission.Sign(key, now, submission.Signed{Method: method, Path: path, RawQuery: rawQuery, IdempotencyKey: idempotencyKey, Body: body})
}

func (s *Stage) prepareSQS(ctx context.Context, ev map[string]any) error {
	queueARN := s.sqsQueueARN()
	for _, r := range ev["Records"].([]any) {
		rec, ok := r.(map[string]any)
		if !ok {
			continue
		}
		q, err := s.QueueSubmission(ctx)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(q.Message)
		sum := md5.Sum(body)
		rec["body"] = string(body)
		rec["md5OfBody"] = hex.EncodeToString(sum[:])
		rec["messageId"] = uuid()
		rec["awsRegion"] = s.endpoints.Region
		if queueARN != "" {
			rec["eventSourceARN"] = queueARN
		}
	}
	return nil
}

func (s *Stage) prepareRefreshOne(ctx context.Context, ev map[string]any) error {
	c, err := s.Connected(ctx)
	if err != nil {
		return err
	}
	ev["connection_id"] = c.ID
	if _, ok := ev["rejected_token_expires_at"]; ok {
		exp, err := s.TokenExpiry(ctx, c.ID)
		if err != nil {
			return err
		}
		ev["rejected_token_expires_at"] = exp.UTC().Format(time.RFC3339)
	}
	return nil
}

// Connected connects SeedOrgID once per stage (the callback events
// connect CallbackOrgID, so that this one's submission key is shown to
// the stage, which connects it first), the way a person does:
// GET /connect, the simulator's consent page accepted, GET /oauth/callback
// (asking for JSON), each through the function the template routes it
// to.
func (s *Stage) Connected(ctx context.Context) (*Connection, error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	back, cookies, err := s.consent(ctx, "environment=sandbox", SeedOrgID, "accept")
	if err != nil {
		return nil, err
	}
	req := HTTPRequest(http.MethodGet, "/oauth/callback", back, map[string]string{"accept": "application/json"}, nil)
	req.Cookies = cookies
	resp, err := s.invokeRoute(ctx, routeCallback, "seed: GET /oauth/callback", req)
	if err != nil {
		return nil, err
	}
	c = &Connection{}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), c) != nil || c.ID == "" || c.SubmissionKey == "" {
		return nil, fmt.Errorf("localinvoke: connecting the seed org: /oauth/callback answered %d %s", resp.StatusCode, resp.Body)
	}
	s.addSecret(c.SubmissionKey)
	s.mu.Lock()
	if s.conn == nil {
		s.conn = c
	}
	c = s.conn
	s.mu.Unlock()
	return c, nil
}

// consent runs GET /connect?connectQuery and plays the person on Zoho's
// consent page for orgID (action "accept" or "reject"): it answers the
// query of Zoho's redirect back, and the cookies /connect set, as a
// browser would send them.
func (s *Stage) consent(ctx context.Context, connectQuery, orgID, action string) (string, []string, error) {
	resp, err := s.invokeRoute(ctx, routeConnect, "seed: GET /connect", HTTPRequest(http.MethodGet, "/connect", connectQuery, nil, nil))
	if err != nil {
		return "", nil, err
	}
	loc := resp.Headers["Location"]
	if resp.StatusCode != 302 || loc == "" {
		return "", nil, fmt.Errorf("localinvoke: /connect answered %d %s", resp.StatusCode, resp.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("sim_org", orgID)
	q.Set("sim_action", action)
	u.RawQuery = q.Encode()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, err
	}
	zr, err := s.zohoHTTP.Do(hr)
	if err != nil {
		return "", nil, fmt.Errorf("localinvoke: the simulator's consent page: %w", err)
	}
	zr.Body.Close()
	back, err := url.Parse(zr.Header.Get("Location"))
	if zr.StatusCode != 302 || err != nil {
		return "", nil, fmt.Errorf("localinvoke: the simulator's consent answered %d, Location %q", zr.StatusCode, zr.Header.Get("Location"))
	}
	var cookies []string
	for _, c := range resp.Cookies {
		nameValue, _, _ := strings.Cut(c, ";")
		cookies = append(cookies, strings.TrimSpace(nameValue))
		if _, v, ok := strings.Cut(nameValue, "="); ok {
			s.addSecret(v)
		}
	}
	return back.RawQuery, cookies, nil
}

// OpenSession opens a connect session for SessionTenant, the way the
// product does (POST /connect/sessions with its API key, through the
// function the template routes it to): a sandbox org, ReturnURL, metadata
// plan=pro. It answers the session's id and token (the connect_url's).
func (s *Stage) OpenSession(ctx context.Context) (id, token string, err error) {
	body, _ := json.Marshal(map[string]any{"tenant_id": SessionTenant, "environment": "sandbox", "return_url": ReturnURL, "metadata": map[string]string{"plan": "pro"}})
	req := HTTPRequest(http.MethodPost, "/connect/sessions", "", map[string]string{
		"content-type": "application/json", "authorization": "Bearer " + s.ProductAPIKey}, body)
	resp, err := s.invokeRoute(ctx, routeSessions, "seed: POST /connect/sessions", req)
	if err != nil {
		return "", "", err
	}
	var sess struct {
		ID  string `json:"session_id"`
		URL string `json:"connect_url"`
	}
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &sess) != nil {
		return "", "", fmt.Errorf("localinvoke: opening a connect session: the product API answered %d %s", resp.StatusCode, resp.Body)
	}
	u, err := url.Parse(sess.URL)
	if err != nil || u.Query().Get("session") == "" {
		return "", "", fmt.Errorf("localinvoke: the session's connect_url %q names no session", sess.URL)
	}
	token = u.Query().Get("session")
	if _, secret, ok := strings.Cut(token, "."); ok {
		s.addSecret(secret)
	}
	return sess.ID, token, nil
}

// SessionConnected connects SeedOrgID for SessionTenant through a connect
// session, once per stage, as the product's customer does: the session,
// GET /connect?session=..., the simulator's consent, GET /oauth/callback
// with the cookie, which sends the browser back to ReturnURL.
func (s *Stage) SessionConnected(ctx context.Context) (*Connection, error) {
	s.mu.Lock()
	c := s.tenant
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	_, token, err := s.OpenSession(ctx)
	if err != nil {
		return nil, err
	}
	back, cookies, err := s.consent(ctx, url.Values{"session": {token}}.Encode(), SeedOrgID, "accept")
	if err != nil {
		return nil, err
	}
	req := HTTPRequest(http.MethodGet, "/oauth/callback", back, nil, nil)
	req.Cookies = cookies
	resp, err := s.invokeRoute(ctx, routeCallback, "seed: GET /oauth/callback (a session's)", req)
	if err != nil {
		return nil, err
	}
	loc, err := url.Parse(resp.Headers["Location"])
	if resp.StatusCode != 303 || err != nil || loc.Query().Get("status") != "connected" || loc.Query().Get("connection_id") == "" {
		return nil, fmt.Errorf("localinvoke: connecting through a session: /oauth/callback answered %d, Location %q", resp.StatusCode, resp.Headers["Location"])
	}
	c = &Connection{ID: loc.Query().Get("connection_id"), Location: "eu", Environment: "sandbox", OrgID: SeedOrgID, OrgName: SeedOrgName}
	s.mu.Lock()
	if s.tenant == nil {
		s.tenant = c
	}
	c = s.tenant
	s.mu.Unlock()
	return c, nil
}

// StreamEvent is the DynamoDB stream event Lambda delivers to
// EventsFunction for SessionConnected's connection: the INSERT record the
// connections table wrote, read from DynamoDB Local's stream; the same
// record each time.
func (s *Stage) StreamEvent(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	cached := s.stream
	s.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	c, err := s.SessionConnected(ctx)
	if err != nil {
		return nil, err
	}
	arn := s.Deploy.Streams["ConnectionsTable"]
	recs, err := ddbstream.ReadAll(ctx, s.streams, arn)
	if err != nil {
		return nil, fmt.Errorf("localinvoke: reading the connections stream: %w", err)
	}
	for _, r := range recs {
		if r.EventName != streamtypes.OperationTypeInsert || r.Dynamodb == nil {
			continue
		}
		if id, _ := r.Dynamodb.Keys["connection_id"].(*streamtypes.AttributeValueMemberS); id != nil && id.Value == c.ID {
			b, err := ddbstream.EventJSON([]streamtypes.Record{r}, arn)
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.stream = b
			s.mu.Unlock()
			return b, nil
		}
	}
	return nil, fmt.Errorf("localinvoke: the connections stream holds no INSERT of %s (%d records)", c.ID, len(recs))
}

// QueueSubmission stores a submission queued, the way it happens: posted
// to the submissions route with the seed org's key while the simulated
// CRM answers 503, so sync answers 202 and stores it for the retry
// queue. The message sync sent waits out the queue's delay (30 s), so
// the stage builds the same message from the entry sync stored.
func (s *Stage) QueueSubmission(ctx context.Context) (*QueuedSubmission, error) {
	c, err := s.Connected(ctx)
	if err != nil {
		return nil, err
	}
	q := &QueuedSubmission{Email: "queued." + randomHex(4) + "@example.com"}
	body, _ := json.Marshal(map[string]string{"Last_Name": "Queued", "First_Name": "Quinn", "Email": q.Email, "Company": "Retry GmbH"})
	req := HTTPRequest(http.MethodPost, "/connections/"+c.ID+"/submissions", "", map[string]string{
		"content-type": "application/json", "authorization": "Bearer " + c.SubmissionKey, "idempotency-key": "seed-" + randomHex(8),
	}, body)
	req.RouteKey, req.RequestContext.RouteKey = routeSubmissions, routeSubmissions
	req.PathParameters = map[string]string{"connection_id": c.ID}

	s.Sim.Inject(zohosim.Fault{Path: "/crm/*", Status: 503})
	resp, err := s.invokeRoute(ctx, routeSubmissions, "seed: POST a submission while Zoho answers 503", req)
	s.Sim.ClearFaults()
	if err != nil {
		return nil, err
	}
	var answer struct {
		Status       string `json:"status"`
		SubmissionID string `json:"submission_id"`
	}
	if resp.StatusCode != 202 || json.Unmarshal([]byte(resp.Body), &answer) != nil || answer.Status != "queued" || answer.SubmissionID == "" {
		return nil, fmt.Errorf("localinvoke: queueing a submission: sync answered %d %s", resp.StatusCode, resp.Body)
	}
	out, err := s.db.Scan(ctx, &dynamodb.ScanInput{
		TableName:                 aws.String(s.Deploy.Tables["IdempotencyTable"]),
		FilterExpression:          aws.String("submission_id = :id"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": &ddbtypes.AttributeValueMemberS{Value: answer.SubmissionID}},
	})
	if err != nil {
		return nil, fmt.Errorf("localinvoke: finding the queued entry: %w", err)
	}
	if len(out.Items) != 1 {
		return nil, fmt.Errorf("localinvoke: %d idempotency entries hold submission %s, want 1", len(out.Items), answer.SubmissionID)
	}
	key, _ := out.Items[0]["idempotency_key"].(*ddbtypes.AttributeValueMemberS)
	if key == nil {
		return nil, errors.New("localinvoke: the queued entry has no idempotency_key")
	}
	q.Message.Key, q.Message.ConnectionID, q.Message.SubmissionID = key.Value, c.ID, answer.SubmissionID
	s.mu.Lock()
	s.queued = append(s.queued, q)
	s.mu.Unlock()
	return q, nil
}

// Queued lists the submissions QueueSubmission stored.
func (s *Stage) Queued() []*QueuedSubmission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*QueuedSubmission(nil), s.queued...)
}

// TokenExpiry is the expiry of the access token stored for a connection
// (the connections table's token_expires_at, the due index's sort key).
func (s *Stage) TokenExpiry(ctx context.Context, id string) (time.Time, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.Deploy.Tables["ConnectionsTable"]),
		Key:                  map[string]ddbtypes.AttributeValue{"connection_id": &ddbtypes.AttributeValueMemberS{Value: id}},
		ProjectionExpression: aws.String("token_expires_at"),
		ConsistentRead:       aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, err
	}
	n, _ := out.Item["token_expires_at"].(*ddbtypes.AttributeValueMemberN)
	if n == nil {
		return time.Time{}, fmt.Errorf("localinvoke: connection %s has no token_expires_at", id)
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, 0), nil
}

// invokeRoute sends an HTTP API request to the function the template
// routes routeKey to, and decodes its answer.
func (s *Stage) invokeRoute(ctx context.Context, routeKey, what string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var resp events.APIGatewayV2HTTPResponse
	fn, err := s.RouteFunction(routeKey)
	if err != nil {
		return resp, err
	}
	if req.RouteKey == "" {
		req.RouteKey, req.RequestContext.RouteKey = routeKey, routeKey
	}
	b, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	inv, err := s.Invoke(ctx, fn, what, b)
	if err != nil {
		return resp, err
	}
	if inv.FunctionError != "" {
		return resp, fmt.Errorf("localinvoke: %s failed on %s: %s", fn, what, inv.Payload)
	}
	if err := json.Unmarshal(inv.Payload, &resp); err != nil {
		return resp, fmt.Errorf("localinvoke: %s answered %s with %s: %w", fn, what, inv.Payload, err)
	}
	return resp, nil
}

// RouteFunction is the logical id of the function the template routes an
// HTTP API route ("GET /connect") to.
func (s *Stage) RouteFunction(routeKey string) (string, error) {
	for _, r := range s.Template.Routes {
		if r.Method+" "+r.Path == routeKey {
			return r.FunctionLogicalID, nil
		}
	}
	return "", fmt.Errorf("localinvoke: the template has no route %s", routeKey)
}

// FunctionFor is the function the template delivers an event to: an HTTP
// API request's route's, an SQS record's queue's consumer, a scheduled
// event's schedule's. "" for an event the template delivers nowhere
// (sync's direct invocation of RefreshFunction, for one).
func (s *Stage) FunctionFor(event []byte) (string, error) {
	return FunctionFor(s.Template.Functions, s.Template.Routes, event)
}

func (s *Stage) sqsQueueARN() string {
	for _, fn := range s.Template.Functions {
		for _, e := range fn.Events {
			if e.Type == "SQS" {
				if id := getAttID(propertyNode(e.Properties, "Queue")); id != "" {
					return s.Deploy.QueueARNs[id]
				}
			}
		}
	}
	return ""
}

// HTTPRequest is an API Gateway HTTP API (payload 2.0) request as the
// stage sends it for its seeds; set RouteKey for a route with parameters.
func HTTPRequest(method, path, rawQuery string, headers map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"host": "local.execute-api.us-east-1.amazonaws.com", "user-agent": "localinvoke"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	r := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: rawQuery, Headers: h, Body: string(body),
	}
	if q, err := url.ParseQuery(rawQuery); err == nil && len(q) > 0 {
		r.QueryStringParameters = map[string]string{}
		for k, v := range q {
			r.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	r.RequestContext.RouteKey = r.RouteKey
	r.RequestContext.Stage = "$default"
	r.RequestContext.RequestID = randomHex(8)
	r.RequestContext.DomainName = h["host"]
	r.RequestContext.TimeEpoch = time.Now().UnixMilli()
	r.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: h["user-agent"],
	}
	return r
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func uuid() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// propertyNode is a mapping's value for key, nil when absent.
func propertyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// getAttID is the logical id of a !GetAtt X.Arn (short or long form).
func getAttID(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Tag == "!GetAtt" {
		if n.Kind == yaml.ScalarNode {
			id, _, _ := strings.Cut(n.Value, ".")
			return id
		}
		if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
			return n.Content[0].Value
		}
	}
	if v := propertyNode(n, "Fn::GetAtt"); v != nil {
		if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
			return v.Content[0].Value
		}
		id, _, _ := strings.Cut(v.Value, ".")
		return id
	}
	return ""
}
