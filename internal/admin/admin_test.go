package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// journal records the calls of the fakes, in order.
type journal []string

func (j *journal) add(format string, a ...any) { *j = append(*j, fmt.Sprintf(format, a...)) }

// fakeStore is the in-memory connections table the contract proves
// (connectiontest.Connections passes storetest.RunConnectionsContract, as
// the DynamoDB store does), journaling the writes.
type fakeStore struct {
	*connectiontest.Connections
	j *journal
}

func newFakeStore(j *journal, cs ...connection.Connection) *fakeStore {
	return &fakeStore{Connections: connectiontest.NewConnections(cs...), j: j}
}

func (s *fakeStore) Update(ctx context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error) {
	c, err := s.Connections.Update(ctx, id, change)
	if err != nil {
		return nil, err
	}
	s.j.add("update %s status=%s", id, c.Status)
	return c, nil
}

// conn is the stored connection.
func (s *fakeStore) conn(id string) connection.Connection { return s.Item(id) }

// fakeVault is the in-memory token vault the contract proves
// (connectiontest.Vault), journaling the deletes.
type fakeVault struct {
	*connectiontest.Vault
	j *journal
}

func newFakeVault(j *journal, refreshTokens map[string]string) *fakeVault {
	v := &fakeVault{Vault: connectiontest.NewVault(), j: j}
	for id, rt := range refreshTokens {
		_ = v.PutRefreshToken(context.Background(), id, rt)
	}
	return v
}

func (v *fakeVault) Delete(ctx context.Context, id string) error {
	if err := v.Vault.Delete(ctx, id); err != nil {
		return err
	}
	v.j.add("delete secrets %s", id)
	return nil
}

// refreshToken is the stored refresh token ("" for none).
func (v *fakeVault) refreshToken(id string) string {
	rt, _ := v.RefreshToken(context.Background(), id)
	return rt
}

type staticOAuth struct{ conf *zoho.Config }

func (o staticOAuth) Config(context.Context) (*zoho.Config, error) { return o.conf, nil }

// zohoAccounts serves the revoke endpoint with the given status and body.
func zohoAccounts(t *testing.T, j *journal, status int, body string) *zoho.Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.add("revoke at %s", r.Host)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &zoho.Config{ClientID: "1000.X", ClientSecret: "secret", HTTPClient: hc}
}

const testID = "zc_0123456789abcdef01234567"

func newDisconnectService(t *testing.T, status int, body string) (*Service, *journal, *fakeStore, *fakeVault) {
	j := &journal{}
	store := newFakeStore(j, connection.Connection{ID: testID, Location: "eu", AccountsServer: "https://accounts.zoho.eu", Status: connection.Active, Version: 3})
	vault := newFakeVault(j, map[string]string{testID: "1000.refresh.token"})
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	svc := &Service{Connections: store, Tokens: vault, OAuth: staticOAuth{zohoAccounts(t, j, status, body)}, Now: func() time.Time { return now }}
	return svc, j, store, vault
}

func TestDisconnectRevokesAtTheConnectionsDCThenMarksThenDeletes(t *testing.T) {
	svc, j, store, vault := newDisconnectService(t, 200, `{"status":"success"}`)
	res, err := svc.Disconnect(context.Background(), testID, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"revoke at accounts.zoho.eu", "update " + testID + " status=disconnected", "delete secrets " + testID}
	if strings.Join(*j, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(*j, "\n"), strings.Join(want, "\n"))
	}
	c := store.conn(testID)
	if res.Revoke != Revoked || !res.SecretsDeleted || c.Status != connection.Disconnected || c.StatusReason != DisconnectReason ||
		!c.StatusChangedAt.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("result %+v, connection %+v", res, c)
	}
	if vault.RefreshTokens() != 0 {
		t.Fatal("the refresh token is still stored")
	}
}

