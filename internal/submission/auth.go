package submission

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// ErrUnauthorized is every authentication failure: a missing, malformed or
// wrong key or signature, a malformed or unknown connection id, a
// disconnected connection. One error, one answer, so that nothing tells a
// caller which it was.
var ErrUnauthorized = errors.New("not authorized")

// Credentials are what a request presented.
type Credentials struct {
	// Bearer is the key of "Authorization: Bearer <key>".
	Bearer string
	// Signature is "X-Signature: t=<unix seconds>,v1=<hex>" (nil when
	// absent or malformed).
	Signature *Signature
	// Form is set only by internal/formpost, for a post to a public form
	// it has checked (the form exists, names this connection, and the
	// post passed its origin, honeypot, CAPTCHA and rate limit): no key is
	// presented. ParseCredentials never sets it.
	Form bool
}

// Signature is a parsed X-Signature header.
type Signature struct {
	// Timestamp is t: when the client signed, in unix seconds.
	Timestamp int64
	// MAC is v1: HMAC-SHA256 under the submission key of SigningInput.
	MAC []byte
}

// MaxSignatureAge is how far a signature's t may be from now, either way.
const MaxSignatureAge = 300 * time.Second

// ParseCredentials reads the Authorization and X-Signature headers. A
// Bearer key wins when both are given. Malformed headers give no
// credentials (and so a 401), never a hint about what was wrong.
func ParseCredentials(authorization, signature string) Credentials {
	var c Credentials
	if scheme, key, ok := strings.Cut(strings.TrimSpace(authorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c.Bearer = strings.TrimSpace(key)
	}
	if c.Bearer == "" && signature != "" {
		if sig, err := ParseSignature(signature); err == nil {
			c.Signature = &sig
		}
	}
	return c
}

var (
	signatureTime = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	signatureKey  = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)
)

// ParseSignature reads "t=<unix seconds>,v1=<64 hex digits>": comma
// separated, in any order, spaces around the parts allowed. t is a plain
// decimal (no sign, no leading zero) and v1 one MAC; each comes once.
// Other parts of the same shape (a later scheme, "v2=...") are ignored, so
// a client may send a newer scheme beside v1.
func ParseSignature(h string) (Signature, error) {
	var sig Signature
	parts := strings.Split(strings.TrimSpace(h), ",")
	if len(parts) > 8 {
		return Signature{}, errMalformedSignature
	}
	seenT := false
	for _, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !signatureKey.MatchString(k) {
			return Signature{}, errMalformedSignature
		}
		switch k {
		case "t":
			if seenT || !signatureTime.MatchString(v) {
				return Signature{}, errMalformedSignature
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Signature{}, errMalformedSignature
			}
			sig.Timestamp, seenT = n, true
		case "v1":
			if sig.MAC != nil || len(v) != 2*sha256.Size {
				return Signature{}, errMalformedSignature
			}
			mac, err := hex.DecodeString(v)
			if err != nil {
				return Signature{}, errMalformedSignature
			}
			sig.MAC = mac
		}
	}
	if !seenT || sig.MAC == nil {
		return Signature{}, errMalformedSignature
	}
	return sig, nil
}

// Signed is what a signature covers besides its time.
type Signed struct {
	Method string // POST
	// Path is the request's path without the API's stage:
	// /connections/{connection_id}/submissions.
	Path           string
	RawQuery       string // as sent, "" when there is none
	IdempotencyKey string // the header, "" when absent
	Body           []byte // as sent (decoded from base64 when API Gateway encoded it)
}

// SigningInput is what the MAC is computed over:
// "<t>.<METHOD>.<path>?<raw query>.<Idempotency-Key>.<body>", the "?" and
// the query left out when there is none.
func SigningInput(t int64, r Signed) []byte {
	target := r.Path
	if r.RawQuery != "" {
		target += "?" + r.RawQuery
	}
	head := strconv.FormatInt(t, 10) + "." + r.Method + "." + target + "." + r.IdempotencyKey + "."
	return append([]byte(head), r.Body...)
}

// Sign is the X-Signature value of r at time t under key, as a client
// computes it.
func Sign(key string, t time.Time, r Signed) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(SigningInput(t.Unix(), r))
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Checked against when the connection is unknown, so that an unknown
// connection costs what a known one does.
var (
	decoyHash  = connection.HashSubmissionKey("zsk_decoy")
	decoyKeyID = "00000000000000000000000000000000"
)

// authenticate finds the connection and checks the credentials against
// it: a Bearer key by its hash, in constant time; a signature by
// re-deriving the key, comparing MACs with hmac.Equal, and its time with
// now. An unknown connection is checked against a decoy, doing the same
// work.
func (s *Service) authenticate(ctx context.Context, id string, cred Credentials, signed Signed) (*connection.Connection, error) {
	if cred.Form {
		return s.formConnection(ctx, id)
	}
	if cred.Bearer == "" && cred.Signature == nil {
		return nil, ErrUnauthorized
	}
	var c *connection.Connection
	if connection.ValidID(id) {
		var err error
		c, err = s.Connections.Get(ctx, id)
		if err != nil && !errors.Is(err, connection.ErrNotFound) {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
	}
	hash, keyID, connID := decoyHash, decoyKeyID, "zc_decoy"
	if c != nil && c.SubmissionHash != "" {
		hash, keyID, connID = c.SubmissionHash, c.SubmissionKeyID, c.ID
	}
	var ok bool
	switch {
	case cred.Bearer != "" && !strings.HasPrefix(cred.Bearer, connection.SubmissionKeyPrefix) && s.ProductKey != nil:
		// The product's API key submits for any of its connections.
		var err error
		if ok, err = s.ProductKey.Check(ctx, cred.Bearer); err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if ok && c != nil && c.Status != connection.Disconnected {
			return c, nil
		}
		return nil, ErrUnauthorized
	case cred.Bearer != "":
		ok = connection.KeyMatches(cred.Bearer, hash)
	default:
		keys, err := s.Keys.Keys(ctx)
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		m := hmac.New(sha256.New, []byte(keys.Derive(connID, keyID).Reveal()))
		m.Write(SigningInput(cred.Signature.Timestamp, signed))
		age := s.Now.Now().Unix() - cred.Signature.Timestamp
		fresh := age <= int64(MaxSignatureAge/time.Second) && age >= -int64(MaxSignatureAge/time.Second)
		ok = hmac.Equal(m.Sum(nil), cred.Signature.MAC) && fresh
	}
	if !ok || c == nil || c.SubmissionHash == "" || c.Status == connection.Disconnected {
		return nil, ErrUnauthorized
	}
	return c, nil
}
