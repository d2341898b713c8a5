package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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
			out = append(out, DescribeDeadLetter(m))
		}
	}
	return out, nil
}

// ReplayOptions choose what a replay sends: every dead letter, at most Max
// (when not 0), or only the message ID.
type ReplayOptions struct {
	Max int
	ID  string
}

// Replay sends dead letters back to the submission queue. Each message is
// sent before it is deleted from the dead-letter queue, so an interruption
// loses nothing: at worst a message is on both queues, and the sync
// function's idempotency keeps the copy from making a second record. The
// replayed messages are returned, also with an error, which stops the
// replay. Uses DeadLetters and Submissions.
func (s *Service) Replay(ctx context.Context, opts ReplayOptions) (done []DeadLetter, err error) {
	seen := map[string]bool{}
	var held []string // received, not replayed: shown again at the end
	defer func() {
		if rerr := release(ctx, s.DeadLetters, held); rerr != nil && err == nil {
			err = rerr
		}
	}()
	found := false
	for !found && (opts.Max == 0 || len(done) < opts.Max) {
		n := 10
		if opts.Max > 0 {
			n = min(n, opts.Max-len(done))
		}
		msgs, err := s.DeadLetters.Receive(ctx, n, replayVisibility, receiveWait)
		if err != nil {
			return done, err
		}
		if len(msgs) == 0 {
			break
		}
		for i, m := range msgs {
			skip := seen[m.ID] || found || (opts.ID != "" && m.ID != opts.ID) || (opts.Max > 0 && len(done) >= opts.Max)
			seen[m.ID] = true
			if skip {
				held = append(held, m.ReceiptHandle)
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
			done = append(done, DescribeDeadLetter(m))
			found = opts.ID != ""
		}
	}
	if opts.ID != "" && !found {
		return done, fmt.Errorf("%w: %s", ErrMessageNotFound, opts.ID)
	}
	return done, nil
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
