package submission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh/ondemand"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ConnectionStore keeps connections. Sync reads them and makes one write:
// an UpdateActive of connection.RequireReauth (awsstore.ConnectionStore:
// one UpdateItem naming only the status attributes, which is all
// SyncFunction's IAM policy allows).
type ConnectionStore interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
	// UpdateActive makes change happen to an active connection, writing
	// only what change changed (the item is not read first: change sees
	// the id and the active status). A connection that is not active, or
	// unknown, is left as it is, without an error.
	UpdateActive(ctx context.Context, id string, change func(*connection.Connection)) error
}

// TokenVault reads access tokens.
type TokenVault interface {
	AccessToken(ctx context.Context, id string) (connection.AccessToken, error)
}

// KeyChecker checks the product's API key (its current or previous value).
type KeyChecker interface {
	Check(ctx context.Context, presented string) (bool, error)
}

// KeySource gives the submission-key deriver (its master is a secret).
type KeySource interface {
	Keys(ctx context.Context) (*connection.SubmissionKeys, error)
}

// Refresher refreshes one connection's access token now, under the same
// lease as the scheduled refresh (the RefreshFunction, invoked).
type Refresher interface {
	// RefreshConnection asks for a new access token. rejected, when not
	// zero, is the expiry of the access token Zoho refused: the refresh
	// happens when the stored token is still that one, however young
	// (Zoho may kill a token early: a revocation, its limit of active
	// tokens), and not when someone replaced it meanwhile.
	RefreshConnection(ctx context.Context, id string, rejected time.Time) error
}

// ErrReauthRequired is what a Refresher returns when the connection's
// refresh token no longer works: someone must connect the org again.
var ErrReauthRequired = ondemand.ErrReauthRequired

// CRM writes records.
type CRM interface {
	Insert(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error)
	Upsert(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error)
}

// Service takes submissions and delivers them.
type Service struct {
	Connections ConnectionStore
	Tokens      TokenVault
	Keys        KeySource
	// ProductKey checks the product's API key, which may submit for any
	// connection (nil: only submission keys and signatures).
	ProductKey KeyChecker
	Refresher  Refresher
	// NewCRM makes a CRM client for the connection's DC and environment.
	NewCRM      func(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) CRM
	Idempotency Idempotency
	Queue       Queue
	Log         *slog.Logger
	Now         clock.Func
	Timings     Timings

	tokens tokenCache
}

// Timings are the service's clocks. Zero fields take the defaults.
type Timings struct {
	// ClaimTTL: how long a claim keeps others out (60 s: more than a
	// run's Zoho call, refresh and retry; the function times out at 20 s).
	ClaimTTL time.Duration
	// DoneTTL: how long an answer is remembered for repeats (24 h).
	DoneTTL time.Duration
	// QueuedTTL: how long a queued entry (and its record) is kept (30
	// days: the longest hold, then the dead-letter queue's 14 days).
	QueuedTTL time.Duration
	// HoldFor: how long a submission waits for a re-authorization before
	// it is given up to the dead-letter queue (7 days).
	HoldFor time.Duration
	// HoldDelay: how often a held submission looks at its connection
	// again (15 min, SQS's longest delay).
	HoldDelay time.Duration
	// RetryDelay: the delay of a fresh queue message when Zoho failed (30 s).
	RetryDelay time.Duration
	// ZohoTimeout bounds a delivery's Zoho call (10 s), so that a slow Zoho
	// still leaves time to queue within API Gateway's 30 s.
	ZohoTimeout time.Duration
	// TokenMargin: a cached access token is used until this long before
	// it expires (2 min).
	TokenMargin time.Duration
}

