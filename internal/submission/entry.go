package submission

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/zohoconnect/zohoconnect/internal/httpapi"
)

// State is where a submission stands in the idempotency table.
type State string

const (
	// Claimed: a run is delivering it now (until ClaimExpiresAt; a claim
	// left by a crashed run can be taken again after that).
	Claimed State = "claimed"
	// Queued: Zoho could not take it; it waits in the retry queue, its
	// record stored in the entry.
	Queued State = "queued"
	// Done: Zoho took it (or refused its data on the first attempt).
	Done State = "done"
	// Rejected: accepted with 202, then refused by Zoho or undeliverable
	// for good; its queue message goes to the dead-letter queue. Its record
	// stays (RejectedTTL), so that a replay can deliver it (Requeue).
	Rejected State = "rejected"
)

// Answer is an HTTP answer as first given, replayed for repeats.
type Answer struct {
	Status int
	Body   string
}

// The answers an entry keeps (Answer) are made here and in delivery.go
// (delivered.answer): a record Zoho took or refused (Done, or Rejected
// once queued) and a submission that waits (Queued).

func errorAnswer(status int, code, message string, fields map[string]string) Answer {
	return toAnswer(httpapi.JSON(status, &httpapi.Error{Code: code, Message: message, Fields: fields}))
}

func jsonAnswer(status int, v any) Answer { return toAnswer(httpapi.JSON(status, v)) }

func queuedAnswer(submissionID string) Answer {
	return toAnswer(httpapi.JSON(202, map[string]string{"status": "queued", "submission_id": submissionID}))
}

func toAnswer(r events.APIGatewayV2HTTPResponse) Answer {
	return Answer{Status: r.StatusCode, Body: r.Body}
}

// Entry is one submission's idempotency record.
type Entry struct {
	Key          string // the idempotency key (a hash; never the client's header)
	ConnectionID string
	Module       string
	// Fingerprint is the hash of module and content: a client's
	// Idempotency-Key reused for other content is refused.
	Fingerprint  string
	SubmissionID string
	State        State
	// ClaimToken names the run holding the claim; writes of a claimed
	// entry are conditional on it.
	ClaimToken     string
	ClaimExpiresAt time.Time
	// Answer is the first answer given (zero while claimed).
	Answer Answer
	// Record is what a queued submission keeps for its delivery, as JSON:
	// {"fields":{...}}, the fields as posted (delivery.go, queuedSubmission).
	Record []byte
	// QueuedAt is when the submission was first queued; HoldUntil bounds how
	// long it may wait for a re-authorization.
	QueuedAt  time.Time
	HoldUntil time.Time
	// MessageSent: a queue message for the entry is known to have been
	// sent. A queued entry without it, never attempted and older than a
	// claim, lost its message (the send failed and so did the release, or
	// the run died in between): a repeat sends it again before answering.
	MessageSent bool
	Attempts    int
	// Outcome of a delivery from the queue.
	DeliveredStatus int
	RecordID        string
	LastError       string // a reason code, never content
	ExpiresAt       time.Time
}

// ErrClaimHeld: the submission is already claimed, queued or done; the
// existing entry comes with it.
var ErrClaimHeld = errors.New("the submission is already claimed")

// ErrClaimLost: a conditional write found the entry no longer ours.
var ErrClaimLost = errors.New("the submission's claim is held by another run")

// Idempotency keeps the entries (submissionstore.IdempotencyStore in production).
type Idempotency interface {
	// Claim writes e (state Claimed) if no live entry has its key: none,
	// an expired one, or a claim whose ClaimExpiresAt passed. Otherwise it
	// returns the existing entry and ErrClaimHeld, except when the entry
	// is e's own claim (e.ClaimToken): a retried write whose first try
	// landed but whose answer was lost has won.
	Claim(ctx context.Context, e *Entry, now time.Time) (*Entry, error)
	// Take claims a queued entry (or one whose claim expired) for a
	// delivery from the queue: e is written, with e.ClaimToken, or
	// ErrClaimLost.
	Take(ctx context.Context, e *Entry, now time.Time) error
	// Put writes e if the stored entry's claim token is owner, else
	// ErrClaimLost.
	Put(ctx context.Context, e *Entry, owner string) error
	// MarkSent writes e (queued, MessageSent set) if the stored entry is
	// still queued under e.ClaimToken, else ErrClaimLost: a consumer that
	// took it, or gave it up, is never undone.
	MarkSent(ctx context.Context, e *Entry) error
	// Release deletes an entry claimed by owner, so that the client may
	// try again.
	Release(ctx context.Context, key, owner string) error
	// Get reads an entry (nil when there is none).
	Get(ctx context.Context, key string) (*Entry, error)
}

