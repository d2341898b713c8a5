package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"
)

// How long a received dead letter stays hidden from other readers: long
// enough to list, or to send and delete a batch of ten.
const (
	listVisibility   = 30 * time.Second
	replayVisibility = 2 * time.Minute
	// receiveWait of a second makes SQS ask all its servers, so an empty
	// answer means the queue has no visible message.
	receiveWait = time.Second
	// releaseTimeout bounds the clean-up that runs after an interruption.
	releaseTimeout = 10 * time.Second
)

// DeadLetter is what an operator sees of a dead-lettered submission: its
// references, never the submitted values (personal data); of those only
// how many there are and their field names.
type DeadLetter struct {
	MessageID    string
	SentAt       time.Time
	ReceiveCount int
	BodyBytes    int
	// JSON tells whether the body is a JSON object; the fields below are
	// read from it when it has them (the sync function decides the format).
	JSON         bool
	ConnectionID string
	SubmissionID string
	Module       string
	FieldNames   []string
	// Entry is what the submission's idempotency entry says, when it was
	// looked up (nil otherwise).
	Entry *EntryStatus
	// Replayed is what a replay did: "sent" (as it was: its entry still
	// queued, or the message names none) or "requeued" (its rejected
	// entry made deliverable again, then sent); "" when it was left in the
	// dead-letter queue, and Left says why.
	Replayed string
	Left     string
}

// EntryStatus is a dead letter's idempotency entry as an operator sees it:
// where it stands and why it failed last, never the record.
type EntryStatus struct {
	// Found is false when the entry is gone: expired, and its record with
	// it; nothing is left to deliver.
	Found     bool
	State     string
	Attempts  int
	LastError string // a reason code (submission.Entry.LastError)
	HoldUntil time.Time
	ExpiresAt time.Time
}

func entryStatus(e *submission.Entry) *EntryStatus {
	if e == nil {
		return &EntryStatus{}
	}
	return &EntryStatus{Found: true, State: string(e.State), Attempts: e.Attempts, LastError: printable(e.LastError, 100),
		HoldUntil: e.HoldUntil, ExpiresAt: e.ExpiresAt}
}

// SubmissionEntries are the sync function's idempotency entries
// (submissionstore.IdempotencyStore): a replay reads a dead letter's entry
// and re-queues it when it was rejected.
type SubmissionEntries interface {
	Get(ctx context.Context, key string) (*submission.Entry, error)
	// Requeue writes e if the stored entry is still rejected, else
	// submission.ErrClaimLost.
	Requeue(ctx context.Context, e *submission.Entry) error
}

var _ SubmissionEntries = (*submissionstore.IdempotencyStore)(nil)

// entryKey is the idempotency key a message refers to ("" when none:
// not a message of the sync function's).
func entryKey(body string) string {
	var m struct {
		Key string `json:"idempotency_key"`
	}
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	return m.Key
}

// lookUp reads the entry of each dead letter that names one (when Entries
// is set).
func (s *Service) lookUp(ctx context.Context, d *DeadLetter, body string) (*submission.Entry, error) {
	key := entryKey(body)
	if s.Entries == nil || key == "" {
		return nil, nil
	}
	e, err := s.Entries.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", d.MessageID, err)
	}
	d.Entry = entryStatus(e)
	return e, nil
}

// fieldKeys are where a message may carry the submitted fields.
var fieldKeys = []string{"fields", "record", "data", "values", "submission"}

// DescribeDeadLetter reads a message tolerantly: whatever it lacks stays
// empty, and values other than the references are never kept.
func DescribeDeadLetter(m submissionstore.QueueMessage) DeadLetter {
	d := DeadLetter{MessageID: m.ID, SentAt: m.SentAt, ReceiveCount: m.ReceiveCount, BodyBytes: len(m.Body)}
	var body map[string]any
	if err := json.Unmarshal([]byte(m.Body), &body); err != nil || body == nil {
		return d
	}
	d.JSON = true
	d.ConnectionID = reference(body["connection_id"])
	d.SubmissionID = reference(body["submission_id"])
	d.Module = reference(body["module"])
	for _, k := range fieldKeys {
		if fields, ok := body[k].(map[string]any); ok {
			for name := range fields {
				d.FieldNames = append(d.FieldNames, printable(name, 100))
			}
			sort.Strings(d.FieldNames)
			break
		}
	}
	return d
}

// reference returns an id-like string value, made safe for a terminal.
func reference(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	return printable(s, 100)
}

