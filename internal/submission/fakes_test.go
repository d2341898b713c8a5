package submission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/internal/logging"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// The connections table and the token vault are connectiontest's fakes,
// which pass the contract the AWS adapters pass (storetest); memVault
// adds what these tests set and count.
type memVault struct{ *connectiontest.Vault }

func (v memVault) set(id string, t connection.AccessToken) {
	_ = v.PutAccessToken(context.Background(), id, t)
}

type staticKeys struct{ k *connection.SubmissionKeys }

func (s staticKeys) Keys(context.Context) (*connection.SubmissionKeys, error) { return s.k, nil }

// fakeRefresher issues a new token into the vault, or fails.
type fakeRefresher struct {
	vault    memVault
	err      error
	calls    int
	next     string
	rejected []time.Time // what each call named
}

func (r *fakeRefresher) RefreshConnection(_ context.Context, id string, rejected time.Time) error {
	r.calls++
	r.rejected = append(r.rejected, rejected)
	if r.err != nil {
		return r.err
	}
	r.vault.set(id, connection.AccessToken{Token: zoho.Secret(r.next), ExpiresAt: time.Now().Add(time.Hour)})
	return nil
}

// fakeCRM answers from a script: insert (answer: a function of the token
// and record), the module's fields (fields; default testFields), the
// existing record a duplicate names (existing) and updates and notes
// (SUCCESS unless onUpdate or onNote says otherwise). calls lists the
// writes (insert, update, note); fieldCalls and gets count the reads.
type fakeCRM struct {
	mu         sync.Mutex
	calls      []fakeCall
	fieldCalls int
	gets       []fakeCall
	answer     func(token string, rec zoho.Record) ([]zoho.RecordResult, error)
	fields     func(token, module string) ([]zoho.Field, error)
	existing   zoho.Record
	onUpdate   func(rec zoho.Record) ([]zoho.RecordResult, error)
	onNote     func(content string) (zoho.RecordResult, error)
	batches    []int
}

type fakeCall struct {
	Op, Module, Token string
	DC                string
	Env               zoho.Environment
	Record            zoho.Record
	Opts              zoho.WriteOptions
	Fields            []string
}

// testFields are an org's fields as the fields API lists them: the
// standard ones sync knows, typed, the system fields every module has,
// and a custom field.
func testFields(module string) []zoho.Field {
	out := builtInFields(module)
	for i := range out {
		if out[i].APIName == "Email" {
			out[i].Length = 100
		}
	}
	return append(out,
		zoho.Field{APIName: "Owner", DataType: "ownerlookup", JSONType: "jsonobject"},
		zoho.Field{APIName: "Layout", DataType: "layout", JSONType: "jsonobject"},
		zoho.Field{APIName: "Tag", DataType: "multiselectlookup", JSONType: "jsonarray"},
		zoho.Field{APIName: "Created_Time", DataType: "datetime", JSONType: "string", ReadOnly: true},
		zoho.Field{APIName: "Modified_By", DataType: "ownerlookup", JSONType: "jsonobject", ReadOnly: true},
		zoho.Field{APIName: "Record_Status__s", DataType: "picklist", JSONType: "string"},
		zoho.Field{APIName: "Full_Name", DataType: "text", JSONType: "string", ReadOnly: true},
		zoho.Field{APIName: "Budget", DataType: "currency", JSONType: "double", Custom: true},
		zoho.Field{APIName: "Interests", DataType: "multiselectpicklist", JSONType: "jsonarray", Custom: true},
		zoho.Field{APIName: "Referrer", DataType: "lookup", JSONType: "jsonobject", LookupModule: "Contacts", Custom: true},
	)
}

func (f *fakeCRM) factory(dc zoho.DataCenter, env zoho.Environment, tok *zoho.Token) CRM {
	return &boundCRM{f: f, dc: dc.Location, env: env, token: tok.AccessToken.Reveal()}
}

func (f *fakeCRM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeCRM) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Op)
	}
	return out
}

type boundCRM struct {
	f     *fakeCRM
	dc    string
	env   zoho.Environment
	token string
}

