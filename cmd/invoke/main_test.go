package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	notJSON := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(notJSON, []byte("state=x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{},
		{"-event"},
		{"-event", "no/such/event.json"},
		{"-event", notJSON},
		{"-event", "../../events/connect.json", "-n", "0"},
		{"-event", "../../events/connect.json", "extra"},
		{"-event", "../../events/connect.json", "-token-store", "Vault"},
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q; want 2 and nothing", args, code, stdout.String())
		}
	}
}
