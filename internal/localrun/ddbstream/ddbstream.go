// Package ddbstream does locally what Lambda's DynamoDB event source
// mapping does in AWS: it reads a table's stream (DynamoDB Local serves
// the DynamoDB Streams API) shard by shard, hands the records to a
// function as the event Lambda would send (aws-lambda-go's
// events.DynamoDBEvent, the same JSON), and, when the function reports
// failed records (ReportBatchItemFailures) or fails, delivers the batch
// again from the first failed record, as many times as the template's
// MaximumRetryAttempts allow, then hands it to the on-failure destination.
//
// What it does not do: split a failing batch in two
// (BisectBatchOnFunctionError), wait for the batching window, or run
// shards in parallel. None of them changes what a function sees of one
// record.
package ddbstream

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// API is the part of the DynamoDB Streams client the poller uses.
type API interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ API = (*dynamodbstreams.Client)(nil)

// Handler is the function the records go to (productevents.Handler.Handle).
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Settings are the event source mapping's, from the template's DynamoDB
// event (SettingsFor).
type Settings struct {
	// BatchSize is the most records an invocation gets (default 100).
	BatchSize int
	// StartingPosition is TRIM_HORIZON (every record the stream holds)
	// or LATEST (only what is written after the poller starts).
	StartingPosition types.ShardIteratorType
	// MaximumRetryAttempts is how often a failed batch is delivered
	// again; -1 (Lambda's default) is until it succeeds.
	MaximumRetryAttempts int
	// OnFailure is the logical id of the on-failure destination (an SQS
	// queue), "" for none.
	OnFailure string
}

// SettingsFor reads a function's DynamoDB event of the template.
func SettingsFor(ev samtemplate.Event, vars map[string]string) (Settings, error) {
	s := Settings{BatchSize: 100, StartingPosition: types.ShardIteratorTypeTrimHorizon, MaximumRetryAttempts: -1}
	if ev.Type != "DynamoDB" {
		return s, fmt.Errorf("ddbstream: event %s is of type %s, not DynamoDB", ev.Name, ev.Type)
	}
	for name, dst := range map[string]*int{"BatchSize": &s.BatchSize, "MaximumRetryAttempts": &s.MaximumRetryAttempts} {
		if v := ev.Property(name); !v.IsZero() {
			str, err := v.Resolve(vars)
			if err != nil {
				return s, fmt.Errorf("ddbstream: %s: %w", name, err)
			}
			if *dst, err = strconv.Atoi(str); err != nil {
				return s, fmt.Errorf("ddbstream: %s %q: %w", name, str, err)
			}
		}
	}
	if v := ev.Property("StartingPosition"); !v.IsZero() {
		str, err := v.Resolve(vars)
		if err != nil {
			return s, fmt.Errorf("ddbstream: StartingPosition: %w", err)
		}
		switch types.ShardIteratorType(str) {
		case types.ShardIteratorTypeTrimHorizon, types.ShardIteratorTypeLatest:
			s.StartingPosition = types.ShardIteratorType(str)
		default:
			return s, fmt.Errorf("ddbstream: StartingPosition %q: want TRIM_HORIZON or LATEST", str)
		}
	}
	if ga, ok := ev.Property("DestinationConfig", "OnFailure", "Destination").GetAtt(); ok {
		s.OnFailure = ga[0]
	}
	return s, nil
}

// Event is the event Lambda sends a function for records of the stream
// streamARN.
func Event(records []types.Record, streamARN string) (events.DynamoDBEvent, error) {
	var ev events.DynamoDBEvent
	b, err := EventJSON(records, streamARN)
	if err != nil {
		return ev, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("ddbstream: the event does not decode as events.DynamoDBEvent: %w", err)
	}
	return ev, nil
}

// EventJSON is Event as the JSON Lambda sends (what a bootstrap under the
// emulator gets).
func EventJSON(records []types.Record, streamARN string) ([]byte, error) {
	recs := make([]map[string]any, 0, len(records))
	for _, r := range records {
		d := r.Dynamodb
		if d == nil {
			return nil, fmt.Errorf("ddbstream: record %s has no dynamodb part", aws.ToString(r.EventID))
		}
		change := map[string]any{
			"SequenceNumber": aws.ToString(d.SequenceNumber),
			"SizeBytes":      aws.ToInt64(d.SizeBytes),
			"StreamViewType": string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			change["ApproximateCreationDateTime"] = d.ApproximateCreationDateTime.Unix()
		}
		for name, image := range map[string]map[string]types.AttributeValue{"Keys": d.Keys, "NewImage": d.NewImage, "OldImage": d.OldImage} {
			if image == nil {
				continue
			}
			m, err := imageJSON(image)
			if err != nil {
				return nil, fmt.Errorf("ddbstream: record %s %s: %w", aws.ToString(r.EventID), name, err)
			}
			change[name] = m
		}
		rec := map[string]any{
			"eventID":        aws.ToString(r.EventID),
			"eventName":      string(r.EventName),
			"eventVersion":   aws.ToString(r.EventVersion),
			"eventSource":    aws.ToString(r.EventSource),
			"awsRegion":      aws.ToString(r.AwsRegion),
			"dynamodb":       change,
			"eventSourceARN": streamARN,
		}
		if r.UserIdentity != nil { // a TTL deletion
			rec["userIdentity"] = map[string]any{"type": aws.ToString(r.UserIdentity.Type), "principalId": aws.ToString(r.UserIdentity.PrincipalId)}
		}
		recs = append(recs, rec)
	}
	return json.Marshal(map[string]any{"Records": recs})
}

