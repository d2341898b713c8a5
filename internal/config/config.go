// Package config reads the functions' settings from the environment at
// cold start. A missing or malformed variable stops the start with an
// error naming it.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reader collects the first problems while settings are read, so a
// function reports every bad variable at once.
type Reader struct {
	problems []string
}

// String reads a required variable.
func (r *Reader) String(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		r.problems = append(r.problems, name+" is not set")
	}
	return v
}

// Optional reads a variable that may be unset, with a default.
func (r *Reader) Optional(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Int reads a positive whole number, with a default when unset.
func (r *Reader) Int(name string, def int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a positive whole number", name, v))
		return def
	}
	return n
}

// NonNegativeInt reads a whole number, 0 or more, with a default when
// unset (a setting where 0 means off).
func (r *Reader) NonNegativeInt(name string, def int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a whole number, 0 or more", name, v))
		return def
	}
	return n
}

// Bool reads "true" or "false" (any case), with a default when unset.
func (r *Reader) Bool(name string, def bool) bool {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(name))); v {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	default:
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not true or false", name, v))
		return def
	}
}

// Seconds reads a positive whole number of seconds, with a default
// duration (whole seconds) when unset.
func (r *Reader) Seconds(name string, def time.Duration) time.Duration {
	return time.Duration(r.Int(name, int(def/time.Second))) * time.Second
}

// Err returns the problems found, or nil.
func (r *Reader) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(r.problems, "; "))
}

// The token stores (TOKEN_STORE, the template's TokenStore).
const (
	TokenStoreSecretsManager = "SecretsManager"
	TokenStoreDynamoDB       = "DynamoDB"
)

// TokenStore says where a function keeps connections' tokens: Store is
// TokenStoreSecretsManager (TOKEN_SECRET_PREFIX names the secrets) or
// TokenStoreDynamoDB (TOKENS_TABLE, sealed under ACCESS_TOKEN_KEY_ID and
// REFRESH_TOKEN_KEY_ID).
type TokenStore struct {
	Store        string
	Table        string
	AccessKeyID  string
	RefreshKeyID string
}

// DynamoDB says whether the DynamoDB store is chosen.
func (t TokenStore) DynamoDB() bool { return t.Store == TokenStoreDynamoDB }

// TokenStore reads TOKEN_STORE (default SecretsManager) and, for the
// DynamoDB store, the table and the keys; refreshKey says whether this
// function is given the refresh token key (sync is not).
func (r *Reader) TokenStore(refreshKey bool) TokenStore {
	t := TokenStore{Store: r.Optional("TOKEN_STORE", TokenStoreSecretsManager)}
	switch t.Store {
	case TokenStoreSecretsManager:
	case TokenStoreDynamoDB:
		t.Table = r.String("TOKENS_TABLE")
		t.AccessKeyID = r.String("ACCESS_TOKEN_KEY_ID")
		if refreshKey {
			t.RefreshKeyID = r.String("REFRESH_TOKEN_KEY_ID")
		}
	default:
		r.problems = append(r.problems, fmt.Sprintf("TOKEN_STORE=%q is not %s or %s", t.Store, TokenStoreSecretsManager, TokenStoreDynamoDB))
	}
	return t
}
