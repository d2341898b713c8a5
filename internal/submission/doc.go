// Package submission is the sync function: form and webhook submissions
// posted to POST /connections/{connection_id}/submissions are
// authenticated, parsed, mapped to CRM fields, checked, and written to
// the connection's own Zoho CRM org (its DC and environment host) exactly
// once. When Zoho cannot take one now (5xx, 429, timeout, network) or the
// connection needs re-authorization, it is kept and delivered later from
// the retry queue, which the same function consumes.
//
// # Who may post
//
// "Authorization: Bearer <submission key>" (its SHA-256 compared with the
// stored hash in constant time), the product's API key, or
// "X-Signature: t=<unix seconds>,v1=<hex>": the HMAC-SHA256, under the
// key (re-derived from the master secret), of
// "<t>.<METHOD>.<path>?<raw query>.<Idempotency-Key>.<body>" (the path
// without the API's stage; "?" and the query left out when there is
// none), compared with hmac.Equal, and t no more than 300 s from now
// either way. Signing the method, path, query (the module) and
// Idempotency-Key with the body means a captured request cannot be sent
// for another module, connection or key, nor kept for later; within the
// 300 s, the same request again is the same submission (below) and
// creates nothing. The former "sha256=<hex>" of the body alone is
// refused. A missing, malformed or wrong credential, a stale signature, a malformed or unknown connection id and a
// disconnected connection all answer the same 401; an unknown connection
// is checked against a decoy so that it costs the same work. (401 rather
// than 410 for a disconnected connection: it says nothing about which
// connections exist.) A connection waiting for re-authorization still
// takes submissions: they are held (202).
//
// # What reaches Zoho
//
// Only single values of the module's ordinary fields in the connection's
// org: fields the fields API lists as not read-only, of a scalar data type
// (text, textarea, email, phone, website, picklist, integer, bigint,
// double, currency, percent, decimal, boolean, date, datetime), and not a
// system field by name (Owner, Layout, Tag, id, Created_*, Modified_*,
// `$*`, `*__s`, consent, currency and conversion bookkeeping: fields.go).
// A connection's mapping targets and allowed_fields (when it lists some,
// only those and the targets are set) may also name a writable field of a
// scalar JSON type whose data type that list does not know, never a
// lookup, list or system field. Everything else posted is dropped and
// named in the answer's ignored_fields. Values are checked and converted
// to their field's type (forms post strings: "12" goes as 12, "on" as
// true); a wrong one, a required field missing, or a field the connection
// names that the org does not have, is a 422 naming it before anything is
// claimed or sent.
//
// The fields come from GET /crm/v8/settings/fields?module=..., cached in
// memory per connection and module for 10 minutes (concurrent misses share
// one call): a warm function asks at most once per connection and module
// every 10 minutes, and again after Zoho refuses a record's data. When
// Zoho cannot answer, a copy up to 24 hours old serves; with none, the
// submission is queued as posted and mapped at delivery. A token without
// ZohoCRM.settings.fields.READ (connections made before it was a default
// scope) gets the standard fields of mapping.go, typed, for the same 10
// minutes: custom fields are then ignored until the org is connected
// again.
//
// # A person Zoho already knows
//
// Every record is inserted with duplicate_check_fields ["Email"] when it
// has an Email (Zoho also checks the org's unique fields), and
// trigger ["workflow"]. A DUPLICATE_DATA names the existing record, and
// the connection's on_duplicate decides (delivery.go): note (default: a
// Note on that record holds every submitted field, the record unchanged),
// fill_empty (the record is read and only its empty fields are set; a
// boolean is never empty), update (overwritten), create (an insert without
// the Email check; an org refusing a duplicate of a unique field gets the
// note). The answer is 201 created or 200 matched with the action.
// A scope that does not cover the module (OAUTH_SCOPE_MISMATCH on a
// write, a read or the note) answers 422 module_not_permitted and leaves
// the connection active: its other modules may well be covered.
//
// # Exactly once
//
// Each submission has an entry in the idempotency table, keyed by a hash:
// of the connection and the client's Idempotency-Key header when given,
// else of connection, module and the canonical content (JSON with sorted
// keys: the same content as JSON or as a form is one submission). The
// entry is claimed with a conditional PutItem before Zoho is called:
//
//	claimed  --Zoho took it or refused the data-->  done (answer kept 24 h)
//	claimed  --Zoho failed / reauth needed------->  queued (record kept, 30 d)
//	queued   --consumer takes it (conditional)--->  claimed --> done | queued | rejected
//	rejected --an operator's replay (Requeue)---->  queued (a fresh hold, attempts reset)
//
// A repeat gets the first answer with its status (201/200/422, or 202
// with the same submission_id while or after it was queued). A repeat
// during the first run's claim gets 409 submission_in_progress (with
// Retry-After): a 202 would promise a delivery nobody has queued yet. A
// claim left by a crashed run expires after 60 s and can be taken again.
// A claim that finds the entry already holding its own claim token is
// won: the AWS SDK retried a write whose answer was lost. An
// Idempotency-Key reused with other content gets 409
// idempotency_key_reused.
//
// # How many
//
// Each connection has its own limit of accepted submissions a minute
// (SUBMISSIONS_PER_CONNECTION_PER_MINUTE, template parameter
// SubmissionsPerConnectionPerMinute, default 60, 0 = none), so one leaked
// key or runaway form cannot spend an org's daily API credits. The
// counter is shared by every instance: an item per connection and fixed
// minute window in the idempotency table (rl_<connection_id>_<window
// start>, TTL a window after its end), taken with one conditional
// UpdateItem, ADD count 1 if count < limit or there is none yet
// (ratelimit.go, submissionstore.RateCounter): one write per submission,
// and concurrent takes never count past the limit.
//
// The check sits after the claim is won: the claim is where a new
// submission is first told from a repeat without another read, and a
// repeat is answered from its entry (above) and never counted, limit spent
// or not; refusals before the claim (401, 4xx, 422) count nothing either.
// It comes before anything reaches Zoho or the queue (the fields read
// before it is cached and spends no record credits). Over the limit the
// claim is released and the answer is 429 rate_limited with Retry-After,
// the seconds to the window's end, so the same submission sent then is
// taken afresh. A counter that cannot be written lets the submission
// through, logged: losing a submission is the worse failure. Retries from
// the queue are not counted again.
//
// # Nothing lost
//
// A queued submission lives in its idempotency entry (the fields as
// posted, mapped at delivery with the fields then known); the SQS
// message only references it, so it stays small whatever MAX_BODY_BYTES
// is and no submitted value sits in the queue or the dead-letter queue.
// The entry is written before the message is sent, and marked
// message_sent after; when the send fails the claim is released and the
// client gets 500 (so it sends again). When the release fails as well, or
// the run dies between the write and the send, the entry is queued with no
// message: a repeat within a minute gets 409, and one after that sends the
// message again (a duplicate is harmless: the consumer's take is
// conditional) before it is answered 202. So a 202 never stands without a
// message.
// The consumer reports a transient failure of Zoho's (5xx, a timeout, the
// network) as a batch item failure after setting the message's
// visibility to 1, 2, 4 ... 60 minutes by receive count, each jittered
// over its upper half (so the messages of one outage do not all come back
// in the same minute; maxReceiveCount 8: one to two hours, then the
// dead-letter queue and its alarm). Waiting is not failing: a connection
// that needs re-authorization, and an org that takes no call now (below),
// hold their submissions in fresh, delayed messages instead of failing
// the received one, so holding never counts toward the dead-letter queue,
// for up to 7 days (HoldFor, from when the submission was queued: the
// retention of a wait, past which it is dead-lettered as reauth_timeout or
// held_too_long); after a reconnect, or once Zoho takes calls again, the
// next look delivers. Zoho refusing a queued record's data, or a connection that is
// gone, marks the entry rejected and sends the message to the dead-letter
// queue quickly. A rejected entry keeps its record for 30 days
// (RejectedTTL, beyond the dead-letter queue's 14): `zohoconnect
// dead-letters replay` re-queues it (Entry.Requeue, a write conditional
// on it still being rejected) before it sends the message back, when its
// cause is gone (Entry.Cause: an active connection again) or, for Zoho's
// refusals, when the operator asks. Without that, the consumer would only
// see the entry rejected and dead-letter the message again, calling no one.
//
// # Within Zoho's limits
//
// Zoho allows an org a number of CRM calls at once from one app (5 Free,
// 10 Standard, 15 Professional, 20 Enterprise, 25 Ultimate; 10 of them
// for writes of more than 10 records) and credits per rolling 24 hours,
// answering 429 beyond either. Every call sync makes to an org (the
// fields read, a write, a duplicate's note, read or update) holds one of
// the org's concurrency slots, shared by every instance of the function
// (slots.go, Limiter; submissionstore.SlotStore, the concurrency table):
// an org of limit N has N slot items, one per org
// (org#<location>/<environment>/<org id>#<n>, so every tenant's connection
// of one org shares them). A slot is taken by one conditional PutItem of a
// free one or one whose lease ended, slots tried in a random order;
// given back by a DeleteItem conditional on its owner; leased for 30 s
// (the function's 20 s timeout and a margin), so a crashed run's slot is
// free again within that, and a live run's is never taken from it. The
// limit is the connection's concurrency_limit when the product set one
// (PATCH /connections/{id}), else its edition's, read from the
// Organization API at connect time (Connection.Edition), else Free's 5.
//
// A submission that finds no slot free is queued (202), not sent, and its
// message comes back after 15 s (BusyDelay), then 30 s, 1 min ... up to 15
// min at each look that finds the org still busy, jittered; never a
// failure. A 429 (Zoho's concurrency or daily credits spent: the answer
// does not say which) holds every slot of the org for 5 minutes
// (ThrottleHold, jittered: Limiter.hold writes each slot's lease to no
// one), so that no instance calls the org meanwhile and every submission
// is queued without a call (a take that finds a slot held tries no other:
// one failed write a look); after the hold, the first call to get a slot
// tells whether Zoho takes calls again (exhausted credits: one refused
// probe every five minutes or so, until the rolling window frees them).
//
// The consumer delivers in batches (batch.go; the event source's
// BatchSize 100, MaximumBatchingWindowInSeconds 5): one connection's
// messages together, under one slot of its org, each entry taken with its
// conditional write as before (exactly once per submission), mapped, and
// one module's records written in one insert of up to 100 (with the same
// duplicate check and trigger), each record's answer then resolved as the
// connection's on_duplicate says (note, fill_empty, update: one or two
// calls more, in the same slot). Writes of more than 10 records take a
// slot of the org's sub-concurrency pool too (bulk#..., 10) when the
// org's limit is above 10; with none free they go 10 records a call.
// Each message keeps its own outcome (a partial batch response): a
// refused record is rejected alone (a request Zoho refuses as a whole is
// sent again a record at a time, so that only the record at fault is
// rejected); a whole call that failed is retried for each. When a call meets a 429, the rest of the batch waits without
// a call. A duplicate's follow-up that would not finish before the
// invocation's deadline waits for the next look (nothing was created for
// it).
//
// # What Zoho refuses
//
// A record Zoho refuses (a per-record error), and any HTTP 4xx answer to
// the write other than INVALID_TOKEN, OAUTH_SCOPE_MISMATCH (422
// module_not_permitted, above), DOMAIN_TOKEN_MISMATCH, any other 401, 429
// and 408 (so INVALID_DATA, INVALID_MODULE, REQUIRED_PARAM_MISSING,
// NO_PERMISSION, ...), is a refusal: 422 invalid_submission at once, or from the queue the entry
// rejected and the message to the dead-letter queue without retries. Only
// 5xx, timeouts and network errors (and a 401 with no known code) are
// tried again; a 429 holds the org (above).
//
// # Tokens
//
// Access tokens are read from the vault and kept in memory per
// connection until two minutes before they expire, so a warm function
// makes no Secrets Manager call per submission. On INVALID_TOKEN the
// cached token is dropped, the RefreshFunction is asked to refresh that
// connection under its lease, naming the refused token by its expiry
// (rejected_token_expires_at: it refreshes when the stored token is still
// that one, however young, and answers refreshed_by_another when someone
// replaced it), the vault is read again and the write is tried once more.
// DOMAIN_TOKEN_MISMATCH and a refresh that reports reauth_required mark
// the connection reauth_required (one UpdateItem of
// the status attributes only, ConnectionStore.UpdateActive of
// connection.RequireReauth: sync's IAM policy allows no other write to the
// connections table) and hold the submission.
package submission