func randomID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

func sum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IdempotencyKey is the key of a submission: the client's Idempotency-Key
// scoped by connection, or else the hash of connection, module and
// content. Either way a hash: the table never holds what the client sent.
func IdempotencyKey(connectionID, module, header string, content []byte) string {
	if header != "" {
		return "h_" + sum("header", connectionID, header)
	}
	return "b_" + sum("body", connectionID, module, string(content))
}

// Message is what the retry queue carries: a reference to the entry that
// holds the record, so a message stays small whatever MAX_BODY_BYTES is
// and no submitted value sits in the queue or the dead-letter queue.
type Message struct {
	Key          string `json:"idempotency_key"`
	ConnectionID string `json:"connection_id"`
	SubmissionID string `json:"submission_id"`
	// Looks counts the times the submission found its org busy (no free
	// concurrency slot, or held after a 429) and was sent again as a fresh
	// message; HeldSince is the first of them (unix seconds). The delay
	// grows with Looks; past HoldFor since HeldSince it is dead-lettered.
	Looks     int   `json:"looks,omitempty"`
	HeldSince int64 `json:"held_since,omitempty"`
}

// Queue is the retry queue (submissionstore.SubmissionQueue in production).
type Queue interface {
	Send(ctx context.Context, m Message, delay time.Duration) error
	// Delay hides a received message for d before it is tried again.
	Delay(ctx context.Context, receiptHandle string, d time.Duration) error
}

// Cause is why a rejected entry was given up, as far as a replay cares:
// whether it can tell that the cause is gone.
type Cause int

const (
	// CauseConnection: the connection was gone, disconnected, or waited
	// for a re-authorization longer than its hold (reauth_timeout). Once
	// the connection is active again, the entry can be delivered.
	CauseConnection Cause = iota + 1
	// CauseRefused: Zoho refused the write on its merits (invalid data, a
	// module the scopes do not cover, zoho_rejected:<code>), or the reason
	// is one a replay does not know. Sent again unchanged it fails the
	// same way unless someone changed the org, the mapping or the scopes.
	CauseRefused
	// CauseNoRecord: nothing deliverable is stored (no record, or one that
	// cannot be read).
	CauseNoRecord
)

// Cause classifies a rejected entry's LastError.
func (e *Entry) Cause() Cause {
	if len(e.Record) == 0 {
		return CauseNoRecord
	}
	switch e.LastError {
	case "reauth_timeout", "connection_disconnected", "connection_gone", "held_too_long":
		return CauseConnection
	case "no_record", "record_unreadable":
		return CauseNoRecord
	}
	return CauseRefused
}

// ErrNotRejected: only a rejected entry can be re-queued.
var ErrNotRejected = errors.New("the submission is not rejected")

// ErrNoRecord: the entry keeps nothing that could be delivered.
var ErrNoRecord = errors.New("the submission's record is not stored")

// Requeue makes a rejected entry deliverable again, as if it had just been
// queued: a fresh hold window (HoldFor from now), attempts reset, kept
// QueuedTTL from now. Its QueuedAt and LastError stay: when it was posted,
// and why it failed last. The caller sends its queue message next, so it
// is marked sent: should that send fail, the dead letter that caused the
// replay is still there.
func (e *Entry) Requeue(now time.Time, t Timings) error {
	if e.State != Rejected {
		return fmt.Errorf("%w (it is %s)", ErrNotRejected, e.State)
	}
	if e.Cause() == CauseNoRecord {
		return ErrNoRecord
	}
	t = t.withDefaults()
	// A claim token of its own: the consumer's conditional writes of a
	// queued entry name the token stored with it.
	e.State, e.ClaimToken, e.ClaimExpiresAt = Queued, randomID(""), time.Time{}
	e.Attempts, e.DeliveredStatus, e.MessageSent = 0, 0, true
	e.HoldUntil = now.Add(t.HoldFor)
	if exp := now.Add(t.QueuedTTL); exp.After(e.ExpiresAt) {
		e.ExpiresAt = exp
	}
	return nil
}
