package tokentable

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS is the part of the KMS client the sealer uses.
type KMS interface {
	GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMS = (*kms.Client)(nil)

// Kinds of token, each under a key of its own and named in the KMS
// encryption context (kind), which the key policies condition on.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
	// Purpose is the encryption context's purpose: a data key made for a
	// token never decrypts under another context.
	Purpose = "zohoconnect-token"
)

// Defaults of a sealer's data-key reuse: a new data key every 5 minutes
// or 100,000 tokens (AES-GCM with random 96-bit nonces stays far from
// its 2^32 messages a key), and at most 4,096 decrypted data keys kept.
const (
	DefaultKeyAge    = 5 * time.Minute
	DefaultKeyUses   = 100_000
	DefaultCacheKeys = 4096
	dataKeyBytes     = 32
	nonceBytes       = 12
)

// ErrTampered is Open's answer to a sealed token that does not decrypt:
// it was changed, or it is another connection's (the connection id is the
// AES-GCM additional data).
var ErrTampered = errors.New("tokentable: a sealed token does not open: tampered with, or another connection's")

// Sealed is a token sealed under a data key: Key is the data key
// encrypted by KMS (under the sealer's key and context), Box the nonce
// and the AES-256-GCM ciphertext with its tag.
type Sealed struct {
	Key []byte
	Box []byte
}

// Sealer seals and opens one kind of token with envelope encryption: a
// data key from KMS GenerateDataKey (encryption context purpose and
// kind) encrypts tokens locally with AES-256-GCM, the connection id as
// additional data. KMS's context belongs to the data key, and one data
// key seals many connections' tokens, so the connection is bound by the
// additional data instead: a sealed token copied onto another connection
// does not open.
//
// A data key is reused for KeyAge or KeyUses tokens, whichever comes
// first, and decrypted data keys are kept by their ciphertext, so KMS is
// called about once per KeyAge per warm instance, not per token. It is
// safe for concurrent use.
type Sealer struct {
	KMS KMS
	// KeyID names the KMS key (its ARN, id or alias) of this kind.
	KeyID string
	Kind  string
	// KeyAge, KeyUses and CacheKeys default to DefaultKeyAge,
	// DefaultKeyUses and DefaultCacheKeys.
	KeyAge    time.Duration
	KeyUses   int
	CacheKeys int
	Now       func() time.Time

	mu      sync.Mutex
	current *dataKey
	opened  map[string]cipher.AEAD
	// decrypting is held while a data key is decrypted, so that workers
	// missing the cache at once (a cold start) make one KMS call, not one
	// each.
	decrypting sync.Mutex
}

type dataKey struct {
	encrypted []byte
	aead      cipher.AEAD
	made      time.Time
	uses      int
}

func (s *Sealer) context() map[string]string {
	return map[string]string{"purpose": Purpose, "kind": s.Kind}
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func aad(kind, connectionID string) []byte {
	return []byte("zohoconnect/v1/" + kind + "/" + connectionID)
}

// Seal encrypts plaintext for connection id.
func (s *Sealer) Seal(ctx context.Context, id string, plaintext []byte) (Sealed, error) {
	k, err := s.dataKey(ctx)
	if err != nil {
		return Sealed{}, err
	}
	box := make([]byte, nonceBytes, nonceBytes+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(box); err != nil {
		return Sealed{}, err
	}
	box = k.aead.Seal(box, box[:nonceBytes], plaintext, aad(s.Kind, id))
	return Sealed{Key: k.encrypted, Box: box}, nil
}

// IsCurrent says whether sealed was sealed under the data key Seal uses
// now (and may go on using).
func (s *Sealer) IsCurrent(sealed Sealed) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.current
	return k != nil && string(k.encrypted) == string(sealed.Key)
}

// Open decrypts what Seal sealed for connection id.
func (s *Sealer) Open(ctx context.Context, id string, sealed Sealed) ([]byte, error) {
	if len(sealed.Box) < nonceBytes {
		return nil, ErrTampered
	}
	a, err := s.openKey(ctx, sealed.Key)
	if err != nil {
		return nil, err
	}
	out, err := a.Open(nil, sealed.Box[:nonceBytes], sealed.Box[nonceBytes:], aad(s.Kind, id))
	if err != nil {
		return nil, ErrTampered
	}
	return out, nil
}

// dataKey returns the data key to seal with, making a new one when the
// current one is too old or too used.
func (s *Sealer) dataKey(ctx context.Context) (*dataKey, error) {
	age, uses := s.KeyAge, s.KeyUses
	if age <= 0 {
		age = DefaultKeyAge
	}
	if uses <= 0 {
		uses = DefaultKeyUses
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.current; k != nil && k.uses < uses && s.now().Sub(k.made) < age {
		k.uses++
		return k, nil
	}
	out, err := s.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(s.KeyID), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: s.context(),
	})
	if err != nil {
		return nil, fmt.Errorf("tokentable: a data key for %s tokens: %w", s.Kind, err)
	}
	a, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, err
	}
	s.current = &dataKey{encrypted: out.CiphertextBlob, aead: a, made: s.now(), uses: 1}
	s.remember(out.CiphertextBlob, a)
	return s.current, nil
}

// openKey returns the cipher of an encrypted data key, asking KMS only
// for one not seen before.
func (s *Sealer) openKey(ctx context.Context, encrypted []byte) (cipher.AEAD, error) {
	if a, ok := s.cached(encrypted); ok {
		return a, nil
	}
	s.decrypting.Lock()
	defer s.decrypting.Unlock()
	if a, ok := s.cached(encrypted); ok {
		return a, nil // another worker decrypted it meanwhile
	}
	out, err := s.KMS.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob: encrypted, KeyId: aws.String(s.KeyID), EncryptionContext: s.context(),
	})
	var invalid *kmstypes.InvalidCiphertextException
	if errors.As(err, &invalid) {
		return nil, ErrTampered
	}
	if err != nil {
		return nil, fmt.Errorf("tokentable: decrypt a %s token's data key: %w", s.Kind, err)
	}
	a, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.remember(encrypted, a)
	s.mu.Unlock()
	return a, nil
}

func (s *Sealer) cached(encrypted []byte) (cipher.AEAD, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.opened[string(encrypted)]
	return a, ok
}

// remember keeps a data key's cipher; past CacheKeys the cache starts
// over (data keys change every KeyAge, so old ones are rarely asked for).
func (s *Sealer) remember(encrypted []byte, a cipher.AEAD) {
	limit := s.CacheKeys
	if limit <= 0 {
		limit = DefaultCacheKeys
	}
	if s.opened == nil || len(s.opened) >= limit {
		s.opened = map[string]cipher.AEAD{}
	}
	s.opened[string(encrypted)] = a
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != dataKeyBytes {
		return nil, fmt.Errorf("tokentable: KMS gave a data key of %d bytes, not %d", len(key), dataKeyBytes)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
