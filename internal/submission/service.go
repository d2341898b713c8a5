package submission

import (
	"context"
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

// CRM is what sync asks of the connection's org (a *zoho.Client).
type CRM interface {
	Fields(ctx context.Context, module string) ([]zoho.Field, error)
	Insert(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error)
	Update(ctx context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error)
	GetRecord(ctx context.Context, module, recordID string, fields []string) (zoho.Record, error)
	AddNote(ctx context.Context, module, recordID, title, content string) (zoho.RecordResult, error)
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
	// RateLimit bounds each connection's accepted submissions (zero: none).
	RateLimit RateLimit
	// Limiter bounds the CRM calls to each org at once, across every
	// instance (zero: none).
	Limiter Limiter
	Log     *slog.Logger
	Now     clock.Func
	Timings Timings

	tokens tokenCache
	fields fieldsCache
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
	// RejectedTTL: how long a rejected entry (and its record) is kept
	// after its rejection (30 days: longer than the dead-letter queue's
	// 14-day retention, so a dead letter's record outlives it and
	// `zohoconnect dead-letters replay` can deliver it).
	RejectedTTL time.Duration
	// HoldFor: how long a submission waits for a re-authorization before
	// it is given up to the dead-letter queue (7 days).
	HoldFor time.Duration
	// HoldDelay: how often a held submission looks at its connection
	// again (15 min, SQS's longest delay).
	HoldDelay time.Duration
	// RetryDelay: the delay of a fresh queue message when Zoho failed (30 s).
	RetryDelay time.Duration
	// BusyDelay: the first delay of a submission that found the org busy
	// (no free concurrency slot, or held after a 429): 15 s, doubled at
	// each look to HoldDelay, every delay jittered.
	BusyDelay time.Duration
	// ThrottleHold: how long an org's calls are held after Zoho answered
	// 429 (5 min, jittered): its concurrency frees in seconds, its daily
	// credits in up to 24 h, and a 429 does not say which.
	ThrottleHold time.Duration
	// ZohoTimeout bounds a delivery's Zoho call (10 s), so that a slow Zoho
	// still leaves time to queue within API Gateway's 30 s.
	ZohoTimeout time.Duration
	// TokenMargin: a cached access token is used until this long before
	// it expires (2 min).
	TokenMargin time.Duration
	// FieldsTTL: how long a module's fields, read from Zoho's fields API,
	// are used before they are read again (10 min): an org's new custom
	// field is known within that time.
	FieldsTTL time.Duration
	// FieldsStaleFor: how old a copy of the fields may serve while the
	// fields API cannot be read (24 h).
	FieldsStaleFor time.Duration
}

// queueDelay is the delay of a fresh queue message for a submission
// that could not be delivered for cause, at its looks-th wait (0 first):
// HoldDelay for a re-authorization, BusyDelay doubled by looks to
// HoldDelay for a busy org, RetryDelay else; jittered (never the same
// instant for every submission of an outage).
func (t Timings) queueDelay(cause error, looks int) time.Duration {
	switch {
	case errors.Is(cause, errHold):
		return jitter(t.HoldDelay)
	case errors.Is(cause, errBusy):
		return jitter(clock.Doubling(t.BusyDelay, t.HoldDelay, looks+1))
	}
	return jitter(t.RetryDelay)
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
	def(&t.RejectedTTL, 30*24*time.Hour)
	def(&t.HoldFor, 7*24*time.Hour)
	def(&t.HoldDelay, 15*time.Minute)
	def(&t.RetryDelay, 30*time.Second)
	def(&t.BusyDelay, 15*time.Second)
	def(&t.ThrottleHold, 5*time.Minute)
	def(&t.ZohoTimeout, 10*time.Second)
	def(&t.TokenMargin, 2*time.Minute)
	def(&t.FieldsTTL, 10*time.Minute)
	def(&t.FieldsStaleFor, 24*time.Hour)
	return t
}

// Request is one POST, as the handler read it.
type Request struct {
	ConnectionID string
	Credentials  Credentials
	// Method and Path (without the API's stage) are what a signature
	// covers besides the query, the Idempotency-Key and the body.
	Method, Path   string
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
	c, err := s.authenticate(ctx, r.ConnectionID, r.Credentials,
		Signed{Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, IdempotencyKey: r.IdempotencyKey, Body: r.Body})
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
	content, err := canonical(fields)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %v", ErrMalformedBody, err)
	}
	log := s.Log.With("connection_id", c.ID, "module", module)
	// What may reach Zoho comes from the org's fields; what Zoho would
	// refuse is refused here, before anything is claimed. When the fields
	// cannot be had now, the submission is queued as posted and mapped
	// when it is delivered.
	fctx, cancel := withReserve(ctx, enqueueReserve)
	set, ferr := s.moduleFields(fctx, c, module, c.Status == connection.Active)
	cancel()
	var m *Mapped
	if ferr == nil {
		mm, err := s.plan(log, module, fields, set, c)
		if err != nil {
			return Answer{}, err
		}
		m = &mm
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
	// The rate limit counts accepted submissions, so it sits here: after
	// the claim, the first point that tells a new submission from a repeat
	// (answered above from its entry, not counted) without another read,
	// and before anything reaches Zoho or the queue. A refused one gives
	// its claim back, so its retry after Retry-After starts afresh.
	if err := s.RateLimit.take(ctx, log, c.ID, now); err != nil {
		s.release(ctx, log, e.Key, e.ClaimToken,
			"releasing a rate-limited claim failed: a repeat is answered 409 until the claim expires (60 s), then taken afresh")
		log.Info("submission refused: the connection's rate limit is exceeded")
		return Answer{}, err
	}

	switch {
	case c.Status == connection.ReauthRequired:
		return s.enqueue(ctx, log, e, fields, hold("reauth_required", nil))
	case m == nil && errors.Is(ferr, errBusy):
		log.Info("the org takes no call now (the module's fields): queued", "reason", reason(ferr))
		return s.enqueue(ctx, log, e, fields, ferr)
	case m == nil:
		log.Warn("the module's fields cannot be read now: queued", "reason", reason(ferr), "err", ferr.Error())
		return s.enqueue(ctx, log, e, fields, ferr)
	}
	dctx, cancel := withReserve(ctx, enqueueReserve)
	d, err := s.deliver(dctx, c, delivery{Module: module, Record: m.Record, Ignored: m.Ignored, Fields: fields, At: now})
	cancel()
	switch {
	case errors.Is(err, errHold):
		return s.enqueue(ctx, log, e, fields, err)
	case errors.Is(err, errBusy):
		log.Info("the org takes no call now: queued", "reason", reason(err))
		return s.enqueue(ctx, log, e, fields, err)
	case err != nil:
		log.Warn("Zoho could not take the submission now: queued", "reason", reason(err), "err", err.Error())
		return s.enqueue(ctx, log, e, fields, err)
	}
	owner := e.ClaimToken
	e.State, e.ClaimExpiresAt = Done, time.Time{}
	e.Answer = d.answer()
	e.DeliveredStatus, e.RecordID = e.Answer.Status, d.RecordID
	if err := s.Idempotency.Put(ctx, e, owner); err != nil {
		// Zoho has the record: answer so. A repeat after the claim expires
		// would be delivered again: a duplicate, so a note at most.
		log.Error("recording the answer failed", "err", err.Error())
	}
	d.log(log, "submission delivered")
	return e.Answer, nil
}

// plan maps fields to the record of module in c's org, or refuses them
// (*InvalidError) as Zoho would.
func (s *Service) plan(log *slog.Logger, module string, fields Fields, set *fieldSet, c *connection.Connection) (Mapped, error) {
	m := mapFields(module, fields, set, Rules{Mapping: c.FieldMapping, Allowed: c.AllowedFields})
	if len(m.Ignored) > 0 {
		log.Info("fields ignored: not fields a submission may set in this module", "fields", m.Ignored)
	}
	if m.Problems != nil {
		log.Info("submission refused before Zoho", "fields", FieldNames(m.Problems))
		return m, &InvalidError{Message: "Zoho CRM would refuse this submission: see fields.", Fields: m.Problems}
	}
	return m, nil
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
func (s *Service) enqueue(ctx context.Context, log *slog.Logger, e *Entry, fields Fields, cause error) (Answer, error) {
	t := s.Timings.withDefaults()
	why := reason(cause)
	b, err := marshal(queuedSubmission{Fields: fields})
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
	delay := t.queueDelay(cause, 0)
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
	log.Info("submission queued", "reason", why, "delay_seconds", int(delay/time.Second))
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
	// errBusy: the org takes no call now (every concurrency slot in use,
	// or Zoho's 429: its concurrency or daily credits spent). Not a
	// failure: the submission waits, and waiting never counts toward the
	// dead-letter queue.
	errBusy = errors.New("the org takes no call now")
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
func busy(reason string, err error) error {
	return &reasonError{kind: errBusy, reason: reason, err: err}
}

func reason(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return "error"
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

// errPermanent: the message is given up to the dead-letter queue.
var errPermanent = errors.New("undeliverable")

func permanent(reason string) error { return &reasonError{kind: errPermanent, reason: reason} }

// reject gives a queued submission up to the dead-letter queue. Its
// record stays, RejectedTTL from now, so that a replay can deliver it
// once the cause is gone (Entry.Requeue).
func (s *Service) reject(ctx context.Context, log *slog.Logger, e *Entry, owner, why string) error {
	e.State, e.ClaimExpiresAt, e.LastError = Rejected, time.Time{}, why
	if exp := s.Now.Now().Add(s.Timings.withDefaults().RejectedTTL); exp.After(e.ExpiresAt) {
		e.ExpiresAt = exp
	}
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
	return errHeldAgain
}

// RetryAfter is how long a failed message stays hidden before its next
// try: 1 min doubling to 1 h by receive count, jittered over the upper
// half of each (so an outage's messages do not all come back in the same
// minute; maxReceiveCount 8: between about 1 h 4 min and 2 h 7 min before
// the dead-letter queue); a permanent failure comes back at once, to
// reach the dead-letter queue quickly. Only Zoho's failures count so:
// a busy org (a 429, no free slot) and a connection awaiting
// re-authorization wait in fresh messages instead.
func RetryAfter(err error, receiveCount int) time.Duration {
	if errors.Is(err, errPermanent) {
		return 0
	}
	if receiveCount < 1 {
		receiveCount = 1
	}
	return jitter(clock.Doubling(time.Minute, time.Hour, receiveCount))
}