func (b *boundCRM) record(op, module string, rec zoho.Record, opts *zoho.WriteOptions) {
	c := fakeCall{Op: op, Module: module, Token: b.token, DC: b.dc, Env: b.env, Record: rec}
	if opts != nil {
		c.Opts = *opts
	}
	b.f.mu.Lock()
	b.f.calls = append(b.f.calls, c)
	b.f.mu.Unlock()
}

// Insert answers each record as answer says (or SUCCESS, ids 9001, 9002,
// ...): one call recorded, with the first record; batches records how
// many each call carried.
func (b *boundCRM) Insert(_ context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error) {
	b.record("insert", module, recs[0], opts)
	b.f.mu.Lock()
	answer := b.f.answer
	b.f.batches = append(b.f.batches, len(recs))
	b.f.mu.Unlock()
	var out []zoho.RecordResult
	for i, rec := range recs {
		if answer == nil {
			out = append(out, zoho.RecordResult{Code: "SUCCESS", Status: "success", Action: "insert", ID: strconv.Itoa(9001 + i)})
			continue
		}
		r, err := answer(b.token, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

func (b *boundCRM) Update(_ context.Context, module string, recs []zoho.Record, opts *zoho.WriteOptions) ([]zoho.RecordResult, error) {
	b.record("update", module, recs[0], opts)
	b.f.mu.Lock()
	on := b.f.onUpdate
	b.f.mu.Unlock()
	if on != nil {
		return on(recs[0])
	}
	id, _ := recs[0]["id"].(string)
	return []zoho.RecordResult{{Code: "SUCCESS", Status: "success", ID: id}}, nil
}

func (b *boundCRM) AddNote(_ context.Context, module, id, title, content string) (zoho.RecordResult, error) {
	b.record("note", module, zoho.Record{"id": id, "Note_Title": title, "Note_Content": content}, nil)
	b.f.mu.Lock()
	on := b.f.onNote
	b.f.mu.Unlock()
	if on != nil {
		return on(content)
	}
	return zoho.RecordResult{Code: "SUCCESS", Status: "success", ID: "note-1"}, nil
}

func (b *boundCRM) GetRecord(_ context.Context, module, id string, fields []string) (zoho.Record, error) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	b.f.gets = append(b.f.gets, fakeCall{Op: "get", Module: module, Token: b.token, Record: zoho.Record{"id": id}, Fields: fields})
	out := zoho.Record{"id": id}
	for _, f := range fields {
		out[f] = b.f.existing[f]
	}
	return out, nil
}

func (b *boundCRM) Fields(_ context.Context, module string) ([]zoho.Field, error) {
	b.f.mu.Lock()
	b.f.fieldCalls++
	fields := b.f.fields
	b.f.mu.Unlock()
	if fields != nil {
		return fields(b.token, module)
	}
	return testFields(module), nil
}

// memIdempotency is the idempotency table in memory, with
// submissionstore.IdempotencyStore's conditions: it passes the contract
// the DynamoDB store passes (contract_test.go, storetest). Like the table
// it keeps times in whole seconds, compares them so, and takes a missing
// claim_expires_at for "never expires".
type memIdempotency struct {
	mu     sync.Mutex
	m      map[string]Entry
	writes int
	failOn map[string]error // op → error
}

func (s *memIdempotency) fail(op string) error {
	if s.failOn != nil {
		return s.failOn[op]
	}
	return nil
}

// claimExpired is `state = claimed AND claim_expires_at < :now`.
func claimExpired(e Entry, now time.Time) bool {
	return e.State == Claimed && !e.ClaimExpiresAt.IsZero() && e.ClaimExpiresAt.Before(second(now))
}

// pastTTL is an entry DynamoDB has not deleted yet but Get no longer
// answers.
func pastTTL(e Entry, now time.Time) bool {
	return !e.ExpiresAt.IsZero() && e.ExpiresAt.Before(second(now))
}

func (s *memIdempotency) Claim(_ context.Context, e *Entry, now time.Time) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail("claim"); err != nil {
		return nil, err
	}
	if old, ok := s.m[e.Key]; ok && !old.ExpiresAt.Before(second(now)) && !claimExpired(old, now) {
		if pastTTL(old, time.Now()) {
			return nil, fmt.Errorf("claim: %w", ErrClaimLost)
		}
		if old.State == Claimed && e.ClaimToken != "" && old.ClaimToken == e.ClaimToken {
			return nil, nil // our own claim, written by a retried request
		}
		return &old, ErrClaimHeld
	}
	s.writes++
	s.m[e.Key] = copyEntry(e)
	return nil, nil
}

func (s *memIdempotency) Take(_ context.Context, e *Entry, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m[e.Key]
	if !ok || !(old.State == Queued || claimExpired(old, now)) {
		return ErrClaimLost
	}
	s.writes++
	s.m[e.Key] = copyEntry(e)
	return nil
}

func (s *memIdempotency) Put(_ context.Context, e *Entry, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail("put"); err != nil {
		return err
	}
	old, ok := s.m[e.Key]
	if !ok || old.ClaimToken != owner {
		return ErrClaimLost
	}
	s.writes++
	s.m[e.Key] = copyEntry(e)
	return nil
}

func (s *memIdempotency) MarkSent(_ context.Context, e *Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail("marksent"); err != nil {
		return err
	}
	old, ok := s.m[e.Key]
	if !ok || old.State != Queued || old.ClaimToken != e.ClaimToken {
		return ErrClaimLost
	}
	s.writes++
	s.m[e.Key] = copyEntry(e)
	return nil
}

func (s *memIdempotency) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail("release"); err != nil {
		return err
	}
	old, ok := s.m[key]
	if !ok || old.ClaimToken != owner {
		return ErrClaimLost
	}
	delete(s.m, key)
	return nil
}