func (t Timings) withDefaults() Timings {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ClaimTTL, 60*time.Second)
	def(&t.DoneTTL, 24*time.Hour)
	def(&t.QueuedTTL, 30*24*time.Hour)
	def(&t.HoldFor, 7*24*time.Hour)
	def(&t.HoldDelay, 15*time.Minute)
	def(&t.RetryDelay, 30*time.Second)
	def(&t.ZohoTimeout, 10*time.Second)
	def(&t.TokenMargin, 2*time.Minute)
	return t
}

// Request is one POST, as the handler read it.
type Request struct {
	ConnectionID   string
	Credentials    Credentials
	ContentType    string
	Body           []byte // decoded
	RawQuery       string
	IdempotencyKey string // the header, "" when absent
}

// InvalidError is a submission Zoho would refuse (or did): field → problem.
type InvalidError struct {
	Message string
	Fields  map[string]string
}

func (e *InvalidError) Error() string { return "invalid submission: " + e.Message }

// ErrInProgress: the same submission is being delivered by another run.
var ErrInProgress = errors.New("the same submission is being delivered now")

// ErrKeyReused: an Idempotency-Key came back with other content.
var ErrKeyReused = errors.New("the Idempotency-Key was used for another submission")

// Submit authenticates, checks, maps and delivers one submission, or
// queues it. The answer is what the client gets (and what a repeat gets);
// errors are refusals the handler turns into answers.
func (s *Service) Submit(ctx context.Context, r Request) (Answer, error) {
	c, err := s.authenticate(ctx, r.ConnectionID, r.Credentials, r.Body)
	if err != nil {
		return Answer{}, err
	}
	mt, err := ParseContentType(r.ContentType)
	if err != nil {
		return Answer{}, err
	}
	module, err := ParseModule(r.RawQuery)
	if err != nil {
		return Answer{}, err
	}
	if r.IdempotencyKey != "" {
		if err := CheckIdempotencyKey(r.IdempotencyKey); err != nil {
			return Answer{}, err
		}
	}
	fields, err := ParseBody(mt, r.Body)
	if err != nil {
		return Answer{}, err
	}
	m := Map(module, fields, c.FieldMapping)
	log := s.Log.With("connection_id", c.ID, "module", module)
	if len(m.Ignored) > 0 {
		log.Info("fields ignored: no CRM field of that name", "fields", m.Ignored)
	}
	if p := Validate(module, m.Record); p != nil {
		log.Info("submission refused before Zoho", "fields", FieldNames(p))
		return Answer{}, &InvalidError{Message: "Zoho CRM would refuse this submission: see fields.", Fields: p}
	}
	content, err := canonical(fields)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %v", ErrMalformedBody, err)
	}
	now := s.Now.Now()
	t := s.Timings.withDefaults()
	e := &Entry{
		Key:          IdempotencyKey(c.ID, module, r.IdempotencyKey, content),
		ConnectionID: c.ID, Module: module,
		Fingerprint:  sum("content", module, string(content)),
		SubmissionID: randomID("sub_"),
		State:        Claimed, ClaimToken: randomID(""), ClaimExpiresAt: now.Add(t.ClaimTTL),
		ExpiresAt: now.Add(t.DoneTTL),
	}
	prev, err := s.Idempotency.Claim(ctx, e, now)
	if errors.Is(err, ErrClaimHeld) && prev != nil {
		return s.replay(ctx, log, prev, e.Fingerprint)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("claim: %w", err)
	}
	log = log.With("submission_id", e.SubmissionID)

	if c.Status == connection.ReauthRequired {
		return s.enqueue(ctx, log, e, m.Record, true, "reauth_required")
	}
	dctx, cancel := withReserve(ctx, enqueueReserve)
	d, err := s.deliver(dctx, c, module, m.Record)
	cancel()
	switch {
	case errors.Is(err, errHold):
		return s.enqueue(ctx, log, e, m.Record, true, reason(err))
	case err != nil:
		log.Warn("Zoho could not take the submission now: queued", "reason", reason(err), "err", err.Error())
		return s.enqueue(ctx, log, e, m.Record, false, reason(err))
	}
	owner := e.ClaimToken
	e.State, e.ClaimExpiresAt = Done, time.Time{}
	e.Answer = d.answer(module)
	e.DeliveredStatus, e.RecordID = e.Answer.Status, d.RecordID
	if err := s.Idempotency.Put(ctx, e, owner); err != nil {
		// Zoho has the record: answer so. A repeat after the claim expires
		// would be delivered again; Upsert on Email makes it an update.
		log.Error("recording the answer failed", "err", err.Error())
	}
	if d.Rejected != nil {
		log.Info("Zoho refused the submission", "fields", FieldNames(d.Rejected), "zoho_code", d.Code)
	} else {
		log.Info("submission delivered", "action", d.Action, "record_id", d.RecordID)
	}
	return e.Answer, nil
}

