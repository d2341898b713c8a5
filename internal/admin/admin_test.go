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
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// journal records the calls of the fakes, in order.
type journal []string

func (j *journal) add(format string, a ...any) { *j = append(*j, fmt.Sprintf(format, a...)) }

type fakeStore struct {
	j     *journal
	conns map[string]*connection.Connection
}

func (s *fakeStore) Get(_ context.Context, id string) (*connection.Connection, error) {
	c, ok := s.conns[id]
	if !ok {
		return nil, connection.ErrNotFound
	}
	cp := *c
	return &cp, nil
}

func (s *fakeStore) Update(ctx context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error) {
	c, err := s.Get(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		c = &connection.Connection{ID: id}
	}
	if err := change(c); err != nil {
		return nil, err
	}
	c.Version++
	s.conns[id] = c
	s.j.add("update %s status=%s", id, c.Status)
	return c, nil
}

type fakeVault struct {
	j      *journal
	tokens map[string]string
}

func (v *fakeVault) RefreshToken(_ context.Context, id string) (string, error) {
	t, ok := v.tokens[id]
	if !ok {
		return "", connection.ErrNoToken
	}
	return t, nil
}

func (v *fakeVault) Delete(_ context.Context, id string) error {
	delete(v.tokens, id)
	v.j.add("delete secrets %s", id)
	return nil
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
	store := &fakeStore{j: j, conns: map[string]*connection.Connection{
		testID: {ID: testID, Location: "eu", AccountsServer: "https://accounts.zoho.eu", Status: connection.Active, Version: 3},
	}}
	vault := &fakeVault{j: j, tokens: map[string]string{testID: "1000.refresh.token"}}
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
	c := store.conns[testID]
	if res.Revoke != Revoked || !res.SecretsDeleted || c.Status != connection.Disconnected || c.StatusReason != DisconnectReason ||
		!c.StatusChangedAt.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("result %+v, connection %+v", res, c)
	}
	if len(vault.tokens) != 0 {
		t.Fatal("the refresh token is still stored")
	}
}

func TestDisconnectStrictStopsWhenZohoFails(t *testing.T) {
	svc, j, store, vault := newDisconnectService(t, 503, `{"error":"unavailable"}`)
	res, err := svc.Disconnect(context.Background(), testID, true)
	if !errors.Is(err, ErrRevokeFailed) || res.Revoke != RevokeFailed {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if len(*j) != 1 || store.conns[testID].Status != connection.Active || vault.tokens[testID] == "" {
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
	if store.conns[testID].Status != connection.Disconnected || len(vault.tokens) != 0 {
		t.Fatal("not disconnected")
	}
}

func TestDisconnectWithoutRefreshTokenAndAgain(t *testing.T) {
	svc, j, _, vault := newDisconnectService(t, 200, `{"status":"success"}`)
	delete(vault.tokens, testID)
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
	store := &fakeStore{j: j, conns: map[string]*connection.Connection{}}
	keys, err := connection.NewSubmissionKeys([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Connections: store, Keys: staticKeys{keys}, Tokens: &fakeVault{j: j, tokens: map[string]string{}}}
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
	if len(store.conns) != 0 || len(*j) != 0 {
		t.Fatalf("something was written: %q", *j)
	}
}

type staticKeys struct{ k *connection.SubmissionKeys }

func (s staticKeys) Keys(context.Context) (*connection.SubmissionKeys, error) { return s.k, nil }

func TestRotateKeyReplacesTheHash(t *testing.T) {
	j := &journal{}
	keys, _ := connection.NewSubmissionKeys([]byte(strings.Repeat("k", 32)))
	old, oldID, oldHash, _ := keys.New(testID)
	store := &fakeStore{j: j, conns: map[string]*connection.Connection{
		testID: {ID: testID, SubmissionKeyID: oldID, SubmissionHash: oldHash, Status: connection.Active, Version: 1},
	}}
	svc := &Service{Connections: store, Keys: staticKeys{keys}}
	key, c, err := svc.RotateKey(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	stored := store.conns[testID]
	if connection.KeyMatches(old, stored.SubmissionHash) || !connection.KeyMatches(key, stored.SubmissionHash) ||
		keys.Derive(testID, stored.SubmissionKeyID) != key || c.SubmissionKeyID == oldID {
		t.Fatal("the new key does not replace the old one")
	}
}