func (s *memIdempotency) Get(_ context.Context, key string) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || pastTTL(e, time.Now()) {
		return nil, nil
	}
	return &e, nil
}

func (s *memIdempotency) only(t *testing.T) Entry {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) != 1 {
		t.Fatalf("%d idempotency entries, want 1", len(s.m))
	}
	for _, e := range s.m {
		return e
	}
	return Entry{}
}

// copyEntry is e as the table keeps it: its own record (an empty one
// kept empty, as DynamoDB keeps an empty binary), its times in whole
// seconds.
func copyEntry(e *Entry) Entry {
	c := *e
	if e.Record != nil {
		c.Record = append([]byte{}, e.Record...)
	}
	c.ClaimExpiresAt, c.QueuedAt, c.HoldUntil, c.ExpiresAt = second(e.ClaimExpiresAt), second(e.QueuedAt), second(e.HoldUntil), second(e.ExpiresAt)
	return c
}

// second is t in whole unix seconds (the zero time stays zero).
func second(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0).UTC()
}

type sent struct {
	m     Message
	delay time.Duration
}

// memQueue records what is sent (take) and delayed, and delivers it as
// SQS would, for the contract (receive): a message is visible after its
// delay, hidden for a while once received, and Delay hides it again.
type memQueue struct {
	mu      sync.Mutex
	sent    []sent
	delayed map[string]time.Duration
	err     error
	inbox   []*queued
}

type queued struct {
	m         Message
	handle    string
	visibleAt time.Time
}

// receiveVisibility is how long a received message stays hidden.
const receiveVisibility = 30 * time.Second

func (q *memQueue) Send(_ context.Context, m Message, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, sent{m, delay})
	q.inbox = append(q.inbox, &queued{m: m, handle: fmt.Sprintf("mem-%d", len(q.inbox)), visibleAt: time.Now().Add(max(delay, 0))})
	return nil
}

func (q *memQueue) Delay(_ context.Context, h string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.delayed == nil {
		q.delayed = map[string]time.Duration{}
	}
	q.delayed[h] = d
	for _, m := range q.inbox {
		if m.handle == h {
			m.visibleAt = time.Now().Add(max(d, 0))
		}
	}
	return nil
}

func (q *memQueue) take() []sent {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.sent
	q.sent = nil
	return out
}

// receive is what a consumer receives now, with receipt handles.
func (q *memQueue) receive() (msgs []Message, handles []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for _, m := range q.inbox {
		if !m.visibleAt.After(now) {
			m.visibleAt = now.Add(receiveVisibility)
			msgs, handles = append(msgs, m.m), append(handles, m.handle)
		}
	}
	return msgs, handles
}

