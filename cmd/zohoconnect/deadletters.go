package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/zohoconnect/zohoconnect/internal/submissionstore"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/admin"
)

var cmdDeadLettersList = &command{
	group: "dead-letters", name: "list",
	args:    "[-max N] [-json]",
	summary: "List dead-lettered submissions: message id, sent time, receive count, connection, submission, module, field names.",
	help: `Submitted values are personal data and are never printed: only how many
fields a message holds and their names. Listing receives each message (its
receive count goes up by one), hides it while the listing runs, and makes it
visible again at the end.`,
	needs: []string{envDeadLetterQueue},
	run:   runDeadLettersList,
}

var cmdDeadLettersReplay = &command{
	group: "dead-letters", name: "replay",
	args:    "[-max N | -id MSGID] [-json]",
	summary: "Send dead letters back to the submission queue, then delete them from the dead-letter queue.",
	help: `Each message is sent before it is deleted, so an interruption loses
nothing: at worst a message is on both queues, and the sync function's
idempotency keeps the copy from making a second record. Without -max or -id,
every visible dead letter is replayed. Fix the cause first (see the
connection's status with 'connections show'), or they come back.`,
	needs: []string{envDeadLetterQueue, envSubmissionQueue},
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

// deadLetterService builds the queues. DEAD_LETTER_QUEUE_URL, when unset,
// is found from the submission queue's redrive policy.
func (c *cli) deadLetterService(ctx context.Context, cmd *command, needSubmissions bool) (*admin.Service, string, error) {
	required := []string{envSubmissionQueue}
	if !needSubmissions {
		required = nil
	}
	s, err := c.settings(ctx, cmd, required, []string{envDeadLetterQueue, envSubmissionQueue})
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
	return svc, dlq, nil
}

func (c *cli) printDeadLetters(ds []admin.DeadLetter, asJSON bool) error {
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
	return deadLettersTable(c.stdout, ds, c.now())
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
	if perr := c.printDeadLetters(ds, *asJSON); perr != nil && err == nil {
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
	asJSON := fs.Bool("json", false, "one JSON object per replayed message and line")
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
	done, err := svc.Replay(ctx, admin.ReplayOptions{Max: *max, ID: *id})
	if perr := c.printDeadLetters(done, *asJSON); perr != nil && err == nil {
		err = perr
	}
	fmt.Fprintf(c.stderr, "%s: replayed %s from %s to the submission queue\n", name, plural(len(done), "message"), dlq)
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