func imageJSON(image map[string]types.AttributeValue) (map[string]any, error) {
	out := make(map[string]any, len(image))
	for k, v := range image {
		j, err := attributeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = j
	}
	return out, nil
}

// attributeJSON is an attribute value in DynamoDB's JSON ({"S": "..."}).
func attributeJSON(v types.AttributeValue) (any, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		bs := make([]string, len(v.Value))
		for i, b := range v.Value {
			bs[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": bs}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			j, err := attributeJSON(e)
			if err != nil {
				return nil, err
			}
			l[i] = j
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m, err := imageJSON(v.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"M": m}, nil
	}
	return nil, fmt.Errorf("attribute value of type %T", v)
}

// FailedBatch is what the on-failure destination gets of a batch that
// kept failing: its coordinates in the stream, never its records (as
// Lambda's own on-failure record).
type FailedBatch struct {
	StreamARN           string `json:"streamArn"`
	ShardID             string `json:"shardId"`
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	BatchSize           int    `json:"batchSize"`
	Attempts            int    `json:"attempts"`
}

// Poller delivers one stream to one function. Run it in a goroutine.
type Poller struct {
	API       API
	StreamARN string
	Handler   Handler
	Settings  Settings
	// OnFailure receives a batch once its retries are spent (nil: it is
	// dropped, with a log line).
	OnFailure func(context.Context, FailedBatch) error
	// Interval is the wait between polls of a shard that had nothing
	// (default 250 ms, Lambda polls four times a second).
	Interval time.Duration
	Log      *slog.Logger
}

type shard struct {
	id, parent string
	iterator   *string
	lastSeq    string
	done       bool
}

// Run polls until ctx ends; it answers ctx's error.
func (p *Poller) Run(ctx context.Context) error {
	interval := p.Interval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	batch := p.Settings.BatchSize
	if batch <= 0 || batch > 1000 {
		batch = 100
	}
	shards := map[string]*shard{}
	var order []string
	first, described := true, time.Time{}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// New shards appear when DynamoDB rolls one over (every few hours
		// in AWS): a look every few seconds finds them.
		if first || time.Since(described) > 5*time.Second {
			if err := p.discover(ctx, shards, &order, first); err != nil && ctx.Err() == nil {
				p.Log.Warn("stream: describe failed", "stream", p.StreamARN, "err", err.Error())
			} else {
				first, described = false, time.Now()
			}
		}
		busy := false
		for _, id := range order {
			s := shards[id]
			if s.done || (s.parent != "" && shards[s.parent] != nil && !shards[s.parent].done) {
				continue // a child shard waits for its parent, as Lambda keeps order per key
			}
			n, err := p.poll(ctx, s, batch)
			if err != nil && ctx.Err() == nil {
				p.Log.Warn("stream: read failed", "shard", s.id, "err", err.Error())
			}
			busy = busy || n > 0
		}
		if busy {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// discover adds the stream's shards it has not met; those there at the
// start begin at the starting position, later ones at their start.
func (p *Poller) discover(ctx context.Context, shards map[string]*shard, order *[]string, first bool) error {
	var start *string
	for {
		out, err := p.API.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.StreamARN), ExclusiveStartShardId: start})
		if err != nil {
			return err
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if shards[id] != nil {
				continue
			}
			kind := types.ShardIteratorTypeTrimHorizon
			if first {
				kind = p.Settings.StartingPosition
			}
			it, err := p.API.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(p.StreamARN), ShardId: sh.ShardId, ShardIteratorType: kind,
			})
			if err != nil {
				return err
			}
			shards[id] = &shard{id: id, parent: aws.ToString(sh.ParentShardId), iterator: it.ShardIterator}
			*order = append(*order, id)
		}
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return nil
		}
	}
}

// poll reads one batch of a shard and delivers it; it answers how many
// records it read.
func (p *Poller) poll(ctx context.Context, s *shard, limit int) (int, error) {
	out, err := p.API.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: s.iterator, Limit: aws.Int32(int32(limit))})
	var expired *types.ExpiredIteratorException
	var trimmed *types.TrimmedDataAccessException
	switch {
	case errors.As(err, &expired):
		return 0, p.renew(ctx, s)
	case errors.As(err, &trimmed):
		// DynamoDB Local answers this for a TRIM_HORIZON iterator taken
		// while the shard was empty, until a new one is taken.
		return 0, p.renew(ctx, s)
	}
	if err != nil {
		return 0, err
	}
	if len(out.Records) > 0 {
		if err := p.deliver(ctx, s.id, out.Records); err != nil {
			return len(out.Records), err // ctx ended: read the batch again next time
		}
		s.lastSeq = aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)
	}
	s.iterator = out.NextShardIterator
	s.done = s.iterator == nil
	return len(out.Records), nil
}

