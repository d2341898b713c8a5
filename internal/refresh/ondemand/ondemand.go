// Package ondemand is the contract between SyncFunction and RefreshFunction
// for refreshing one connection now: the payload sync invokes RefreshFunction
// with, the outcomes RefreshFunction answers, and how sync reads them. It
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
}

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
)

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
	case "":
		return errors.New("refresh answer has no outcome")
	}
	return fmt.Errorf("refresh outcome %q", a.Outcome)
}