// enqueueReserve is the part of an invocation's time kept back from a
// delivery for storing and queueing the submission when it fails, so that
// a slow Zoho never makes the function time out with nothing queued.
const enqueueReserve = 4 * time.Second

// withReserve shortens ctx's deadline (the Lambda invocation's) by reserve.
func withReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-reserve))
	}
	return context.WithCancel(ctx)
}

// replay answers a repeat from the entry the first run left. A 202 is
// only answered for an entry whose queue message is known to be sent, or
// has just been sent again here.
func (s *Service) replay(ctx context.Context, log *slog.Logger, prev *Entry, fingerprint string) (Answer, error) {
	if prev.Fingerprint != "" && prev.Fingerprint != fingerprint {
		log.Warn("Idempotency-Key reused for other content")
		return Answer{}, ErrKeyReused
	}
	if prev.State == Queued && !prev.MessageSent && prev.Attempts == 0 {
		// Stored for the queue, but its message is not on record: the
		// first run may still be between the two (or may yet release the
		// entry), so wait a claim's length; after that it died or failed
		// to send, and the message is sent again. A duplicate is harmless:
		// the consumer's Take is conditional.
		t := s.Timings.withDefaults()
		if s.Now.Now().Sub(prev.QueuedAt) < t.ClaimTTL {
			return Answer{}, ErrInProgress
		}
		m := Message{Key: prev.Key, ConnectionID: prev.ConnectionID, SubmissionID: prev.SubmissionID}
		if err := s.Queue.Send(ctx, m, t.RetryDelay); err != nil {
			return Answer{}, fmt.Errorf("queue: send a lost message again: %w", err)
		}
		sent := *prev
		sent.MessageSent = true
		if err := s.Idempotency.MarkSent(ctx, &sent); err != nil && !errors.Is(err, ErrClaimLost) {
			log.Warn("recording a re-sent queue message failed: a later repeat sends it again", "err", err.Error())
		}
		log.Warn("queued submission had no queue message on record: sent again", "submission_id", prev.SubmissionID)
	}
	if prev.Answer.Status != 0 {
		log.Info("repeat answered from the first answer", "submission_id", prev.SubmissionID, "status", prev.Answer.Status)
		return prev.Answer, nil
	}
	return Answer{}, ErrInProgress
}

