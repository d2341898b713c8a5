package connection

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// SubmissionKeys mints and checks submission keys. A key is derived from a
// master secret, the connection id and a random key id, so the table needs
// to hold only the key id and the key's hash: the key itself is shown once,
// and re-derived (never read back) where an HMAC signature must be checked.
type SubmissionKeys struct {
	master []byte
}

// NewSubmissionKeys takes the master secret (at least 32 bytes).
func NewSubmissionKeys(master []byte) (*SubmissionKeys, error) {
	if len(master) < 32 {
		return nil, errors.New("submission key master secret is shorter than 32 bytes")
	}
	return &SubmissionKeys{master: append([]byte(nil), master...)}, nil
}

// New mints a key for a connection: the key (show it once), its id and hash
// (store those). The key is a zoho.Secret, so it logs redacted; its id
// and hash are not secrets.
func (k *SubmissionKeys) New(connectionID string) (key zoho.Secret, keyID, hash string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", err
	}
	keyID = hex.EncodeToString(b[:])
	key = k.Derive(connectionID, keyID)
	return key, keyID, HashSubmissionKey(key.Reveal()), nil
}

// Derive re-creates the key of a connection and key id.
func (k *SubmissionKeys) Derive(connectionID, keyID string) zoho.Secret {
	m := hmac.New(sha256.New, k.master)
	m.Write([]byte(connectionID + "|" + keyID))
	return zoho.Secret(SubmissionKeyPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
}

// HashSubmissionKey is what the table stores of a key.
func HashSubmissionKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyMatches compares a presented key with a stored hash in constant time.
func KeyMatches(presented, storedHash string) bool {
	got := HashSubmissionKey(presented)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1 && storedHash != ""
}

// SecretValue reads a secret's current value.
type SecretValue interface {
	Value(ctx context.Context) (string, error)
}

// KeySource makes the submission-key minter from the master secret, again
// only when the secret's value changed (it rotates).
type KeySource struct {
	Secret SecretValue

	mu   sync.Mutex
	raw  string
	keys *SubmissionKeys
}

// Keys returns the minter for the current master secret.
func (s *KeySource) Keys(ctx context.Context) (*SubmissionKeys, error) {
	raw, err := s.Secret.Value(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil || raw != s.raw {
		k, err := NewSubmissionKeys([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("submission key secret: %w", err)
		}
		s.raw, s.keys = raw, k
	}
	return s.keys, nil
}

// SubmissionKeyPrefix starts every submission key, so that a Bearer
// credential tells at once whether it is one or the product's API key.
const SubmissionKeyPrefix = "zsk_"
