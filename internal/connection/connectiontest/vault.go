package connectiontest

import (
	"context"
	"sync"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Vault is the token vault in memory (awsstore.TokenVault): each
// connection's access token and refresh token, apart.
type Vault struct {
	mu           sync.Mutex
	access       map[string]connection.AccessToken
	refresh      map[string]string
	replaced     map[string]string
	accessWrites map[string]int
	accessReads  int
}

// NewVault returns an empty vault.
func NewVault() *Vault {
	return &Vault{access: map[string]connection.AccessToken{}, refresh: map[string]string{}, replaced: map[string]string{}, accessWrites: map[string]int{}}
}

// PutAccessToken stores a connection's access token.
func (v *Vault) PutAccessToken(_ context.Context, id string, t connection.AccessToken) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.access[id] = t
	v.accessWrites[id]++
	return nil
}

// AccessToken reads a connection's access token, or connection.ErrNoToken.
func (v *Vault) AccessToken(_ context.Context, id string) (connection.AccessToken, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.accessReads++
	t, ok := v.access[id]
	if !ok {
		return connection.AccessToken{}, connection.ErrNoToken
	}
	return t, nil
}

// PutRefreshToken stores a connection's refresh token.
func (v *Vault) PutRefreshToken(_ context.Context, id, refreshToken string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.refresh[id]; ok {
		v.replaced[id] = old // as Secrets Manager's AWSPREVIOUS
	}
	v.refresh[id] = refreshToken
	return nil
}

// ReplacedRefreshToken reads the refresh token the last PutRefreshToken
// replaced, or connection.ErrNoToken.
func (v *Vault) ReplacedRefreshToken(_ context.Context, id string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rt, ok := v.replaced[id]
	if !ok {
		return "", connection.ErrNoToken
	}
	return rt, nil
}

// RefreshToken reads a connection's refresh token, or connection.ErrNoToken.
func (v *Vault) RefreshToken(_ context.Context, id string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rt, ok := v.refresh[id]
	if !ok {
		return "", connection.ErrNoToken
	}
	return rt, nil
}

// Delete removes both tokens of a connection; deleting none is no error.
func (v *Vault) Delete(_ context.Context, id string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.access, id)
	delete(v.refresh, id)
	delete(v.replaced, id)
	return nil
}

// AccessTokenWrites counts a connection's PutAccessToken calls.
func (v *Vault) AccessTokenWrites(id string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.accessWrites[id]
}

// AccessTokenReads counts the AccessToken calls, for every connection.
func (v *Vault) AccessTokenReads() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.accessReads
}

// RefreshTokens counts the connections holding a refresh token.
func (v *Vault) RefreshTokens() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.refresh)
}
