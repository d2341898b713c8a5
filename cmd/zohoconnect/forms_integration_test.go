//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

func TestFormsCreateListDelete(t *testing.T) {
	h := newHarness(t)
	h.vars[envFormsTable] = h.Env.Tables["FormsTable"]
	h.vars[envPublicURL] = "https://connect.example.test"
	u := h.Sim.AddUser(zohosim.User{Location: "eu", Orgs: []zohosim.Org{{Environment: zoho.Production}}})
	id := h.connect(t, "production", u.Orgs[0].ID)["connection_id"].(string)

	secret := "captcha-secret-from-a-file-0123456789"
	h.AddSecret(secret)
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run(t, "forms", "create", id, "-origin", "https://www.example.com", "-honeypot", "website", "-map", "org=Company",
		"-captcha", "turnstile", "-captcha-secret-file", path, "-site-key", "0x4AAA", "-json")
	if r.code != 0 {
		t.Fatalf("create: %d %s", r.code, r.stderr)
	}
	var out struct{ FormID, ActionURL, HTML string }
	if err := json.Unmarshal([]byte(r.stdout), &struct {
		FormID    *string `json:"form_id"`
		ActionURL *string `json:"action_url"`
		HTML      *string `json:"html"`
	}{&out.FormID, &out.ActionURL, &out.HTML}); err != nil {
		t.Fatal(err)
	}
	if out.ActionURL != "https://connect.example.test/f/"+out.FormID || !strings.Contains(out.HTML, `class="cf-turnstile" data-sitekey="0x4AAA"`) {
		t.Fatalf("create: %+v", out)
	}
	if r := h.run(t, "forms", "create", id, "-origin", "http://www.example.com"); r.code != exitUsage {
		t.Errorf("an http origin: %d %s", r.code, r.stderr)
	}
	if r := h.run(t, "forms", "create", id, "-origin", "https://www.example.com", "-captcha", "turnstile"); r.code != exitUsage {
		t.Errorf("a CAPTCHA without its secret file: %d", r.code)
	}
	r = h.run(t, "forms", "list", id)
	if r.code != 0 || !strings.Contains(r.stdout, out.FormID) || !strings.Contains(r.stdout, "turnstile") || strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := h.run(t, "forms", "list", id, "-json"); r.code != 0 || strings.Contains(r.stdout, secret) || !strings.Contains(r.stdout, `"provider":"turnstile"`) {
		t.Errorf("list -json: %d %s", r.code, r.stdout)
	}
	if r := h.runAt(t, false, "", "forms", "delete", id, out.FormID); r.code != exitUsage || !strings.Contains(r.stderr, "pass -yes") {
		t.Errorf("delete without -yes off a terminal: %d %s", r.code, r.stderr)
	}
	if r := h.runAt(t, true, "n\n", "forms", "delete", id, out.FormID); r.code == 0 {
		t.Errorf("delete answered no: %d", r.code)
	}
	if r := h.run(t, "forms", "delete", id, out.FormID, "-yes"); r.code != 0 {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	if r := h.run(t, "forms", "delete", id, out.FormID, "-yes"); r.code != exitNotFound {
		t.Errorf("delete again: %d %s", r.code, r.stderr)
	}
	if r := h.run(t, "forms", "list", id); r.code != 0 || strings.Contains(r.stdout, out.FormID) {
		t.Errorf("list after delete: %d %s", r.code, r.stdout)
	}
}
