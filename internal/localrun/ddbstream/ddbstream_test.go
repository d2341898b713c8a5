package ddbstream

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

func record(seq int, image map[string]types.AttributeValue) types.Record {
	return types.Record{
		EventID: aws.String("ev-" + strconv.Itoa(seq)), EventName: types.OperationTypeModify, EventVersion: aws.String("1.1"),
		EventSource: aws.String("aws:dynamodb"), AwsRegion: aws.String("ddblocal"),
		Dynamodb: &types.StreamRecord{
			SequenceNumber: aws.String(strconv.Itoa(100 + seq)), SizeBytes: aws.Int64(42), StreamViewType: types.StreamViewTypeNewAndOldImages,
			ApproximateCreationDateTime: aws.Time(time.Unix(1790000000, 0)),
			Keys:                        map[string]types.AttributeValue{"connection_id": &types.AttributeValueMemberS{Value: "zc_" + strconv.Itoa(seq)}},
			NewImage:                    image,
			OldImage:                    map[string]types.AttributeValue{"status": &types.AttributeValueMemberS{Value: "active"}},
		},
	}
}

// A record reaches the function as Lambda's JSON decodes it: every
// attribute type, the sequence number, the stream's ARN.
func TestEvent(t *testing.T) {
	image := map[string]types.AttributeValue{
		"s":    &types.AttributeValueMemberS{Value: "text"},
		"n":    &types.AttributeValueMemberN{Value: "1790000000"},
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"bool": &types.AttributeValueMemberBOOL{Value: true},
		"null": &types.AttributeValueMemberNULL{Value: true},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "3"}}},
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"plan": &types.AttributeValueMemberS{Value: "pro"}}},
	}
	ev, err := Event([]types.Record{record(1, image)}, "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x")
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if r.EventName != "MODIFY" || r.EventSource != "aws:dynamodb" || r.EventVersion != "1.1" || r.EventSourceArn != "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x" || r.AWSRegion != "ddblocal" {
		t.Errorf("record %+v", r)
	}
	c := r.Change
	if c.SequenceNumber != "101" || c.SizeBytes != 42 || c.StreamViewType != "NEW_AND_OLD_IMAGES" || c.ApproximateCreationDateTime.Unix() != 1790000000 {
		t.Errorf("change %+v", c)
	}
	if c.Keys["connection_id"].String() != "zc_1" || c.OldImage["status"].String() != "active" {
		t.Errorf("keys %v, old image %v", c.Keys, c.OldImage)
	}
	n := c.NewImage
	if n["s"].String() != "text" || n["n"].Number() != "1790000000" || !reflect.DeepEqual(n["b"].Binary(), []byte{0, 1, 2}) || !n["bool"].Boolean() || !n["null"].IsNull() ||
		!reflect.DeepEqual(n["ss"].StringSet(), []string{"a", "b"}) || !reflect.DeepEqual(n["ns"].NumberSet(), []string{"1", "2.5"}) ||
		len(n["bs"].BinarySet()) != 2 || n["l"].List()[1].Number() != "3" || n["m"].Map()["plan"].String() != "pro" {
		t.Errorf("new image %v", n)
	}
	b, _ := EventJSON([]types.Record{record(1, nil)}, "arn")
	var raw struct {
		Records []struct {
			Dynamodb map[string]any `json:"dynamodb"`
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Records[0].Dynamodb["NewImage"]; ok {
		t.Errorf("a record without a new image got one: %s", b)
	}
}

// fakeStream is one shard of records that ends (closed shard) once read.
type fakeStream struct {
	mu      sync.Mutex
	records []types.Record
	reads   int
	expire  bool // the first GetRecords answers ExpiredIteratorException
	renewed *dynamodbstreams.GetShardIteratorInput
}

func (f *fakeStream) DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{Shards: []types.Shard{{ShardId: aws.String("shard-1")}}}}, nil
}

func (f *fakeStream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
		f.renewed = in
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
}

func (f *fakeStream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.expire && f.reads == 2 {
		return nil, &types.ExpiredIteratorException{Message: aws.String("expired")}
	}
	n := min(int(aws.ToInt32(in.Limit)), len(f.records))
	out := &dynamodbstreams.GetRecordsOutput{Records: f.records[:n]}
	f.records = f.records[n:]
	if len(f.records) > 0 || f.expire && f.reads < 3 {
		out.NextShardIterator = aws.String("it")
	}
	return out, nil
}

type recorder struct {
	mu      sync.Mutex
	batches [][]string // sequence numbers of each invocation
	fail    func(call int, ev events.DynamoDBEvent) events.DynamoDBEventResponse
	failed  []FailedBatch
}

