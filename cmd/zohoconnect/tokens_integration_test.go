//go:build integration

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/testflow"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// cancelAfter cancels a run once it has printed n progress lines: the
// command stopped midway, as by a crash or Ctrl-C.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Count(w.buf.String(), "tokens migrate: ") >= w.n {
		w.cancel()
	}
	return len(p), nil
}

// tokens migrate on the local stack: Secrets Manager to the DynamoDB
// store and back, stopped midway and run again, with a connection whose
// lease a refresh holds and tokens refreshed in the new store meanwhile.
func TestTokensMigrate(t *testing.T) {
	ctx := context.Background()
	f := testflow.New(t, zohosim.Options{}, testenv.WithParameter("KeepDynamoDBTokenStore", "true"))
	vars := f.Env.FunctionEnv(t, "CallbackFunction")
	if vars["TOKEN_STORE"] != config.TokenStoreSecretsManager || vars["TOKENS_TABLE"] != "" {
		t.Fatalf("the functions are not on the Secrets Manager store: %v", vars)
	}
	vars[envTokensTable] = f.Env.Tables["TokensTable"]
	vars[envAccessTokenKey] = f.Env.Deployment.KeyARNs["AccessTokenKey"]
	vars[envRefreshTokenKey] = f.Env.Deployment.KeyARNs["RefreshTokenKey"]
	if vars[envTokensTable] == "" || vars[envRefreshTokenKey] == "" {
		t.Fatalf("KeepDynamoDBTokenStore=true made no tokens table or keys: %v", f.Env.Deployment.KeyARNs)
	}
	secrets := &awsstore.TokenVault{SM: f.Env.SecretsManager, Prefix: f.Env.TokenSecretPrefix}
	table := tokentable.New(config.TokenStore{Store: config.TokenStoreDynamoDB, Table: vars[envTokensTable],
		AccessKeyID: vars[envAccessTokenKey], RefreshKeyID: vars[envRefreshTokenKey]}, f.Env.DynamoDB, f.Env.KMS)
	conns := awsstore.NewConnectionStore(f.Env.DynamoDB, f.Env.Tables["ConnectionsTable"])

	var ids []string
	for i := range 5 {
		u := f.Sim.AddUser(zohosim.User{Email: "u" + string(rune('a'+i)) + "@example.eu", Location: "eu",
			Orgs: []zohosim.Org{{Name: "Org", Environment: zoho.Production}}})
		ids = append(ids, f.Connected(t, "environment=production", u.Orgs[0].ID)["connection_id"].(string))
	}
	want := map[string][2]string{} // id → refresh, access token, as Secrets Manager holds them
	for _, id := range ids {
		rt, err1 := secrets.RefreshToken(ctx, id)
		at, err2 := secrets.AccessToken(ctx, id)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		want[id] = [2]string{rt, at.Token.Reveal()}
		f.AddSecret(rt)
		f.AddSecret(at.Token.Reveal())
	}
	runCLI := func(stdout interface{ Write([]byte) (int, error) }, rctx context.Context, args ...string) (int, string) {
		var stderr bytes.Buffer
		code := run(rctx, args, stdout, &stderr, func(k string) string { return vars[k] })
		return code, stderr.String()
	}

	// 1. Stopped after two connections: it fails, two are copied.
	rctx, cancel := context.WithCancel(ctx)
	w := &cancelAfter{n: 2, cancel: cancel}
	code, stderr := runCLI(w, rctx, "tokens", "migrate", "-to", "DynamoDB")
	cancel()
	if code == exitOK {
		t.Fatalf("a stopped run exited 0:\n%s", w.buf.String())
	}
	copied := 0
	for _, id := range ids {
		if _, err := table.RefreshToken(ctx, id); err == nil {
			copied++
		}
	}
	if copied < 2 || copied == len(ids) || !strings.Contains(w.buf.String(), "tokens migrate: 1/5 ") {
		t.Fatalf("after the stop: %d of %d copied\n%s\n%s", copied, len(ids), w.buf.String(), stderr)
	}

	// 2. Meanwhile the first connection was refreshed and reconnected in
	// the new store (the functions switched), and a refresh holds the
	// third's lease for two seconds.
	first := ids[0]
	newer := connection.AccessToken{Token: "1000.newer-access-token-from-the-new-store", APIDomain: "https://www.zohoapis.eu", ExpiresAt: time.Now().Add(2 * time.Hour)}
	if err := table.PutAccessToken(ctx, first, newer); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := table.PutRefreshToken(ctx, first, "1000.newer-refresh-token-from-a-reconnect"); err != nil {
		t.Fatal(err)
	}
	if ok, err := conns.TakeLease(ctx, ids[2], "refresh-run", time.Now(), time.Now().Add(2*time.Second)); !ok || err != nil {
		t.Fatalf("take the lease: %v %v", ok, err)
	}

	// 3. Run again: it finishes, waits for the lease, keeps what is newer.
	var out bytes.Buffer
	start := time.Now()
	if code, stderr := runCLI(&out, ctx, "tokens", "migrate", "-to", "DynamoDB"); code != exitOK {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, out.String(), stderr)
	}
	if !strings.Contains(out.String(), "5/5 ") || !strings.Contains(out.String(), "kept the newer refresh token of DynamoDB, kept the newer access token of DynamoDB") ||
		time.Since(start) < time.Second {
		t.Errorf("rerun (%s):\n%s", time.Since(start), out.String())
	}
	for _, id := range ids {
		rt, err1 := table.RefreshToken(ctx, id)
		at, err2 := table.AccessToken(ctx, id)
		wantRT, wantAT := want[id][0], want[id][1]
		if id == first {
			wantRT, wantAT = "1000.newer-refresh-token-from-a-reconnect", newer.Token.Reveal()
		}
		if err1 != nil || err2 != nil || rt != wantRT || at.Token.Reveal() != wantAT {
			t.Errorf("%s in the DynamoDB store: %v %v (refresh as expected %v, access %v)", id, err1, err2, rt == wantRT, at.Token.Reveal() == wantAT)
		}
	}
	if owner, _, err := conns.Lease(ctx, ids[1]); err != nil || owner != "" {
		t.Errorf("a lease left behind: %q %v", owner, err)
	}

	// 4. -delete-old: the old secrets go once the copies read back.
	out.Reset()
	if code, stderr := runCLI(&out, ctx, "tokens", "migrate", "-to", "DynamoDB", "-delete-old", "-yes"); code != exitOK {
		t.Fatalf("-delete-old: exit %d\n%s\n%s", code, out.String(), stderr)
	}
	if !strings.Contains(out.String(), "5 deleted from SecretsManager") {
		t.Errorf("-delete-old:\n%s", out.String())
	}
	for _, id := range ids {
		if _, err := secrets.RefreshToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("%s: the old refresh secret is still there: %v", id, err)
		}
		if _, err := table.RefreshToken(ctx, id); err != nil {
			t.Errorf("%s: the new store lost it: %v", id, err)
		}
	}
	out.Reset()
	if code, _ := runCLI(&out, ctx, "tokens", "migrate", "-to", "DynamoDB"); code != exitOK || !strings.Contains(out.String(), "5 without tokens") {
		t.Errorf("once more after the delete:\n%s", out.String())
	}

	// 5. And back to Secrets Manager.
	out.Reset()
	if code, stderr := runCLI(&out, ctx, "tokens", "migrate", "-to", "SecretsManager", "-delete-old", "-yes"); code != exitOK {
		t.Fatalf("back: exit %d\n%s\n%s", code, out.String(), stderr)
	}
	for _, id := range ids[1:] {
		rt, err := secrets.RefreshToken(ctx, id)
		if err != nil || rt != want[id][0] {
			t.Errorf("%s back in Secrets Manager: %v", id, err)
		}
		if _, err := table.AccessToken(ctx, id); !errors.Is(err, connection.ErrNoToken) {
			t.Errorf("%s: still in the DynamoDB store: %v", id, err)
		}
	}
	if code, _ := runCLI(&out, ctx, "tokens", "migrate", "-to", "S3"); code != exitUsage {
		t.Errorf("-to S3: exit %d", code)
	}
	f.CheckText(t, "the runs' output", w.buf.String()+out.String())
}
