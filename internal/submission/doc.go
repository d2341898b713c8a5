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
// stored hash in constant time), or "X-Signature: sha256=<hex>", the
// HMAC-SHA256 of the decoded body under the key, re-derived from the
// master secret and compared with hmac.Equal. A missing, malformed or
// wrong credential, a malformed or unknown connection id and a
// disconnected connection all answer the same 401; an unknown connection
// is checked against a decoy so that it costs the same work. (401 rather
// than 410 for a disconnected connection: it says nothing about which
// connections exist.) A connection waiting for re-authorization still
// takes submissions: they are held (202).
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
// # Nothing lost
//
// A queued submission's record lives in its idempotency entry; the SQS
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
// The consumer reports a transient failure as a batch item failure after
// setting the message's visibility to 1, 2, 4 ... 60 minutes by receive
// count (maxReceiveCount 8: about two hours, then the dead-letter queue
// and its alarm). A connection that needs re-authorization holds its
// submissions: the consumer sends a fresh message with a 15-minute delay
// instead of failing the received one, so holding never counts toward
// the dead-letter queue, for up to 7 days; after a reconnect the next look
// delivers. Zoho refusing a queued record's data, or a connection that is
// gone, marks the entry rejected and sends the message to the dead-letter
// queue quickly.
//
// # What Zoho refuses
//
// A record Zoho refuses (a per-record error), and any HTTP 4xx answer to
// the write other than INVALID_TOKEN, OAUTH_SCOPE_MISMATCH,
// DOMAIN_TOKEN_MISMATCH, any other 401, 429 and 408 (so INVALID_DATA,
// INVALID_MODULE, REQUIRED_PARAM_MISSING, NO_PERMISSION, ...), is a
// refusal: 422 invalid_submission at once, or from the queue the entry
// rejected and the message to the dead-letter queue without retries. Only
// 5xx, 429, timeouts and network errors (and a 401 with no known code)
// are tried again.
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
// DOMAIN_TOKEN_MISMATCH, OAUTH_SCOPE_MISMATCH and a refresh that reports
// reauth_required mark the connection reauth_required (one UpdateItem of
// the status attributes only, ConnectionStore.UpdateActive of
// connection.RequireReauth: sync's IAM policy allows no other write to the
// connections table) and hold the submission.
package submission
