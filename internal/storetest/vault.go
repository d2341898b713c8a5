package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/submission"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// TokenVault is the token vault as every use case sees it: the callback
// writes both tokens, the refresh reads the refresh token and writes the
// access token, sync reads the access token, the operator's disconnect
// reads the refresh token and deletes both. awsstore.TokenVault and
// connectiontest.Vault are each all of it.
type TokenVault interface {
	connect.TokenVault
	refresh.TokenVault
	submission.TokenVault
	admin.TokenVault
	refresh.RevocationVault
}

// RunTokenVaultContract runs the token vault's contract against the
// vaults newVault makes (a fresh, empty one per call).
func RunTokenVaultContract(t *testing.T, newVault func(t *testing.T) TokenVault) {
	id := connection.ID("eu", zoho.Production, "42")
	other := connection.ID("eu", zoho.Production, "43")
	tok := connection.AccessToken{Token: "1000.access-one", APIDomain: "https://www.zohoapis.eu",
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 678900000, time.UTC)}

	t.Run("no token is ErrNoToken", func(t *testing.T) {
		v := newVault(t)
		if _, err := v.RefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("refresh token: %v", err)
		}
		if _, err := v.AccessToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("access token: %v", err)
		}
		// One token stored is not the other.
		if err := v.PutRefreshToken(ctx, id, "1000.refresh-one"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.AccessToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("access token of a connection with only a refresh token: %v", err)
		}
		if _, err := v.RefreshToken(ctx, other); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("another connection's refresh token: %v", err)
		}
	})

	t.Run("the last token written is read", func(t *testing.T) {
		v := newVault(t)
		for _, rt := range []string{"1000.refresh-one", "1000.refresh-two"} {
			if err := v.PutRefreshToken(ctx, id, rt); err != nil {
				t.Fatal(err)
			}
			if got, err := v.RefreshToken(ctx, id); got != rt || err != nil {
				t.Fatalf("refresh token %q %v, want %q", got, err, rt)
			}
		}
		// The same value again is no error (a retried write).
		if err := v.PutRefreshToken(ctx, id, "1000.refresh-two"); err != nil {
			t.Fatal(err)
		}
		next := tok
		next.Token, next.ExpiresAt = "1000.access-two", tok.ExpiresAt.Add(time.Hour)
		for _, at := range []connection.AccessToken{tok, next, next} {
			if err := v.PutAccessToken(ctx, id, at); err != nil {
				t.Fatal(err)
			}
			got, err := v.AccessToken(ctx, id)
			if err != nil || got.Token != at.Token || got.APIDomain != at.APIDomain || !got.ExpiresAt.Equal(at.ExpiresAt) {
				t.Fatalf("access token %+v %v, want %+v (its expiry to the nanosecond)", got, err, at)
			}
		}
		if _, err := v.AccessToken(ctx, other); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("another connection's access token: %v", err)
		}
	})

	t.Run("the refresh token a new one replaced is kept for its revocation", func(t *testing.T) {
		v := newVault(t)
		if _, err := v.ReplacedRefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Fatalf("none stored: %v", err)
		}
		if err := v.PutRefreshToken(ctx, id, "1000.refresh-one"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.ReplacedRefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Fatalf("one stored, none replaced: %v", err)
		}
		if err := v.PutRefreshToken(ctx, id, "1000.refresh-two"); err != nil {
			t.Fatal(err)
		}
		if rt, err := v.ReplacedRefreshToken(ctx, id); err != nil || rt != "1000.refresh-one" {
			t.Fatalf("replaced: %q %v", rt, err)
		}
		if rt, err := v.RefreshToken(ctx, id); err != nil || rt != "1000.refresh-two" {
			t.Fatalf("current: %q %v", rt, err)
		}
	})

	t.Run("Delete removes both tokens, and may run again", func(t *testing.T) {
		v := newVault(t)
		if err := v.PutRefreshToken(ctx, id, "1000.refresh-one"); err != nil {
			t.Fatal(err)
		}
		if err := v.PutAccessToken(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
		if err := v.PutRefreshToken(ctx, other, "1000.refresh-other"); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := v.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := v.RefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("refresh token after Delete: %v", err)
		}
		if _, err := v.AccessToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("access token after Delete: %v", err)
		}
		if got, err := v.RefreshToken(ctx, other); got != "1000.refresh-other" || err != nil {
			t.Errorf("another connection's token after Delete: %q %v", got, err)
		}
		if err := v.Delete(ctx, connection.ID("us", zoho.Sandbox, "never")); err != nil {
			t.Errorf("deleting what was never stored: %v", err)
		}
	})
}