// world is a service over fakes, with one active connection.
type world struct {
	svc     *Service
	h       *Handler
	conns   *connectiontest.Connections
	vault   memVault
	ref     *fakeRefresher
	crm     *fakeCRM
	idem    *memIdempotency
	queue   *memQueue
	keys    *connection.SubmissionKeys
	conn    connection.Connection
	key     string
	logs    *bytes.Buffer
	logMu   *sync.Mutex
	tokenV1 string
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	keys, err := connection.NewSubmissionKeys([]byte(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	id := connection.ID("eu", zoho.Sandbox, "777")
	key, keyID, hash, err := keys.New(id)
	if err != nil {
		t.Fatal(err)
	}
	c := connection.Connection{ID: id, Location: "eu", Environment: "sandbox", OrgID: "777", Status: connection.Active,
		SubmissionKeyID: keyID, SubmissionHash: hash, Version: 1}
	w := &world{
		conns: connectiontest.NewConnections(c),
		vault: memVault{connectiontest.NewVault()},
		crm:   &fakeCRM{},
		idem:  &memIdempotency{m: map[string]Entry{}},
		queue: &memQueue{},
		keys:  keys, conn: c, key: key.Reveal(),
		logs: &bytes.Buffer{}, logMu: &sync.Mutex{}, tokenV1: "tok-v1-secretvalue",
	}
	w.vault.set(id, connection.AccessToken{Token: "tok-v1-secretvalue", ExpiresAt: time.Now().Add(time.Hour)})
	w.ref = &fakeRefresher{vault: w.vault, next: "tok-v2-secretvalue"}
	log := logging.New(lockedWriter{w.logMu, w.logs}, "debug")
	w.svc = &Service{
		Connections: w.conns, Tokens: w.vault, Keys: staticKeys{keys}, Refresher: w.ref,
		NewCRM: w.crm.factory, Idempotency: w.idem, Queue: w.queue, Log: log,
	}
	w.h = &Handler{Service: w.svc, Log: log, MaxBodyBytes: 65536}
	return w
}

func (w *world) logText() string {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	return w.logs.String()
}

var errBoom = errors.New("boom")

// memRateCounter is the rate limit's counters in memory, as
// submissionstore.RateCounter keeps them: one per connection and window,
// counted only under the limit.
type memRateCounter struct {
	mu    sync.Mutex
	n     map[string]int
	takes int
}

func (r *memRateCounter) Take(_ context.Context, id string, window time.Time, limit int, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.takes++
	k := id + "_" + strconv.FormatInt(window.Unix(), 10)
	if r.n[k] >= limit {
		return ErrRateLimited
	}
	r.n[k]++
	return nil
}

// memSlots is the concurrency table in memory, as submissionstore.SlotStore
// keeps it: a lease per slot, taken when free or ended, released by its
// owner, held unless already leased longer.
type memSlots struct {
	mu    sync.Mutex
	lease map[string]memLease
	takes int
}

type memLease struct {
	owner string
	until time.Time
}

func (m *memSlots) Take(_ context.Context, slot, owner string, now, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.takes++
	if l, ok := m.lease[slot]; ok && l.until.UnixMilli() > now.UnixMilli() {
		if l.owner == HoldOwner {
			return ErrSlotHeld
		}
		return ErrSlotTaken
	}
	m.lease[slot] = memLease{owner: owner, until: until}
	return nil
}

func (m *memSlots) Release(_ context.Context, slot, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.lease[slot]; ok && l.owner == owner {
		delete(m.lease, slot)
	}
	return nil
}

func (m *memSlots) Hold(_ context.Context, slot string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.lease[slot]; ok && l.until.UnixMilli() >= until.UnixMilli() {
		return nil
	}
	m.lease[slot] = memLease{owner: HoldOwner, until: until}
	return nil
}

// get is the entry of key (fails t when there is none).
func (s *memIdempotency) get(t *testing.T, key string) Entry {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		t.Fatalf("no entry %s", key)
	}
	return e
}
