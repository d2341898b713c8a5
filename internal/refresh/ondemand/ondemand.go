// Package ondemand is the contract between SyncFunction and RefreshFunction
// for refreshing one connection now: the payload sync invokes RefreshFunction
// with, the outcomes RefreshFunction answers, and how sync reads them; and
// the payload of RefreshFunction's own shard workers. It
// is a package of its own so that sync's binary knows the contract without
// linking the refresh use case.
package ondemand

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Request is the on-demand payload.
type Request struct {
	ConnectionID string `json:"connection_id"`
	// RejectedTokenExpiresAt (RFC 3339, optional) is the expiry of the
	// access token Zoho refused: the connection is refreshed when its
	// stored token is still that one, however young (refresh.RefreshOne).
	RejectedTokenExpiresAt string `json:"rejected_token_expires_at,omitempty"`
	// Revoke, when set, asks for a revocation instead of a refresh:
	// RevokeCurrent for a disconnected connection (its refresh token
	// revoked at its DC, its token secrets deleted), RevokeReplaced for
	// the refresh token a reconnect replaced. Callers that face the public
	// never read refresh tokens: they ask here.
	Revoke string `json:"revoke,omitempty"`
}

// ShardRequest is a refresh worker's payload (a scheduled run fans out
// over the refresh shards, one worker each): its shard ("00".."15") and
// where to start ("" for the beginning of the shard; else the cursor the
// worker before it answered, when its time ran out).
type ShardRequest struct {
	Shard  string `json:"shard"`
	Cursor string `json:"cursor,omitempty"`
}

// What Request.Revoke asks for.
const (
	RevokeCurrent  = "current"
	RevokeReplaced = "replaced"
)

// NewRevokeRequest asks for a revocation of connection id's token (which
// is RevokeCurrent or RevokeReplaced).
func NewRevokeRequest(id, which string) Request { return Request{ConnectionID: id, Revoke: which} }

// NewRequest is the on-demand payload for connection id; rejected, when
// not zero, is the expiry of the access token Zoho refused.
func NewRequest(id string, rejected time.Time) Request {
	r := Request{ConnectionID: id}
	if !rejected.IsZero() {
		r.RejectedTokenExpiresAt = rejected.UTC().Format(time.RFC3339)
	}
	return r
}

// Outcome is what became of one connection, in a scheduled run or on
// demand.
type Outcome string

const (
	Refreshed      Outcome = "refreshed"
	Failed         Outcome = "failed"
	ReauthRequired Outcome = "reauth_required"
	// Skipped: another run or an on-demand refresh holds the lease, or the
	// token was refreshed since the index was read.
	Skipped Outcome = "skipped"
	// RefreshedByAnother (on demand): someone else held the lease and
	// refreshed the token meanwhile; read the vault again.
	RefreshedByAnother Outcome = "refreshed_by_another"
	// Fresh (on demand): the token was refreshed within the last minute;
	// read the vault again.
	Fresh Outcome = "fresh"
	// InProgress (on demand): someone else still holds the lease after
	// the wait; try again shortly.
	InProgress Outcome = "in_progress"
	// NotFound (on demand): no such connection.
	NotFound Outcome = "not_found"
	// BackingOff (on demand): the connection's last refresh failed and its
	// backoff has not run out; Zoho is not asked before it has. Try later.
	BackingOff Outcome = "backing_off"

	// The outcomes of a revocation.
	Revoked        Outcome = "revoked"
	AlreadyInvalid Outcome = "already_invalid" // Zoho called it invalid: revoked or expired before
	NoRefreshToken Outcome = "no_refresh_token"
	// NotDisconnected: RevokeCurrent refuses to revoke the token of a
	// connection that is not disconnected.
	NotDisconnected Outcome = "not_disconnected"
)

// ReadRevokeAnswer interprets RefreshFunction's answer to a revocation:
// nil when the token is revoked or there was none to revoke.
func ReadRevokeAnswer(b []byte) error {
	var a Result
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("revoke answer is not JSON: %w", err)
	}
	switch a.Outcome {
	case Revoked, AlreadyInvalid, NoRefreshToken:
		return nil
	case "":
		return errors.New("revoke answer has no outcome")
	}
	return fmt.Errorf("revoke outcome %q", a.Outcome)
}

// Result is RefreshFunction's answer for one connection.
type Result struct {
	ConnectionID string  `json:"connection_id"`
	Outcome      Outcome `json:"outcome"`
	// TokenExpiresAt is the connection's token expiry after the call, when
	// known.
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
}

// ErrReauthRequired is ReadAnswer's error when the connection needs
// re-authorization.
var ErrReauthRequired = errors.New("the connection needs re-authorization")

// ErrBackingOff is ReadAnswer's error when the connection's refresh is
// backing off after failures: try again later.
var ErrBackingOff = errors.New("the connection's refresh is backing off after failures")

// ReadAnswer interprets RefreshFunction's answer for one connection: nil
// when the vault holds a token worth reading again, ErrReauthRequired when
// the connection needs re-authorization, another error to try again later.
func ReadAnswer(b []byte) error {
	var a Result
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("refresh answer is not JSON: %w", err)
	}
	switch a.Outcome {
	case Refreshed, RefreshedByAnother, Fresh:
		return nil
	case ReauthRequired:
		return ErrReauthRequired
	case BackingOff:
		return ErrBackingOff
	case "":
		return errors.New("refresh answer has no outcome")
	}
	return fmt.Errorf("refresh outcome %q", a.Outcome)
}
