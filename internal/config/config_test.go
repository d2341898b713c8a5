package config

import (
	"strings"
	"testing"
	"time"
)

func TestReaderReportsEveryProblemByName(t *testing.T) {
	t.Setenv("A_SET", " value ")
	t.Setenv("A_NUMBER", "12")
	t.Setenv("A_BAD_NUMBER", "twelve")
	t.Setenv("A_NEGATIVE", "-1")
	t.Setenv("AN_EMPTY", "")
	var r Reader
	if got := r.String("A_SET"); got != "value" {
		t.Fatalf("String = %q", got)
	}
	if got := r.Int("A_NUMBER", 5); got != 12 {
		t.Fatalf("Int = %d", got)
	}
	if got := r.Int("UNSET_NUMBER", 5); got != 5 {
		t.Fatalf("default = %d", got)
	}
	if got := r.Optional("AN_EMPTY", "d"); got != "d" {
		t.Fatalf("Optional = %q", got)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	r.String("MISSING_ONE")
	r.Int("A_BAD_NUMBER", 1)
	r.Int("A_NEGATIVE", 1)
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"MISSING_ONE is not set", `A_BAD_NUMBER="twelve"`, `A_NEGATIVE="-1"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%v does not name %s", err, name)
		}
	}
}

func TestSeconds(t *testing.T) {
	t.Setenv("ZC_TEST_SECONDS", "90")
	var r Reader
	if got := r.Seconds("ZC_TEST_SECONDS", time.Minute); got != 90*time.Second {
		t.Fatalf("set: %v", got)
	}
	if got := r.Seconds("ZC_TEST_UNSET_SECONDS", time.Minute); got != time.Minute {
		t.Fatalf("default: %v", got)
	}
	t.Setenv("ZC_TEST_SECONDS", "-3")
	if r.Seconds("ZC_TEST_SECONDS", time.Minute); r.Err() == nil || !strings.Contains(r.Err().Error(), "ZC_TEST_SECONDS") {
		t.Fatalf("bad value: %v", r.Err())
	}
}

func TestBool(t *testing.T) {
	var r Reader
	for v, want := range map[string]bool{"true": true, "TRUE": true, "false": false, "": true} {
		t.Setenv("ZC_TEST_BOOL", v)
		if got := r.Bool("ZC_TEST_BOOL", true); got != want {
			t.Errorf("%q: %v", v, got)
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	t.Setenv("ZC_TEST_BOOL", "yes")
	if r.Bool("ZC_TEST_BOOL", false); r.Err() == nil || !strings.Contains(r.Err().Error(), "ZC_TEST_BOOL") {
		t.Fatalf("yes: %v", r.Err())
	}
}

func TestNonNegativeInt(t *testing.T) {
	var r Reader
	for v, want := range map[string]int{"": 60, "0": 0, " 7 ": 7} {
		t.Setenv("ZC_TEST_COUNT", v)
		if got := r.NonNegativeInt("ZC_TEST_COUNT", 60); got != want {
			t.Errorf("%q: %d, want %d", v, got, want)
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	for _, v := range []string{"-1", "ten"} {
		var r Reader
		t.Setenv("ZC_TEST_COUNT", v)
		if r.NonNegativeInt("ZC_TEST_COUNT", 60); r.Err() == nil || !strings.Contains(r.Err().Error(), "ZC_TEST_COUNT") {
			t.Errorf("%q: %v", v, r.Err())
		}
	}
}

func TestTokenStore(t *testing.T) {
	for _, k := range []string{"TOKEN_STORE", "TOKENS_TABLE", "ACCESS_TOKEN_KEY_ID", "REFRESH_TOKEN_KEY_ID"} {
		t.Setenv(k, "")
	}
	var r Reader
	if ts := r.TokenStore(true); ts.Store != TokenStoreSecretsManager || ts.DynamoDB() || r.Err() != nil {
		t.Errorf("default: %+v %v", ts, r.Err())
	}
	t.Setenv("TOKEN_STORE", "DynamoDB")
	r = Reader{}
	r.TokenStore(true)
	for _, name := range []string{"TOKENS_TABLE", "ACCESS_TOKEN_KEY_ID", "REFRESH_TOKEN_KEY_ID"} {
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s not reported: %v", name, err)
		}
	}
	t.Setenv("TOKENS_TABLE", "tokens")
	t.Setenv("ACCESS_TOKEN_KEY_ID", "arn:aws:kms:us-east-1:1:key/a")
	r = Reader{}
	// Sync is given no refresh key, and needs none.
	if ts := r.TokenStore(false); !ts.DynamoDB() || ts.Table != "tokens" || ts.RefreshKeyID != "" || r.Err() != nil {
		t.Errorf("without the refresh key: %+v %v", ts, r.Err())
	}
	t.Setenv("TOKEN_STORE", "S3")
	r = Reader{}
	if r.TokenStore(true); r.Err() == nil || !strings.Contains(r.Err().Error(), "TOKEN_STORE") {
		t.Errorf("unknown store: %v", r.Err())
	}
}