// enqueue stores the record in the entry, sends the queue message, then
// records that it was sent. When the message cannot be sent the claim is
// released and the client told to try again, so nothing is answered 202
// that is not queued; when the release fails too (or the run dies before
// the send), the entry stays queued without MessageSent, and a repeat
// sends the message (replay).
func (s *Service) enqueue(ctx context.Context, log *slog.Logger, e *Entry, rec zoho.Record, hold bool, why string) (Answer, error) {
	t := s.Timings.withDefaults()
	b, err := marshal(rec)
	if err != nil {
		return Answer{}, err
	}
	now := s.Now.Now()
	owner := e.ClaimToken
	e.State, e.ClaimExpiresAt, e.Record = Queued, time.Time{}, b
	e.QueuedAt, e.HoldUntil, e.ExpiresAt = now, now.Add(t.HoldFor), now.Add(t.QueuedTTL)
	e.LastError = why
	e.Answer = queuedAnswer(e.SubmissionID)
	if err := s.Idempotency.Put(ctx, e, owner); err != nil {
		s.release(ctx, log, e.Key, owner,
			"releasing a claim failed: a repeat is answered 409 until the claim expires (60 s), then delivered afresh")
		return Answer{}, fmt.Errorf("queue: store the submission: %w", err)
	}
	delay := t.RetryDelay
	if hold {
		delay = t.HoldDelay
	}
	if err := s.Queue.Send(ctx, Message{Key: e.Key, ConnectionID: e.ConnectionID, SubmissionID: e.SubmissionID}, delay); err != nil {
		s.release(ctx, log, e.Key, owner,
			"releasing a claim failed: the submission is stored without a queue message; a repeat is answered 409 for a minute, then its message is sent again and it is answered 202")
		return Answer{}, fmt.Errorf("queue: send: %w", err)
	}
	sent := *e
	sent.MessageSent = true
	if err := s.Idempotency.MarkSent(ctx, &sent); err != nil && !errors.Is(err, ErrClaimLost) {
		// Queued all the same; a repeat may send a harmless duplicate.
		log.Warn("recording the queue message failed", "err", err.Error())
	}
	log.Info("submission queued", "reason", why, "hold", hold)
	return e.Answer, nil
}

// release deletes the entry the run claimed, so that the client's next
// try starts afresh; failed says what a failure leaves behind.
func (s *Service) release(ctx context.Context, log *slog.Logger, key, owner, failed string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.Idempotency.Release(ctx, key, owner); err != nil {
		log.Error(failed, "err", err.Error())
	}
}

// Errors of a delivery attempt.
var (
	// errHold: the connection needs re-authorization; keep the submission.
	errHold = errors.New("held until the connection is re-authorized")
	// errRetry: Zoho or the token could not be had now; try again later.
	errRetry = errors.New("try again later")
)

// reasonError carries a short reason code for logs and the entry.
type reasonError struct {
	kind   error
	reason string
	err    error
}

func (e *reasonError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}
func (e *reasonError) Is(target error) bool { return target == e.kind }
func (e *reasonError) Unwrap() error        { return e.err }

func hold(reason string, err error) error {
	return &reasonError{kind: errHold, reason: reason, err: err}
}
func retry(reason string, err error) error {
	return &reasonError{kind: errRetry, reason: reason, err: err}
}

func reason(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return "error"
}

// delivered is what Zoho did with a record.
type delivered struct {
	Action   string // insert or update
	RecordID string
	// Rejected names the fields Zoho refused (nil when it took the record).
	Rejected map[string]string
	Code     string
}

