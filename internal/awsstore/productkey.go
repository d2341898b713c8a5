package awsstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ProductKeys checks the product's API key (PRODUCT_API_KEY_SECRET_ID)
// against both the secret's AWSCURRENT and AWSPREVIOUS values, so the key
// rotates without downtime: the old key keeps working until the next
// rotation. Only the values' hashes are kept in memory between reads.
type ProductKeys struct {
	SM SecretsManager
	ID string
	// TTL is how long the values are trusted (default 5 min); a key that
	// matches neither makes a fresh read at most every MissTTL (30 s), so
	// a key rotated just now is accepted at once.
	TTL, MissTTL time.Duration

	mu      sync.Mutex
	hashes  [][32]byte
	fetched time.Time
}

// Stages read, newest first.
var productKeyStages = []string{"AWSCURRENT", "AWSPREVIOUS"}

// Check reports whether presented is the current or the previous key.
func (p *ProductKeys) Check(ctx context.Context, presented string) (bool, error) {
	if presented == "" {
		return false, nil
	}
	sum := sha256.Sum256([]byte(presented))
	p.mu.Lock()
	defer p.mu.Unlock()
	ttl, miss := p.TTL, p.MissTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	if miss <= 0 {
		miss = 30 * time.Second
	}
	age := time.Since(p.fetched)
	if p.hashes != nil && age < ttl && (matches(p.hashes, sum) || age < miss) {
		return matches(p.hashes, sum), nil
	}
	hashes, err := p.read(ctx)
	if err != nil {
		return false, err
	}
	p.hashes, p.fetched = hashes, time.Now()
	return matches(hashes, sum), nil
}

func (p *ProductKeys) read(ctx context.Context) ([][32]byte, error) {
	var out [][32]byte
	for _, stage := range productKeyStages {
		v, err := p.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.ID), VersionStage: aws.String(stage)})
		var nf *smtypes.ResourceNotFoundException
		if stage != "AWSCURRENT" && errors.As(err, &nf) {
			continue // never rotated: no previous version
		}
		if err != nil {
			return nil, fmt.Errorf("read product API key (%s): %w", stage, err)
		}
		if s := aws.ToString(v.SecretString); s != "" {
			out = append(out, sha256.Sum256([]byte(s)))
		}
	}
	return out, nil
}

// matches compares every hash, in constant time each.
func matches(hashes [][32]byte, sum [32]byte) bool {
	ok := 0
	for _, h := range hashes {
		ok |= subtle.ConstantTimeCompare(h[:], sum[:])
	}
	return ok == 1
}