// renew replaces an expired (or trimmed) iterator, after the last record
// delivered.
func (p *Poller) renew(ctx context.Context, s *shard) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.StreamARN), ShardId: aws.String(s.id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	if s.lastSeq != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(s.lastSeq)
	}
	it, err := p.API.GetShardIterator(ctx, in)
	if err != nil {
		return err
	}
	s.iterator = it.ShardIterator
	return nil
}

// deliver invokes the handler with the batch until it succeeds, from the
// first failed record each time, or its retries are spent. It answers
// only ctx's error.
func (p *Poller) deliver(ctx context.Context, shardID string, recs []types.Record) error {
	for attempt := 0; ; attempt++ {
		ev, err := Event(recs, p.StreamARN)
		if err != nil {
			p.Log.Error("stream: records not convertible", "shard", shardID, "err", err.Error())
			return nil
		}
		from := p.invoke(ctx, ev)
		if from < 0 {
			return nil
		}
		recs = recs[from:]
		if p.Settings.MaximumRetryAttempts >= 0 && attempt >= p.Settings.MaximumRetryAttempts {
			p.fail(ctx, shardID, recs, attempt+1)
			return nil
		}
		wait := min(100*time.Millisecond<<min(attempt, 6), 5*time.Second)
		p.Log.Warn("stream: batch failed, delivering it again", "shard", shardID, "from_sequence_number",
			aws.ToString(recs[0].Dynamodb.SequenceNumber), "records", len(recs), "attempt", attempt+1, "wait_ms", wait.Milliseconds())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// invoke calls the handler once; it answers -1 when the batch is done,
// else the index of the record to deliver again from.
func (p *Poller) invoke(ctx context.Context, ev events.DynamoDBEvent) int {
	resp, err := p.Handler(ctx, ev)
	if err != nil {
		p.Log.Warn("stream: the function failed", "err", err.Error())
		return 0
	}
	if len(resp.BatchItemFailures) == 0 {
		return -1
	}
	from := len(ev.Records)
	for _, f := range resp.BatchItemFailures {
		i := indexOf(ev.Records, f.ItemIdentifier)
		if i < 0 {
			// Lambda treats an identifier it does not know as the whole
			// batch failing.
			return 0
		}
		from = min(from, i)
	}
	return from
}

func indexOf(recs []events.DynamoDBEventRecord, seq string) int {
	for i, r := range recs {
		if r.Change.SequenceNumber == seq && seq != "" {
			return i
		}
	}
	return -1
}

func (p *Poller) fail(ctx context.Context, shardID string, recs []types.Record, attempts int) {
	fb := FailedBatch{
		StreamARN: p.StreamARN, ShardID: shardID, BatchSize: len(recs), Attempts: attempts,
		StartSequenceNumber: aws.ToString(recs[0].Dynamodb.SequenceNumber),
		EndSequenceNumber:   aws.ToString(recs[len(recs)-1].Dynamodb.SequenceNumber),
	}
	p.Log.Error("stream: batch failed after its retries", "shard", shardID, "start_sequence_number", fb.StartSequenceNumber,
		"end_sequence_number", fb.EndSequenceNumber, "records", fb.BatchSize, "attempts", attempts, "on_failure", p.Settings.OnFailure)
	if p.OnFailure != nil {
		if err := p.OnFailure(ctx, fb); err != nil {
			p.Log.Error("stream: on-failure destination refused the batch", "err", err.Error())
		}
	}
}

// ReadAll reads every record a stream holds now, shard by shard from the
// oldest, without delivering them: what a test or a sample event needs of
// a stream.
func ReadAll(ctx context.Context, api API, streamARN string) ([]types.Record, error) {
	var out []types.Record
	var start *string
	for {
		desc, err := api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(streamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, err
		}
		for _, sh := range desc.StreamDescription.Shards {
			it, err := api.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(streamARN), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return nil, err
			}
			for iter := it.ShardIterator; iter != nil; {
				page, err := api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
				var trimmed *types.TrimmedDataAccessException
				if errors.As(err, &trimmed) {
					break // an empty shard, in DynamoDB Local
				}
				if err != nil {
					return nil, err
				}
				out = append(out, page.Records...)
				if len(page.Records) == 0 {
					break // the end, for now: an open shard's iterator never ends
				}
				iter = page.NextShardIterator
			}
		}
		if start = desc.StreamDescription.LastEvaluatedShardId; start == nil {
			return out, nil
		}
	}
}