// deliver writes one record to the connection's org: the cached access
// token, and on INVALID_TOKEN one on-demand refresh and one retry.
func (s *Service) deliver(ctx context.Context, c *connection.Connection, module string, rec zoho.Record) (delivered, error) {
	dc, err := c.DataCenter()
	if err != nil {
		return delivered{}, hold("unknown_data_center", err)
	}
	env, err := c.Env()
	if err != nil {
		return delivered{}, hold("unknown_environment", err)
	}
	tok, err := s.token(ctx, c, false)
	if err != nil {
		return delivered{}, err
	}
	results, err := s.write(ctx, dc, env, tok, module, rec)
	if errors.Is(err, zoho.ErrInvalidToken) {
		s.tokens.drop(c.ID)
		// Tell the refresh which token Zoho refused, by its expiry: a
		// young token killed early is refreshed all the same.
		if err := s.refresh(ctx, c, tok.ExpiresAt); err != nil {
			return delivered{}, err
		}
		if tok, err = s.token(ctx, c, true); err != nil {
			return delivered{}, err
		}
		results, err = s.write(ctx, dc, env, tok, module, rec)
		if errors.Is(err, zoho.ErrInvalidToken) {
			s.tokens.drop(c.ID)
			return delivered{}, retry("invalid_token_after_refresh", err)
		}
	}
	switch {
	case errors.Is(err, zoho.ErrDomainTokenMismatch):
		s.markReauth(ctx, c.ID, "domain_token_mismatch")
		return delivered{}, hold("domain_token_mismatch", err)
	case errors.Is(err, zoho.ErrScopeMismatch):
		s.markReauth(ctx, c.ID, "scope_mismatch")
		return delivered{}, hold("scope_mismatch", err)
	case errors.Is(err, zoho.ErrTooManyRequests):
		return delivered{}, retry("zoho_rate_limited", err)
	}
	if ae, ok := refusal(err); ok {
		// Zoho refused the request itself (INVALID_DATA, INVALID_MODULE,
		// REQUIRED_PARAM_MISSING, NO_PERMISSION, ...): sending it again
		// changes nothing.
		field := detail(ae.Details, "api_name")
		if field == "" {
			field = detail(ae.Details, "param_name")
		}
		return delivered{Rejected: map[string]string{fieldOr(field): problemOf(ae.Code)}, Code: ae.Code}, nil
	}
	if err != nil {
		return delivered{}, retry("zoho_unavailable", err)
	}
	r := results[0]
	if r.OK() {
		return delivered{Action: r.Action, RecordID: r.ID, Code: r.Code}, nil
	}
	return delivered{Rejected: map[string]string{fieldOr(r.Field): problemOf(r.Code)}, Code: r.Code}, nil
}

// refusal reports whether err is Zoho refusing the write for good: an
// HTTP 4xx answer other than a token, scope or environment problem (those
// are refreshed or held), any other 401 (credentials, never the data), a
// rate limit (429) or a request timeout (408), which are retried. Only
// outages (5xx), rate limits, timeouts and network errors (and a 401 Zoho
// did not explain) are worth trying again.
func refusal(err error) (*zoho.APIError, bool) {
	var ae *zoho.APIError
	if err == nil || !errors.As(err, &ae) || ae.StatusCode < 400 || ae.StatusCode > 499 {
		return nil, false
	}
	switch {
	case ae.StatusCode == 408, // a timeout: try again
		ae.StatusCode == 401, // about the credentials, not the record
		errors.Is(err, zoho.ErrTooManyRequests),
		errors.Is(err, zoho.ErrInvalidToken),
		errors.Is(err, zoho.ErrScopeMismatch),
		errors.Is(err, zoho.ErrDomainTokenMismatch):
		return nil, false
	}
	return ae, true
}

// problemOf names what Zoho's code says about a field.
func problemOf(code string) string {
	switch strings.ToUpper(code) {
	case "MANDATORY_NOT_FOUND", "REQUIRED_PARAM_MISSING":
		return "required"
	case "DUPLICATE_DATA":
		return "duplicate"
	case "NO_PERMISSION":
		return "not_permitted"
	}
	return "invalid"
}

func fieldOr(field string) string {
	if field == "" {
		return "record"
	}
	return field
}

func detail(d map[string]any, key string) string {
	s, _ := d[key].(string)
	return s
}

// write makes the one Zoho call: Upsert matching on Email when there is
// one (a person who submits twice is one lead), else Insert; workflows run.
func (s *Service) write(ctx context.Context, dc zoho.DataCenter, env zoho.Environment, tok connection.AccessToken, module string, rec zoho.Record) ([]zoho.RecordResult, error) {
	t := s.Timings.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, t.ZohoTimeout)
	defer cancel()
	crm := s.NewCRM(dc, env, &zoho.Token{AccessToken: tok.Token, Expiry: tok.ExpiresAt})
	opts := &zoho.WriteOptions{Trigger: []string{"workflow"}}
	if _, ok := rec["Email"]; ok {
		opts.DuplicateCheckFields = []string{"Email"}
		return crm.Upsert(ctx, module, []zoho.Record{rec}, opts)
	}
	return crm.Insert(ctx, module, []zoho.Record{rec}, opts)
}

