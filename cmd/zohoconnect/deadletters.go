package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/zohoconnect/zohoconnect/internal/submissionstore"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
)

var cmdDeadLettersList = &command{
	group: "dead-letters", name: "list",
	args:    "[-max N] [-json]",
	summary: "List dead-lettered submissions: message id, sent time, receive count, connection, submission, module, field names, state, attempts, last error.",
	help: `Submitted values are personal data and are never printed: only how many
fields a message holds and their names. With IDEMPOTENCY_TABLE (or the
stack's IdempotencyTableName), each submission's entry gives its state
(rejected, queued, done; gone: expired with its record), its delivery
attempts and its last error, a reason code such as reauth_timeout,
connection_disconnected or zoho_rejected:INVALID_DATA. Listing receives
each message (its receive count goes up by one), hides it while the listing
runs, and makes it visible again at the end.`,
	needs: []string{envDeadLetterQueue},
	run:   runDeadLettersList,
}

var cmdDeadLettersReplay = &command{
	group: "dead-letters", name: "replay",
	args:    "[-max N | -id MSGID] [-include-refused] [-json]",
	summary: "Deliver dead letters again: re-queue their rejected submissions, send them back to the submission queue, delete them from the dead-letter queue.",
	help: `A dead letter's submission was rejected (its entry in the idempotency
table says why): the sync function would only dead-letter it again. So a
rejected submission is first made deliverable again (queued, a fresh 7-day
hold, attempts reset; only if it is still rejected), then its message is
sent back:
  - rejected for its connection (reauth_timeout, connection_disconnected,
    connection_gone): when the connection is active again (the customer
    connected the org again); otherwise it stays, saying so;
  - refused by Zoho (invalid_submission, zoho_rejected:CODE,
    module_not_permitted): only with -include-refused, after you changed
    what made Zoho refuse it (the org's fields, the mapping, the scopes);
    sent unchanged it is refused again;
  - gone (expired with its record) or without a record: stays; nothing
    can deliver it (purge it).
Each message is sent before it is deleted, so an interruption loses
nothing: at worst a message is on both queues, and the sync function's
idempotency keeps the copy from making a second record. Without -max or -id,
every visible dead letter is looked at; -max counts those replayed. Exit
status 1 when a message was left in the dead-letter queue.`,
	needs: []string{envDeadLetterQueue, envSubmissionQueue, envIdempotency, envConnectionsTable},
	run:   runDeadLettersReplay,
}

var cmdDeadLettersPurge = &command{
	group: "dead-letters", name: "purge",
	args:    "[-yes]",
	summary: "Delete every visible dead letter. They cannot be recovered.",
	help:    `Asks for confirmation unless -yes (which scripts must pass).`,
	needs:   []string{envDeadLetterQueue},
	run:     runDeadLettersPurge,
}

// deadLetterService builds the queues, and the idempotency entries when
// IDEMPOTENCY_TABLE is set (a replay needs them, and the connections).
// DEAD_LETTER_QUEUE_URL, when unset, is found from the submission queue's
// redrive policy.
func (c *cli) deadLetterService(ctx context.Context, cmd *command, replay bool) (*admin.Service, string, error) {
	var required []string
	optional := []string{envDeadLetterQueue, envSubmissionQueue, envIdempotency}
	if replay {
		required = []string{envSubmissionQueue, envIdempotency, envConnectionsTable}
		optional = []string{envDeadLetterQueue}
	}
	s, err := c.settings(ctx, cmd, required, optional)
	if err != nil {
		return nil, "", err
	}
	if s[envDeadLetterQueue] == "" && s[envSubmissionQueue] == "" {
		_, err := c.settings(ctx, cmd, []string{envDeadLetterQueue, envSubmissionQueue}, nil)
		var ue *usageError
		if errors.As(err, &ue) {
			ue.msg = "set either: " + ue.msg + " (the dead-letter queue is found from the submission queue's redrive policy)"
		}
		return nil, "", err
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, "", err
	}
	client := sqs.NewFromConfig(cfg)
	dlq := s[envDeadLetterQueue]
	if dlq == "" {
		if dlq, err = submissionstore.DeadLetterQueueURL(ctx, client, s[envSubmissionQueue]); err != nil {
			return nil, "", fmt.Errorf("%s is not set, and: %w", envDeadLetterQueue, err)
		}
		fmt.Fprintf(c.stderr, "%s: dead-letter queue (from %s's redrive policy): %s\n", name, envSubmissionQueue, dlq)
	}
	svc := &admin.Service{DeadLetters: &submissionstore.MessageQueue{SQS: client, URL: dlq}, Now: c.now}
	if s[envSubmissionQueue] != "" {
		svc.Submissions = &submissionstore.MessageQueue{SQS: client, URL: s[envSubmissionQueue]}
	}
	db := dynamodb.NewFromConfig(cfg)
	if s[envIdempotency] != "" {
		svc.Entries = &submissionstore.IdempotencyStore{DB: db, Table: s[envIdempotency]}
	}
	if s[envConnectionsTable] != "" {
		svc.Connections = awsstore.NewConnectionStore(db, s[envConnectionsTable])
	}
	return svc, dlq, nil
}

