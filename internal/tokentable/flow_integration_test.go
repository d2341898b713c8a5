//go:build integration

package tokentable_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/localrun"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func request(method, route, path, query string, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " " + route, RawPath: path, RawQueryString: query, Headers: map[string]string{}, Body: body}
	for k, v := range headers {
		r.Headers[k] = v
	}
	if id, ok := strings.CutPrefix(path, "/connections/"); ok {
		id, _, _ = strings.Cut(id, "/")
		r.PathParameters = map[string]string{"connection_id": id}
	}
	r.RequestContext.HTTP.Method, r.RequestContext.HTTP.Path, r.RequestContext.HTTP.SourceIP = method, path, "127.0.0.1"
	r.RequestContext.DomainName = "api.example.com"
	r.RequestContext.TimeEpoch = time.Now().UnixMilli()
	return r
}

// The bundle's story with each token store: connect, submit, refresh,
// reconnect, submit, disconnect, the tokens read back from the store the
// functions were given and nothing written to the other.
func TestStoryWithEachTokenStore(t *testing.T) {
	for _, store := range []string{config.TokenStoreSecretsManager, config.TokenStoreDynamoDB} {
		t.Run(store, func(t *testing.T) { story(t, store) })
	}
}

func story(t *testing.T, store string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logs := &testflow.LogBuffer{}
	b, err := localrun.Start(ctx, localrun.Options{Logs: logs, Params: map[string]string{"TokenStore": store, "AllowAnonymousConnect": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		for _, leak := range testflow.Leaks(logs.String(), append(secrets, b.ProductAPIKey, localrun.ClientSecret)) {
			t.Errorf("the logs contain %s", leak)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	vault, err := b.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	zc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: b.SimURL})
	if err != nil {
		t.Fatal(err)
	}
	connect := func() (id, key string) {
		t.Helper()
		resp, _ := b.Callback.Handle(ctx, request("GET", "/connect", "/connect", "environment=sandbox", nil, ""))
		if resp.StatusCode != 302 || len(resp.Cookies) != 1 {
			t.Fatalf("GET /connect: %d %s", resp.StatusCode, resp.Body)
		}
		cookie, _, _ := strings.Cut(resp.Cookies[0], ";")
		consent, _ := url.Parse(resp.Headers["Location"])
		q := consent.Query()
		q.Set("sim_org", "20071000202")
		q.Set("sim_action", "accept")
		consent.RawQuery = q.Encode()
		zr, err := zc.Get(consent.String())
		if err != nil {
			t.Fatal(err)
		}
		zr.Body.Close()
		back, _ := url.Parse(zr.Header.Get("Location"))
		cb := request("GET", "/oauth/callback", "/oauth/callback", back.RawQuery, map[string]string{"accept": "application/json"}, "")
		cb.Cookies = []string{cookie}
		resp, _ = b.Callback.Handle(ctx, cb)
		var out struct {
			ID  string `json:"connection_id"`
			Key string `json:"submission_key"`
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &out) != nil || !connection.ValidID(out.ID) {
			t.Fatalf("GET /oauth/callback: %d %s", resp.StatusCode, resp.Body)
		}
		secrets = append(secrets, strings.SplitN(cookie, "=", 2)[1])
		return out.ID, out.Key
	}
	submit := func(id, key, lastName string) {
		t.Helper()
		sub := request("POST", "/connections/{connection_id}/submissions", "/connections/"+id+"/submissions", "",
			map[string]string{"authorization": "Bearer " + key, "content-type": "application/x-www-form-urlencoded"}, "")
		sub.Body, sub.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("last_name="+lastName+"&email="+lastName+"@example.eu")), true
		if resp := b.Sync.Handle(ctx, sub); resp.StatusCode != 201 {
			t.Fatalf("submission: %d %s", resp.StatusCode, resp.Body)
		}
	}
	tokens := func(id string) (string, connection.AccessToken) {
		t.Helper()
		rt, err := vault.RefreshToken(ctx, id)
		if err != nil {
			t.Fatalf("refresh token: %v", err)
		}
		at, err := vault.AccessToken(ctx, id)
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		secrets = append(secrets, rt, at.Token.Reveal())
		return rt, at
	}

	// Connect, submit.
	id, key := connect()
	secrets = append(secrets, key)
	rt1, at1 := tokens(id)
	submit(id, key, "Keller")

	// Refresh on demand (the stored token is the one Zoho "rejected").
	payload := fmt.Sprintf(`{"connection_id":%q,"rejected_token_expires_at":%q}`, id, at1.ExpiresAt.Format(time.RFC3339Nano))
	if out, err := b.Refresh.Handle(ctx, json.RawMessage(payload)); err != nil {
		t.Fatalf("refresh: %v", err)
	} else if s, _ := json.Marshal(out); !strings.Contains(string(s), "refreshed") {
		t.Fatalf("refresh: %s", s)
	}
	rt2, at2 := tokens(id)
	if rt2 != rt1 || at2.Token == at1.Token {
		t.Errorf("after the refresh: refresh token kept %v, access token replaced %v", rt2 == rt1, at2.Token != at1.Token)
	}
	submit(id, key, "Lee")

	// Reconnect the same org: the same connection, new tokens, the
	// replaced refresh token kept for its revocation.
	id2, _ := connect()
	if id2 != id {
		t.Fatalf("reconnect made %s, want %s", id2, id)
	}
	rt3, at3 := tokens(id)
	if rt3 == rt1 || at3.Token == at2.Token {
		t.Errorf("the reconnect did not replace the tokens")
	}
	if replaced, err := vault.ReplacedRefreshToken(ctx, id); err != nil || replaced != rt1 {
		t.Errorf("replaced refresh token: %v (is the first: %v)", err, replaced == rt1)
	}
	submit(id, key, "Novak")

	// Disconnect: the tokens are gone from the store.
	dr := request("DELETE", "/connections/{connection_id}", "/connections/"+id, "",
		map[string]string{"authorization": "Bearer " + b.ProductAPIKey}, "")
	if resp, _ := b.ProductAPI.Handle(ctx, dr); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, resp.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err1 := vault.RefreshToken(ctx, id)
		_, err2 := vault.AccessToken(ctx, id)
		if errors.Is(err1, connection.ErrNoToken) && errors.Is(err2, connection.ErrNoToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the disconnect: refresh %v, access %v", err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The other store was not used.
	env, _ := b.Deploy.FunctionEnvironment(b.Template, "RefreshFunction")
	if store == config.TokenStoreDynamoDB {
		sm := secretsmanager.NewFromConfig(b.AWS)
		out, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{env["TOKEN_SECRET_PREFIX"] + "access/"}}}})
		if err != nil || len(out.SecretList) != 0 {
			t.Errorf("the DynamoDB store wrote secrets: %d, %v", len(out.SecretList), err)
		}
	} else if _, ok := b.Deploy.Tables["TokensTable"]; ok || env["TOKENS_TABLE"] != "" {
		t.Errorf("the Secrets Manager store has a tokens table")
	}
}