// refresh asks for a new access token; rejected is the expiry of the
// token Zoho refused (zero when none was tried). A refresh that fails
// leaves the connection's status to tell why: re-authorization, or try
// again.
func (s *Service) refresh(ctx context.Context, c *connection.Connection, rejected time.Time) error {
	if s.Refresher == nil {
		return retry("no_refresher", nil)
	}
	err := s.Refresher.RefreshConnection(ctx, c.ID, rejected)
	if err == nil {
		s.Log.Info("access token refreshed on demand", "connection_id", c.ID)
		return nil
	}
	if errors.Is(err, ErrReauthRequired) {
		s.markReauth(ctx, c.ID, "refresh_token_invalid")
		return hold("refresh_token_invalid", err)
	}
	if now, gerr := s.Connections.Get(ctx, c.ID); gerr == nil && now.Status != connection.Active {
		return hold("reauth_required", err)
	}
	return retry("refresh_failed", err)
}

// markReauth flags the connection for re-authorization (best effort: the
// submission is held either way). One targeted write: sync never rewrites
// a connection's other attributes.
func (s *Service) markReauth(ctx context.Context, id, why string) {
	at := s.Now.Now().UTC()
	if err := s.Connections.UpdateActive(ctx, id, func(c *connection.Connection) { c.RequireReauth(why, at) }); err != nil {
		s.Log.Error("marking the connection for re-authorization failed", "connection_id", id, "reason", why, "err", err.Error())
		return
	}
	s.Log.Warn("connection needs re-authorization", "connection_id", id, "reason", why)
}

// Redeliver delivers a queued submission, for the queue consumer. A nil
// error means the message is finished with (delivered, held anew, or
// nothing left to do); ErrRetry-kind errors mean try again after backoff;
// errPermanent means give up (to the dead-letter queue).
func (s *Service) Redeliver(ctx context.Context, m Message) error {
	log := s.Log.With("connection_id", m.ConnectionID, "submission_id", m.SubmissionID)
	e, err := s.Idempotency.Get(ctx, m.Key)
	if err != nil {
		return retry("idempotency_read_failed", err)
	}
	now := s.Now.Now()
	switch {
	case e == nil:
		log.Warn("queued submission has no entry (expired?): dropped")
		return nil
	case e.State == Done:
		return nil
	case e.State == Rejected:
		return permanent(e.LastError)
	case e.State == Claimed && now.Before(e.ClaimExpiresAt):
		return retry("claimed_by_another_run", nil)
	case len(e.Record) == 0:
		return s.reject(ctx, log, e, e.ClaimToken, "no_record")
	}
	log = log.With("module", e.Module)
	c, err := s.Connections.Get(ctx, e.ConnectionID)
	switch {
	case errors.Is(err, connection.ErrNotFound):
		return s.reject(ctx, log, e, e.ClaimToken, "connection_gone")
	case err != nil:
		return retry("connection_read_failed", err)
	case c.Status == connection.Disconnected:
		return s.reject(ctx, log, e, e.ClaimToken, "connection_disconnected")
	case c.Status == connection.ReauthRequired:
		return s.holdAgain(ctx, log, e, e.ClaimToken, m)
	}
	t := s.Timings.withDefaults()
	taken := *e
	taken.State, taken.ClaimToken, taken.ClaimExpiresAt = Claimed, randomID(""), now.Add(t.ClaimTTL)
	taken.Attempts++
	if err := s.Idempotency.Take(ctx, &taken, now); err != nil {
		return retry("claim_lost", err)
	}
	var rec zoho.Record
	if err := json.Unmarshal(e.Record, &rec); err != nil {
		return s.reject(ctx, log, &taken, taken.ClaimToken, "record_unreadable")
	}
	dctx, cancel := withReserve(ctx, enqueueReserve)
	d, err := s.deliver(dctx, c, e.Module, rec)
	cancel()
	owner := taken.ClaimToken
	switch {
	case errors.Is(err, errHold):
		taken.State, taken.ClaimExpiresAt, taken.LastError = Queued, time.Time{}, reason(err)
		if perr := s.Idempotency.Put(ctx, &taken, owner); perr != nil {
			return retry("idempotency_write_failed", perr)
		}
		return s.holdAgain(ctx, log, &taken, owner, m)
	case err != nil:
		taken.State, taken.ClaimExpiresAt, taken.LastError = Queued, time.Time{}, reason(err)
		if perr := s.Idempotency.Put(ctx, &taken, owner); perr != nil {
			log.Error("recording a failed attempt failed", "err", perr.Error())
		}
		log.Warn("queued submission not delivered: will retry", "reason", reason(err), "attempt", taken.Attempts, "err", err.Error())
		return err
	case d.Rejected != nil:
		taken.DeliveredStatus = 422
		log.Warn("Zoho refused a queued submission", "fields", FieldNames(d.Rejected), "zoho_code", d.Code)
		return s.reject(ctx, log, &taken, owner, "zoho_rejected:"+d.Code)
	}
	taken.State, taken.ClaimExpiresAt, taken.Record, taken.LastError = Done, time.Time{}, nil, ""
	taken.DeliveredStatus, taken.RecordID = d.answer(e.Module).Status, d.RecordID
	taken.ExpiresAt = now.Add(t.DoneTTL)
	if err := s.Idempotency.Put(ctx, &taken, owner); err != nil {
		// Delivered: do not deliver again. The claim expires, and a
		// re-delivery would be an Upsert update at worst.
		log.Error("recording a delivery failed", "err", err.Error())
	}
	log.Info("queued submission delivered", "action", d.Action, "record_id", d.RecordID, "attempt", taken.Attempts)
	return nil
}