func TestDisconnectStrictStopsWhenZohoFails(t *testing.T) {
	svc, j, store, vault := newDisconnectService(t, 503, `{"error":"unavailable"}`)
	res, err := svc.Disconnect(context.Background(), testID, true)
	if !errors.Is(err, ErrRevokeFailed) || res.Revoke != RevokeFailed {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if len(*j) != 1 || store.conn(testID).Status != connection.Active || vault.refreshToken(testID) == "" {
		t.Fatalf("a strict disconnect changed something: %q", *j)
	}
	if strings.Contains(err.Error(), "1000.refresh.token") {
		t.Fatal("the error holds the token")
	}
}

func TestDisconnectGoesOnWhenZohoFails(t *testing.T) {
	svc, _, store, vault := newDisconnectService(t, 503, `{"error":"unavailable"}`)
	res, err := svc.Disconnect(context.Background(), testID, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Revoke != RevokeFailed || res.RevokeErr == nil || !res.SecretsDeleted {
		t.Fatalf("result %+v", res)
	}
	if store.conn(testID).Status != connection.Disconnected || vault.RefreshTokens() != 0 {
		t.Fatal("not disconnected")
	}
}

func TestDisconnectWithoutRefreshTokenAndAgain(t *testing.T) {
	svc, j, _, vault := newDisconnectService(t, 200, `{"status":"success"}`)
	_ = vault.Vault.Delete(context.Background(), testID)
	for range 2 { // a second run finishes or repeats, harmlessly
		res, err := svc.Disconnect(context.Background(), testID, true)
		if err != nil || res.Revoke != NoRefreshToken || !res.SecretsDeleted {
			t.Fatalf("err %v, result %+v", err, res)
		}
	}
	for _, call := range *j {
		if strings.HasPrefix(call, "revoke") {
			t.Fatal("revoked with no token")
		}
	}
}

func TestDisconnectInvalidTokenIsNoFailure(t *testing.T) {
	svc, _, _, _ := newDisconnectService(t, 200, `{"error":"invalid_code"}`)
	res, err := svc.Disconnect(context.Background(), testID, true)
	if err != nil || res.Revoke != AlreadyInvalid {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestUseCasesDoNotCreateUnknownConnections(t *testing.T) {
	j := &journal{}
	store := newFakeStore(j)
	keys, err := connection.NewSubmissionKeys([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Connections: store, Keys: staticKeys{keys}, Tokens: newFakeVault(j, nil)}
	ctx := context.Background()
	if _, _, err := svc.RotateKey(ctx, testID); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("rotate-key: %v", err)
	}
	if _, err := svc.SetMapping(ctx, testID, map[string]string{"a": "B"}); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("set-mapping: %v", err)
	}
	if _, err := svc.Disconnect(ctx, testID, false); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("disconnect: %v", err)
	}
	if store.Len() != 0 || len(*j) != 0 {
		t.Fatalf("something was written: %q", *j)
	}
}

type staticKeys struct{ k *connection.SubmissionKeys }

func (s staticKeys) Keys(context.Context) (*connection.SubmissionKeys, error) { return s.k, nil }

func TestRotateKeyReplacesTheHash(t *testing.T) {
	j := &journal{}
	keys, _ := connection.NewSubmissionKeys([]byte(strings.Repeat("k", 32)))
	old, oldID, oldHash, _ := keys.New(testID)
	store := newFakeStore(j, connection.Connection{ID: testID, SubmissionKeyID: oldID, SubmissionHash: oldHash, Status: connection.Active, Version: 1})
	svc := &Service{Connections: store, Keys: staticKeys{keys}}
	key, c, err := svc.RotateKey(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	stored := store.conn(testID)
	if connection.KeyMatches(old.Reveal(), stored.SubmissionHash) || !connection.KeyMatches(key, stored.SubmissionHash) ||
		keys.Derive(testID, stored.SubmissionKeyID).Reveal() != key || c.SubmissionKeyID == oldID {
		t.Fatal("the new key does not replace the old one")
	}
}
