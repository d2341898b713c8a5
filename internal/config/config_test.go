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
