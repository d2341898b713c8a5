package submission

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

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
	// Signature is the MAC of "X-Signature: sha256=<hex>".
	Signature []byte
}

// ParseCredentials reads the Authorization and X-Signature headers. A
// Bearer key wins when both are given. Malformed headers give no
// credentials (and so a 401), never a hint about what was wrong.
func ParseCredentials(authorization, signature string) Credentials {
	var c Credentials
	if scheme, key, ok := strings.Cut(strings.TrimSpace(authorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c.Bearer = strings.TrimSpace(key)
	}
	if c.Bearer == "" && signature != "" {
		c.Signature, _ = ParseSignature(signature)
	}
	return c
}

// ParseSignature reads "sha256=<64 hex digits>".
func ParseSignature(h string) ([]byte, error) {
	alg, hexMAC, ok := strings.Cut(strings.TrimSpace(h), "=")
	if !ok || !strings.EqualFold(alg, "sha256") || len(hexMAC) != 2*sha256.Size {
		return nil, errMalformedSignature
	}
	mac, err := hex.DecodeString(hexMAC)
	if err != nil {
		return nil, errMalformedSignature
	}
	return mac, nil
}

// Sign is the X-Signature value of body under key, as a client computes it.
func Sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Checked against when the connection is unknown, so that an unknown
// connection costs what a known one does.
var (
	decoyHash  = connection.HashSubmissionKey("zsk_decoy")
	decoyKeyID = "00000000000000000000000000000000"
)

// authenticate finds the connection and checks the credentials against
// it: a Bearer key by its hash, in constant time; a signature by
// re-deriving the key and comparing MACs with hmac.Equal. An unknown
// connection is checked against a decoy, doing the same work.
func (s *Service) authenticate(ctx context.Context, id string, cred Credentials, body []byte) (*connection.Connection, error) {
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
		m.Write(body)
		ok = hmac.Equal(m.Sum(nil), cred.Signature)
	}
	if !ok || c == nil || c.SubmissionHash == "" || c.Status == connection.Disconnected {
		return nil, ErrUnauthorized
	}
	return c, nil
}
