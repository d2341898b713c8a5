//go:build integration

package tokentable_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/storetest"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

var _ storetest.TokenVault = (*tokentable.Store)(nil)

// The vault contract the Secrets Manager store and the fake pass, on the
// tokens table and moto's KMS made from template.yaml
// (TokenStore=DynamoDB).
func TestTokenVaultContract(t *testing.T) {
	storetest.RunTokenVaultContract(t, func(t *testing.T) storetest.TokenVault {
		env := testenv.New(t, testenv.WithTokenStore(config.TokenStoreDynamoDB))
		return tokentable.New(env.TokenStore(), env.DynamoDB, env.KMS)
	})
}

// countingKMS counts the calls that reach moto.
type countingKMS struct {
	next              tokentable.KMS
	generate, decrypt atomic.Int64
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generate.Add(1)
	return c.next.GenerateDataKey(ctx, in, o...)
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypt.Add(1)
	return c.next.Decrypt(ctx, in, o...)
}

func TestSealedInTheTableAndBoundToTheConnection(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.WithTokenStore(config.TokenStoreDynamoDB))
	counted := &countingKMS{next: env.KMS}
	store := tokentable.New(env.TokenStore(), env.DynamoDB, counted)
	a, b := connection.ID("eu", zoho.Production, "1"), connection.ID("eu", zoho.Production, "2")
	tok := connection.AccessToken{Token: "1000.access-plain-abcdef", APIDomain: "https://www.zohoapis.eu", ExpiresAt: time.Now().Add(time.Hour)}

	// Many tokens, one data key per kind: KMS is not called per token.
	for i := range 50 {
		id := connection.ID("eu", zoho.Production, string(rune('a'+i%26))+"x")
		if err := store.PutAccessToken(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
		if err := store.PutRefreshToken(ctx, id, "1000.refresh-plain-abcdef"); err != nil {
			t.Fatal(err)
		}
	}
	if g := counted.generate.Load(); g != 2 {
		t.Errorf("100 tokens of two kinds made %d data keys, want 2", g)
	}
	// A fresh instance (a cold start) decrypts each data key once.
	cold := tokentable.New(env.TokenStore(), env.DynamoDB, counted)
	for range 3 {
		if _, err := cold.AccessToken(ctx, connection.ID("eu", zoho.Production, "ax")); err != nil {
			t.Fatal(err)
		}
	}
	if d := counted.decrypt.Load(); d != 1 {
		t.Errorf("three reads made %d decrypts, want 1", d)
	}

	// The table holds ciphertext only.
	if err := store.PutAccessToken(ctx, a, tok); err != nil {
		t.Fatal(err)
	}
	if err := store.PutRefreshToken(ctx, a, "1000.refresh-plain-abcdef"); err != nil {
		t.Fatal(err)
	}
	out, err := env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(env.TokenStore().Table),
		Key: map[string]ddbtypes.AttributeValue{"connection_id": &ddbtypes.AttributeValueMemberS{Value: a}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range out.Item {
		if bv, ok := v.(*ddbtypes.AttributeValueMemberB); ok && (contains(bv.Value, "access-plain") || contains(bv.Value, "refresh-plain")) {
			t.Errorf("attribute %s holds a token in clear", name)
		}
	}

	// A's sealed tokens copied onto B do not open: the connection is the
	// additional data.
	out.Item["connection_id"] = &ddbtypes.AttributeValueMemberS{Value: b}
	if _, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(env.TokenStore().Table), Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AccessToken(ctx, b); !errors.Is(err, tokentable.ErrTampered) {
		t.Errorf("another connection's access token: %v, want ErrTampered", err)
	}
	if _, err := store.RefreshToken(ctx, b); !errors.Is(err, tokentable.ErrTampered) {
		t.Errorf("another connection's refresh token: %v, want ErrTampered", err)
	}

	// Sync's store has no refresh key, and moto refuses a refresh data
	// key decrypted under the access key's context.
	ts := env.TokenStore()
	ts.RefreshKeyID = ""
	syncStore := tokentable.New(ts, env.DynamoDB, env.KMS)
	if _, err := syncStore.RefreshToken(ctx, a); !errors.Is(err, tokentable.ErrNoRefreshKey) {
		t.Errorf("sync's store read a refresh token: %v", err)
	}
	if got, err := syncStore.AccessToken(ctx, a); err != nil || got.Token != tok.Token {
		t.Errorf("sync's store: access token %v", err)
	}
	wrongKind := &tokentable.Sealer{KMS: env.KMS, KeyID: env.TokenStore().AccessKeyID, Kind: tokentable.KindAccess}
	refreshKey := out.Item["refresh_key"].(*ddbtypes.AttributeValueMemberB).Value
	refreshBox := out.Item["refresh"].(*ddbtypes.AttributeValueMemberB).Value
	if _, err := wrongKind.Open(ctx, a, tokentable.Sealed{Key: refreshKey, Box: refreshBox}); err == nil {
		t.Error("a refresh token opened with the access key and kind")
	}
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// The refresh store seals again the refresh tokens it reads under its own
// data key, so the next run decrypts one data key, not one per callback
// instance; never over a token a reconnect wrote meanwhile.
func TestRefreshTokensConvergeOnTheRefreshStoresDataKey(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.WithTokenStore(config.TokenStoreDynamoDB))
	ids := []string{connection.ID("eu", zoho.Production, "1"), connection.ID("eu", zoho.Production, "2"), connection.ID("eu", zoho.Production, "3")}
	// Three callback instances, three data keys.
	for i, id := range ids {
		callback := tokentable.New(env.TokenStore(), env.DynamoDB, env.KMS)
		if err := callback.PutRefreshToken(ctx, id, "1000.refresh-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	refreshRun := tokentable.New(env.TokenStore(), env.DynamoDB, env.KMS)
	refreshRun.Reseal = true
	tok := connection.AccessToken{Token: "1000.access", APIDomain: "https://www.zohoapis.eu", ExpiresAt: time.Now().Add(time.Hour)}
	for i, id := range ids {
		if _, err := refreshRun.RefreshToken(ctx, id); err != nil {
			t.Fatal(err)
		}
		if i == 2 { // a reconnect between the refresh's read and its write
			if err := tokentable.New(env.TokenStore(), env.DynamoDB, env.KMS).PutRefreshToken(ctx, id, "1000.refresh-reconnected"); err != nil {
				t.Fatal(err)
			}
		}
		if err := refreshRun.PutAccessToken(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
	}
	counted := &countingKMS{next: env.KMS}
	next := tokentable.New(env.TokenStore(), env.DynamoDB, counted)
	for i, id := range ids[:2] {
		if rt, err := next.RefreshToken(ctx, id); err != nil || rt != "1000.refresh-"+string(rune('a'+i)) {
			t.Fatalf("%s: %q %v", id, rt, err)
		}
	}
	if d := counted.decrypt.Load(); d != 1 {
		t.Errorf("the next run decrypted %d data keys for two resealed tokens, want 1", d)
	}
	if rt, err := next.RefreshToken(ctx, ids[2]); err != nil || rt != "1000.refresh-reconnected" {
		t.Errorf("the reconnect's token was replaced by the reseal: %q %v", rt, err)
	}
	if got, err := next.AccessToken(ctx, ids[2]); err != nil || got.Token != tok.Token {
		t.Errorf("the access token after a failed reseal: %v", err)
	}
	if replaced, err := next.ReplacedRefreshToken(ctx, ids[2]); err != nil || replaced != "1000.refresh-c" {
		t.Errorf("replaced: %q %v", replaced, err)
	}
}

// Describe tells the operator which tokens a connection has, and when
// they were written, without reading them.
func TestDescribeSaysWhatIsStored(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.WithTokenStore(config.TokenStoreDynamoDB))
	store := tokentable.New(env.TokenStore(), env.DynamoDB, env.KMS)
	id := connection.ID("eu", zoho.Production, "1")
	if err := store.PutRefreshToken(ctx, id, "1000.refresh"); err != nil {
		t.Fatal(err)
	}
	info, err := store.Describe(ctx, id)
	if err != nil || len(info) != 2 || info[0].Exists || !info[1].Exists || info[1].Kind != "refresh" || time.Since(info[1].LastChanged) > time.Minute {
		t.Fatalf("describe: %+v %v", info, err)
	}
	if err := store.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if info, err := store.Describe(ctx, id); err != nil || info[0].Exists || info[1].Exists {
		t.Errorf("after Delete: %+v %v", info, err)
	}
}
