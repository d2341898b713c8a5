package tokentable

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fakeKMS "encrypts" a data key by remembering it with its context, and
// refuses a decrypt under another context, as KMS does.
type fakeKMS struct {
	keys              map[string]fakeKey
	generate, decrypt int
}

type fakeKey struct {
	plain   []byte
	context map[string]string
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.generate++
	plain, blob := make([]byte, 32), make([]byte, 16)
	rand.Read(plain)
	rand.Read(blob)
	f.keys[string(blob)] = fakeKey{plain: append([]byte(nil), plain...), context: maps.Clone(in.EncryptionContext)}
	return &kms.GenerateDataKeyOutput{Plaintext: plain, CiphertextBlob: blob}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.decrypt++
	k, ok := f.keys[string(in.CiphertextBlob)]
	if !ok || !maps.Equal(k.context, in.EncryptionContext) {
		return nil, &kmstypes.InvalidCiphertextException{}
	}
	return &kms.DecryptOutput{Plaintext: append([]byte(nil), k.plain...)}, nil
}

func TestSealerReusesDataKeysAndBindsTheConnection(t *testing.T) {
	ctx := context.Background()
	f := &fakeKMS{keys: map[string]fakeKey{}}
	now := time.Unix(1_700_000_000, 0)
	s := &Sealer{KMS: f, KeyID: "k", Kind: KindRefresh, KeyUses: 3, Now: func() time.Time { return now }}

	var sealed []Sealed
	for range 3 {
		x, err := s.Seal(ctx, "zc_a", []byte("1000.refresh"))
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, x)
	}
	if f.generate != 1 {
		t.Errorf("three seals made %d data keys, want 1", f.generate)
	}
	if string(sealed[0].Box) == string(sealed[1].Box) {
		t.Error("two seals of one token are the same bytes (nonce reused)")
	}
	if _, err := s.Seal(ctx, "zc_a", []byte("x")); err != nil || f.generate != 2 {
		t.Errorf("the fourth seal (KeyUses 3): %v, %d data keys, want 2", err, f.generate)
	}
	now = now.Add(DefaultKeyAge)
	if _, err := s.Seal(ctx, "zc_a", []byte("x")); err != nil || f.generate != 3 {
		t.Errorf("after KeyAge: %v, %d data keys, want 3", err, f.generate)
	}
	if f.generate+0 != 3 || f.keys[string(sealed[0].Key)].context["kind"] != KindRefresh || f.keys[string(sealed[0].Key)].context["purpose"] != Purpose {
		t.Errorf("context: %v", f.keys[string(sealed[0].Key)].context)
	}

	// A cold instance decrypts each data key once.
	cold := &Sealer{KMS: f, KeyID: "k", Kind: KindRefresh}
	for _, x := range sealed {
		if got, err := cold.Open(ctx, "zc_a", x); err != nil || string(got) != "1000.refresh" {
			t.Fatalf("open: %q %v", got, err)
		}
	}
	if f.decrypt != 1 {
		t.Errorf("three opens under one data key: %d decrypts, want 1", f.decrypt)
	}

	// Another connection's, a changed box, another kind: none opens.
	if _, err := cold.Open(ctx, "zc_b", sealed[0]); !errors.Is(err, ErrTampered) {
		t.Errorf("another connection: %v", err)
	}
	bad := Sealed{Key: sealed[0].Key, Box: append([]byte(nil), sealed[0].Box...)}
	bad.Box[len(bad.Box)-1] ^= 1
	if _, err := cold.Open(ctx, "zc_a", bad); !errors.Is(err, ErrTampered) {
		t.Errorf("a changed box: %v", err)
	}
	access := &Sealer{KMS: f, KeyID: "k", Kind: KindAccess}
	if _, err := access.Open(ctx, "zc_a", sealed[0]); !errors.Is(err, ErrTampered) {
		t.Errorf("a refresh token opened as an access token: %v", err)
	}
}

func TestColdWorkersDecryptADataKeyOnce(t *testing.T) {
	ctx := context.Background()
	f := &fakeKMS{keys: map[string]fakeKey{}}
	warm := &Sealer{KMS: f, KeyID: "k", Kind: KindAccess}
	x, err := warm.Seal(ctx, "zc_a", []byte("1000.access"))
	if err != nil {
		t.Fatal(err)
	}
	cold := &Sealer{KMS: f, KeyID: "k", Kind: KindAccess}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := cold.Open(ctx, "zc_a", x); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.decrypt != 1 {
		t.Errorf("8 workers at a cold start made %d decrypts, want 1", f.decrypt)
	}
}

// BenchmarkSealAndOpen is the local cost of one token's envelope once the
// data key is cached: what replaces a Secrets Manager call per token.
func BenchmarkSealAndOpen(b *testing.B) {
	ctx := context.Background()
	f := &fakeKMS{keys: map[string]fakeKey{}}
	s := &Sealer{KMS: f, KeyID: "k", Kind: KindAccess, KeyUses: 1 << 30}
	token := []byte(`{"access_token":"1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef","api_domain":"https://www.zohoapis.eu","expires_at":"2030-01-02T03:04:05Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		x, err := s.Seal(ctx, "zc_0123456789abcdef01234567", token)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(ctx, "zc_0123456789abcdef01234567", x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.generate+f.decrypt)/float64(b.N), "kms-calls/op")
}