// printable drops control characters (a message must not steer the
// operator's terminal) and cuts s to n bytes.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// release makes the held messages visible again, even when ctx has ended.
func release(ctx context.Context, q Queue, handles []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	var errs []error
	for _, h := range handles {
		if err := q.Release(ctx, h); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d messages stay hidden until their visibility timeout ends: %w", len(errs), errs[0])
	}
	return nil
}

// ListDeadLetters returns up to max dead letters. Reading a message is a
// receive: each listed message's receive count goes up by one, and it is
// hidden while the listing runs and made visible again at its end. Uses
// DeadLetters.
func (s *Service) ListDeadLetters(ctx context.Context, max int) (out []DeadLetter, err error) {
	seen := map[string]bool{}
	var held []string
	defer func() {
		if rerr := release(ctx, s.DeadLetters, held); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for len(out) < max {
		msgs, err := s.DeadLetters.Receive(ctx, max-len(out), listVisibility, receiveWait)
		if err != nil {
			return out, err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			held = append(held, m.ReceiptHandle)
			if seen[m.ID] || len(out) >= max {
				continue
			}
			seen[m.ID] = true
			d := DescribeDeadLetter(m)
			if _, err := s.lookUp(ctx, &d, m.Body); err != nil {
				return out, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// ReplayOptions choose what a replay sends: every dead letter, at most Max
// (when not 0), or only the message ID.
type ReplayOptions struct {
	Max int
	ID  string
	// IncludeRefused also re-queues entries Zoho refused on their merits
	// (submission.CauseRefused): unchanged, they fail again, so only when
	// the operator says the org, the mapping or the scopes were fixed.
	IncludeRefused bool
}

// ErrNotReplayable: the asked dead letter was left in the dead-letter
// queue (DeadLetter.Left says why).
var ErrNotReplayable = errors.New("the dead letter cannot be replayed now")

// Replay sends dead letters back to the submission queue. Each message is
// sent before it is deleted from the dead-letter queue, so an interruption
// loses nothing: at worst a message is on both queues, and the sync
// function's idempotency keeps the copy from making a second record.
//
// With Entries set, a message's entry decides first. A rejected one
// (which the consumer would only send back to the dead-letter queue) is
// re-queued before its message is sent, conditional on it still being
// rejected: a fresh hold window, attempts reset. That is done when its
// cause is gone (a connection cause: the connection is active again, read
// from Connections) or, for a refusal, when opts.IncludeRefused. A message
// whose entry is gone (expired with its record), or keeps no record, or
// whose cause is still there, stays in the dead-letter queue with Left
// saying why: re-sent, the consumer would drop it or reject it again.
//
// The returned dead letters are those replayed and those left, also with
// an error, which stops the replay. Uses DeadLetters, Submissions, and
// Entries and Connections when set.
func (s *Service) Replay(ctx context.Context, opts ReplayOptions) (done []DeadLetter, err error) {
	seen := map[string]bool{}
	var held []string // received, not replayed: shown again at the end
	defer func() {
		if rerr := release(ctx, s.DeadLetters, held); rerr != nil && err == nil {
			err = rerr
		}
	}()
	found := false
	leftAsked := "" // why the asked message (opts.ID) was left
	replayed := 0
	for !found && (opts.Max == 0 || replayed < opts.Max) {
		n := 10
		if opts.Max > 0 {
			n = min(n, opts.Max-replayed)
		}
		msgs, err := s.DeadLetters.Receive(ctx, n, replayVisibility, receiveWait)
		if err != nil {
			return done, err
		}
		if len(msgs) == 0 {
			break
		}
		for i, m := range msgs {
			skip := seen[m.ID] || found || (opts.ID != "" && m.ID != opts.ID) || (opts.Max > 0 && replayed >= opts.Max)
			seen[m.ID] = true
			if skip {
				held = append(held, m.ReceiptHandle)
				continue
			}
			d := DescribeDeadLetter(m)
			how, err := s.prepare(ctx, &d, m.Body, opts)
			if err != nil {
				for _, rest := range msgs[i:] {
					held = append(held, rest.ReceiptHandle)
				}
				return done, err
			}
			if how == "" {
				held = append(held, m.ReceiptHandle)
				done = append(done, d)
				if opts.ID != "" {
					found, leftAsked = true, d.Left
				}
				continue
			}
			if err := s.Submissions.Send(ctx, m); err != nil {
				for _, rest := range msgs[i:] {
					held = append(held, rest.ReceiptHandle)
				}
				return done, fmt.Errorf("message %s stays in the dead-letter queue: %w", m.ID, err)
			}
			if err := s.DeadLetters.Delete(ctx, m.ReceiptHandle); err != nil {
				for _, rest := range msgs[i+1:] {
					held = append(held, rest.ReceiptHandle)
				}
				return done, fmt.Errorf("message %s was sent to the submission queue but is still in the dead-letter queue "+
					"(replaying it again makes a duplicate, which the sync function recognizes): %w", m.ID, err)
			}
			d.Replayed = how
			done = append(done, d)
			replayed++
			found = opts.ID != ""
		}
	}
	if opts.ID != "" && !found {
		return done, fmt.Errorf("%w: %s", ErrMessageNotFound, opts.ID)
	}
	if leftAsked != "" {
		return done, fmt.Errorf("%w: %s: %s", ErrNotReplayable, opts.ID, leftAsked)
	}
	return done, nil
}

// prepare decides a dead letter's replay: "sent" as it is, "requeued"
// (its rejected entry re-queued here, first), or "" to leave it, with
// d.Left saying why.
func (s *Service) prepare(ctx context.Context, d *DeadLetter, body string, opts ReplayOptions) (string, error) {
	e, err := s.lookUp(ctx, d, body)
	switch {
	case err != nil:
		return "", err
	case d.Entry == nil: // not looked up: no reference, or no Entries
		return "sent", nil
	case e == nil:
		d.Left = "its entry is gone (expired with the record): nothing to deliver; purge it"
		return "", nil
	case e.State != submission.Rejected:
		return "sent", nil // queued or claimed: the consumer delivers; done: it drops the copy
	}
	switch e.Cause() {
	case submission.CauseNoRecord:
		d.Left = "rejected (" + d.Entry.LastError + ") with no record stored: nothing to deliver; purge it"
		return "", nil
	case submission.CauseRefused:
		if !opts.IncludeRefused {
			d.Left = "Zoho refused it (" + d.Entry.LastError + "): unchanged it fails again; " +
				"fix the org, the mapping or the scopes, then replay with -include-refused (or purge it)"
			return "", nil
		}
	case submission.CauseConnection:
		if s.Connections != nil {
			c, err := s.Connections.Get(ctx, e.ConnectionID)
			switch {
			case errors.Is(err, connection.ErrNotFound):
				d.Left = "rejected (" + d.Entry.LastError + "): its connection no longer exists"
				return "", nil
			case err != nil:
				return "", fmt.Errorf("message %s: %w", d.MessageID, err)
			case c.Status != connection.Active:
				d.Left = "rejected (" + d.Entry.LastError + "): its connection is " + string(c.Status) + "; have the customer connect the org again, then replay"
				return "", nil
			}
		}
	}
	if err := e.Requeue(s.now(), submission.Timings{}); err != nil {
		return "", fmt.Errorf("message %s: %w", d.MessageID, err)
	}
	err = s.Entries.Requeue(ctx, e)
	if errors.Is(err, submission.ErrClaimLost) {
		d.Left = "its entry changed while the replay looked at it (another replay?): replay again"
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("message %s: re-queue its entry: %w", d.MessageID, err)
	}
	d.Entry = entryStatus(e)
	return "requeued", nil
}

// DeadLetterCount is SQS's estimate of the dead letters waiting and of
// those someone has received and not yet deleted. Uses DeadLetters.
func (s *Service) DeadLetterCount(ctx context.Context) (visible, inFlight int, err error) {
	return s.DeadLetters.ApproximateCount(ctx)
}

// PurgeDeadLetters deletes every visible dead letter and returns how many
// it deleted. Messages another reader holds are not deleted. Unlike SQS's
// PurgeQueue it reports an exact count and can run again at once. Uses
// DeadLetters.
func (s *Service) PurgeDeadLetters(ctx context.Context) (int, error) {
	deleted := 0
	seen := map[string]bool{}
	for {
		msgs, err := s.DeadLetters.Receive(ctx, 10, time.Minute, receiveWait)
		if err != nil {
			return deleted, err
		}
		if len(msgs) == 0 {
			return deleted, nil
		}
		fresh := 0
		for _, m := range msgs {
			if err := s.DeadLetters.Delete(ctx, m.ReceiptHandle); err != nil {
				return deleted, err
			}
			if !seen[m.ID] {
				seen[m.ID] = true
				deleted++
				fresh++
			}
		}
		if fresh == 0 {
			return deleted, errors.New("the dead-letter queue keeps answering messages already deleted")
		}
	}
}