func (c *cli) printDeadLetters(ds []admin.DeadLetter, asJSON, replay bool) error {
	if asJSON {
		for _, d := range ds {
			if err := jsonLine(c.stdout, deadLetterToJSON(d)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ds) == 0 {
		return nil
	}
	return deadLettersTable(c.stdout, ds, c.now(), replay)
}

func runDeadLettersList(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	max := fs.Int("max", 100, "list at most N messages")
	asJSON := fs.Bool("json", false, "one JSON object per message and line")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	if *max < 1 {
		return usagef(cmd, "-max %d: want 1 or more", *max)
	}
	svc, dlq, err := c.deadLetterService(ctx, cmd, false)
	if err != nil {
		return err
	}
	ds, err := svc.ListDeadLetters(ctx, *max)
	if perr := c.printDeadLetters(ds, *asJSON, false); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	more := ""
	if len(ds) == *max {
		more = " (there may be more: -max)"
	}
	fmt.Fprintf(c.stderr, "%s: %s in %s%s\n", name, plural(len(ds), "message"), dlq, more)
	return nil
}

func runDeadLettersReplay(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	max := fs.Int("max", 0, "replay at most N messages (0: all)")
	id := fs.String("id", "", "replay only the message with this id")
	includeRefused := fs.Bool("include-refused", false, "also re-queue submissions Zoho refused (fix the cause first: unchanged, they are refused again)")
	asJSON := fs.Bool("json", false, "one JSON object per message looked at and line")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	if *max < 0 {
		return usagef(cmd, "-max %d: want 0 (all) or more", *max)
	}
	if *max > 0 && *id != "" {
		return usagef(cmd, "-max and -id exclude each other")
	}
	svc, dlq, err := c.deadLetterService(ctx, cmd, true)
	if err != nil {
		return err
	}
	done, err := svc.Replay(ctx, admin.ReplayOptions{Max: *max, ID: *id, IncludeRefused: *includeRefused})
	if perr := c.printDeadLetters(done, *asJSON, true); perr != nil && err == nil {
		err = perr
	}
	replayed, requeued := 0, 0
	var left []admin.DeadLetter
	for _, d := range done {
		switch d.Replayed {
		case "":
			left = append(left, d)
		case "requeued":
			requeued++
			fallthrough
		default:
			replayed++
		}
	}
	for _, d := range left {
		fmt.Fprintf(c.stderr, "%s: left %s in the dead-letter queue: %s\n", name, clean(d.MessageID), d.Left)
	}
	fmt.Fprintf(c.stderr, "%s: replayed %s from %s to the submission queue (%d re-queued from rejected)\n", name, plural(replayed, "message"), dlq, requeued)
	if err == nil && len(left) > 0 {
		err = fmt.Errorf("%w: %s left in the dead-letter queue", admin.ErrNotReplayable, plural(len(left), "message"))
	}
	return err
}

func runDeadLettersPurge(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	if !*yes && !c.terminal {
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	svc, dlq, err := c.deadLetterService(ctx, cmd, false)
	if err != nil {
		return err
	}
	if !*yes {
		visible, inFlight, err := svc.DeadLetterCount(ctx)
		if err != nil {
			return err
		}
		q := fmt.Sprintf("Delete the about %d messages of %s (%d more are being read elsewhere and stay)? They cannot be recovered.", visible, dlq, inFlight)
		if err := c.confirm(cmd, q); err != nil {
			return err
		}
	}
	n, err := svc.PurgeDeadLetters(ctx)
	fmt.Fprintf(c.stdout, "deleted %s\n", plural(n, "message"))
	return err
}
