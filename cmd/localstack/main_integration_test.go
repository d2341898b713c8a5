//go:build integration

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/zohoconnect/zohoconnect/internal/localstack"
)

// -token-store DynamoDB makes the tokens table and the template's two
// KMS keys in moto's KMS; a run again reuses the keys (tokens sealed
// under them stay readable); -delete schedules their deletion.
func TestTheDynamoDBTokenStoreLocally(t *testing.T) {
	eps, err := localstack.EndpointsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := localstack.NewConfig(ctx, eps)
	if err != nil {
		t.Fatal(err)
	}
	keys := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(eps.KMS) })
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "lst" + hex.EncodeToString(b)
	deploy := func(args ...string) map[string]string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, append([]string{"-template", "../../template.yaml", "-prefix", prefix}, args...), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		env := map[string]string{}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		return env
	}
	t.Cleanup(func() {
		var stderr bytes.Buffer
		_ = run(context.Background(), []string{"-template", "../../template.yaml", "-prefix", prefix, "-delete"}, &bytes.Buffer{}, &stderr)
	})

	first := deploy("-token-store", "DynamoDB")
	if first["TOKEN_STORE"] != "DynamoDB" || first["TOKENS_TABLE"] != prefix+"-TokensTable" ||
		!strings.HasPrefix(first["ACCESS_TOKEN_KEY_ID"], "arn:aws:kms:") || !strings.HasPrefix(first["REFRESH_TOKEN_KEY_ID"], "arn:aws:kms:") ||
		first["ACCESS_TOKEN_KEY_ID"] == first["REFRESH_TOKEN_KEY_ID"] {
		t.Fatalf("environment: TOKEN_STORE %q, TOKENS_TABLE %q, keys %q and %q", first["TOKEN_STORE"], first["TOKENS_TABLE"], first["ACCESS_TOKEN_KEY_ID"], first["REFRESH_TOKEN_KEY_ID"])
	}
	again := deploy("-token-store", "DynamoDB")
	for _, k := range []string{"ACCESS_TOKEN_KEY_ID", "REFRESH_TOKEN_KEY_ID"} {
		if again[k] != first[k] {
			t.Errorf("%s: %s the first run, %s again: a new key", k, first[k], again[k])
		}
	}

	var stderr bytes.Buffer
	if err := run(ctx, []string{"-template", "../../template.yaml", "-prefix", prefix, "-delete"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("-delete: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 KMS keys scheduled for deletion") {
		t.Errorf("-delete said: %s", stderr.String())
	}
	for _, k := range []string{"ACCESS_TOKEN_KEY_ID", "REFRESH_TOKEN_KEY_ID"} {
		out, err := keys.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(first[k])})
		if err != nil {
			t.Fatal(err)
		}
		if out.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
			t.Errorf("%s after -delete: %s", k, out.KeyMetadata.KeyState)
		}
	}
}