// errPermanent: the message is given up to the dead-letter queue.
var errPermanent = errors.New("undeliverable")

func permanent(reason string) error { return &reasonError{kind: errPermanent, reason: reason} }

func (s *Service) reject(ctx context.Context, log *slog.Logger, e *Entry, owner, why string) error {
	e.State, e.ClaimExpiresAt, e.LastError = Rejected, time.Time{}, why
	if err := s.Idempotency.Put(ctx, e, owner); err != nil {
		log.Error("recording a rejected submission failed", "err", err.Error())
	}
	log.Error("queued submission undeliverable: to the dead-letter queue", "reason", why)
	return permanent(why)
}

// holdAgain sends a fresh, delayed message while the connection waits
// for re-authorization. A fresh message (rather than a failed receive)
// keeps a held submission away from the dead-letter queue's receive count
// for as long as HoldFor allows.
func (s *Service) holdAgain(ctx context.Context, log *slog.Logger, e *Entry, owner string, m Message) error {
	t := s.Timings.withDefaults()
	if !e.HoldUntil.IsZero() && s.Now.Now().After(e.HoldUntil) {
		return s.reject(ctx, log, e, owner, "reauth_timeout")
	}
	if err := s.Queue.Send(ctx, m, t.HoldDelay); err != nil {
		return retry("queue_send_failed", err)
	}
	log.Info("submission held: the connection needs re-authorization")
	return nil
}

// RetryAfter is how long a failed message stays hidden before its next
// try: 1 min doubling to 1 h by receive count (maxReceiveCount 8: about
// 2 h 7 min before the dead-letter queue); a permanent failure comes back
// at once, to reach the dead-letter queue quickly.
func RetryAfter(err error, receiveCount int) time.Duration {
	if errors.Is(err, errPermanent) {
		return 0
	}
	if receiveCount < 1 {
		receiveCount = 1
	}
	return clock.Doubling(time.Minute, time.Hour, receiveCount)
}