func (r *recorder) handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var seqs []string
	for _, rec := range ev.Records {
		seqs = append(seqs, rec.Change.SequenceNumber)
	}
	r.batches = append(r.batches, seqs)
	if r.fail != nil {
		return r.fail(len(r.batches), ev), nil
	}
	return events.DynamoDBEventResponse{}, nil
}

func run(t *testing.T, api API, r *recorder, s Settings, until func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := &Poller{API: api, StreamARN: "arn", Handler: r.handle, Settings: s, Interval: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnFailure: func(_ context.Context, fb FailedBatch) error {
			r.mu.Lock()
			r.failed = append(r.failed, fb)
			r.mu.Unlock()
			return nil
		}}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for !func() bool { r.mu.Lock(); defer r.mu.Unlock(); return until() }() {
		if ctx.Err() != nil {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func records(n int) []types.Record {
	var out []types.Record
	for i := 1; i <= n; i++ {
		out = append(out, record(i, map[string]types.AttributeValue{"status": &types.AttributeValueMemberS{Value: "active"}}))
	}
	return out
}

// Batches of BatchSize; a reported failure is delivered again from the
// first failed record on (the records after it too, as Lambda does).
func TestRetryFromTheFirstFailure(t *testing.T) {
	api := &fakeStream{records: records(5)}
	r := &recorder{fail: func(call int, ev events.DynamoDBEvent) events.DynamoDBEventResponse {
		if call == 1 { // 102 and 103 failed
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "103"}, {ItemIdentifier: "102"}}}
		}
		return events.DynamoDBEventResponse{}
	}}
	run(t, api, r, Settings{BatchSize: 3, MaximumRetryAttempts: -1}, func() bool { return len(r.batches) == 3 })
	want := [][]string{{"101", "102", "103"}, {"102", "103"}, {"104", "105"}}
	if !reflect.DeepEqual(r.batches, want) {
		t.Errorf("batches %v, want %v", r.batches, want)
	}
}

// After MaximumRetryAttempts the batch goes to the on-failure
// destination, and the stream moves on; an unknown identifier fails the
// whole batch.
func TestRetriesSpent(t *testing.T) {
	api := &fakeStream{records: records(3)}
	r := &recorder{fail: func(call int, ev events.DynamoDBEvent) events.DynamoDBEventResponse {
		if ev.Records[0].Change.SequenceNumber == "101" {
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "nonsense"}}}
		}
		return events.DynamoDBEventResponse{}
	}}
	run(t, api, r, Settings{BatchSize: 2, MaximumRetryAttempts: 1}, func() bool { return len(r.batches) == 3 })
	if want := [][]string{{"101", "102"}, {"101", "102"}, {"103"}}; !reflect.DeepEqual(r.batches, want) {
		t.Errorf("batches %v, want %v", r.batches, want)
	}
	if want := []FailedBatch{{StreamARN: "arn", ShardID: "shard-1", StartSequenceNumber: "101", EndSequenceNumber: "102", BatchSize: 2, Attempts: 2}}; !reflect.DeepEqual(r.failed, want) {
		t.Errorf("failed %+v, want %+v", r.failed, want)
	}
}

// An expired iterator is renewed after the last record delivered.
func TestExpiredIterator(t *testing.T) {
	api := &fakeStream{records: records(2), expire: true}
	r := &recorder{}
	run(t, api, r, Settings{BatchSize: 1, MaximumRetryAttempts: -1}, func() bool { return len(r.batches) == 2 })
	if want := [][]string{{"101"}, {"102"}}; !reflect.DeepEqual(r.batches, want) {
		t.Errorf("batches %v, want %v", r.batches, want)
	}
	if api.renewed == nil || aws.ToString(api.renewed.SequenceNumber) != "101" {
		t.Errorf("renewed with %+v, want after 101", api.renewed)
	}
}

// The template's EventsFunction stream settings.
func TestSettingsFor(t *testing.T) {
	tpl, err := samtemplate.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := tpl.Function("EventsFunction")
	var found bool
	for _, ev := range fn.Events {
		if ev.Type != "DynamoDB" {
			continue
		}
		found = true
		s, err := SettingsFor(ev, tpl.LocalVars())
		if err != nil {
			t.Fatal(err)
		}
		if want := (Settings{BatchSize: 100, StartingPosition: types.ShardIteratorTypeTrimHorizon, MaximumRetryAttempts: 20, OnFailure: "EventsDeadLetterQueue"}); s != want {
			t.Errorf("settings %+v, want %+v", s, want)
		}
	}
	if !found {
		t.Fatal("EventsFunction has no DynamoDB event")
	}
}
