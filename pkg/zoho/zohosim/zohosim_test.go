package zohosim

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHostDispatch(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"evil.example", "/oauth/v2/token", 421},
		{"127.0.0.1", "/crm/v8/org", 421},
		{"accounts.zoho.eu", "/nothing", 404},
		{"ACCOUNTS.ZOHO.EU:443", "/oauth/serverinfo", 200},
		{"www.zohoapis.eu", "/crm/v8/org", 401},
		{"www.zohoapis.uk", "/crm/v8/org", 401}, // unconfirmed DCs are served too
	} {
		if code, body := f.call("GET", tc.host, tc.path, "", "", nil); code != tc.want {
			t.Errorf("%s%s: %d %v, want %d", tc.host, tc.path, code, body, tc.want)
		}
	}
	if code, _ := f.call("GET", "accounts.zoho.eu", "/oauth/v2/token", "", "", nil); code != 405 {
		t.Errorf("GET token: %d", code)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     []Fault
		host, path string
		wantStatus []int // of consecutive requests
		wantCode   string
	}{
		{name: "5xx Times 2", faults: []Fault{{Path: "/crm/v8/org", Status: 503, Times: 2}},
			host: "www.zohoapis.eu", path: "/crm/v8/org", wantStatus: []int{503, 503, 401}, wantCode: "INTERNAL_ERROR"},
		{name: "429 default body on a prefix", faults: []Fault{{Host: "www.zohoapis.eu", Path: "/crm/v8/*", Status: 429}},
			host: "www.zohoapis.eu", path: "/crm/v8/Leads", wantStatus: []int{429, 429, 429}, wantCode: "TOO_MANY_REQUESTS"},
		{name: "other host unaffected", faults: []Fault{{Host: "sandbox.zohoapis.eu", Status: 500}},
			host: "www.zohoapis.eu", path: "/crm/v8/org", wantStatus: []int{401}},
		{name: "other path unaffected", faults: []Fault{{Path: "/crm/v8/users", Status: 500}},
			host: "www.zohoapis.eu", path: "/crm/v8/org", wantStatus: []int{401}},
		{name: "custom body", faults: []Fault{{Status: 502, Body: `{"code":"CUSTOM"}`, Times: 1}},
			host: "accounts.zoho.eu", path: "/oauth/serverinfo", wantStatus: []int{502, 200}, wantCode: "CUSTOM"},
		{name: "faults apply in order", faults: []Fault{{Status: 500, Times: 1}, {Status: 429, Times: 1}},
			host: "accounts.zoho.eu", path: "/oauth/serverinfo", wantStatus: []int{500, 429, 200}},
		{name: "latency then normal handling", faults: []Fault{{Latency: 5 * time.Millisecond, Times: 1}},
			host: "accounts.zoho.eu", path: "/oauth/serverinfo", wantStatus: []int{200, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			for _, fl := range tc.faults {
				f.s.Inject(fl)
			}
			for i, want := range tc.wantStatus {
				code, body := f.call("GET", tc.host, tc.path, "", "", nil)
				if code != want {
					t.Errorf("request %d: %d %v, want %d", i, code, body, want)
				}
				if i == 0 && tc.wantCode != "" && body["code"] != tc.wantCode {
					t.Errorf("body %v, want code %s", body, tc.wantCode)
				}
			}
			reqs := f.s.Requests()
			if len(reqs) != len(tc.wantStatus) {
				t.Fatalf("%d requests logged", len(reqs))
			}
			for i, r := range reqs {
				if r.Status != tc.wantStatus[i] {
					t.Errorf("logged status %d, want %d", r.Status, tc.wantStatus[i])
				}
			}
		})
	}
}

func TestFaultLatencyAndDrop(t *testing.T) {
	f := newFixture(t, nil)

	f.s.Inject(Fault{Path: "/oauth/serverinfo", Latency: 20 * time.Millisecond, Times: 1})
	start := time.Now()
	if code, _ := f.call("GET", "accounts.zoho.com", "/oauth/serverinfo", "", "", nil); code != 200 || time.Since(start) < 20*time.Millisecond {
		t.Errorf("latency: %d after %v", code, time.Since(start))
	}

	// A client that gives up ends the wait: the handler does not sleep on.
	f.s.ResetRequests()
	f.s.Inject(Fault{Latency: time.Hour, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.send(ctx, "GET", "accounts.zoho.com", "/oauth/serverinfo", "", "", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	waitFor(t, func() bool { r := f.s.Requests(); return len(r) == 1 && r[0].Status == 499 })

	f.s.ResetRequests()
	f.s.Inject(Fault{Host: "www.zohoapis.eu", Drop: true, Times: 1})
	if _, err := f.send(context.Background(), "GET", "www.zohoapis.eu", "/crm/v8/org", "", "", nil); err == nil {
		t.Error("dropped request answered")
	}
	if code, _ := f.call("GET", "www.zohoapis.eu", "/crm/v8/org", "", "", nil); code != 401 {
		t.Errorf("after drop: %d", code)
	}
	waitFor(t, func() bool { r := f.s.Requests(); return len(r) == 2 && r[0].Status == 0 && r[1].Status == 401 })

	f.s.Inject(Fault{Status: 500})
	f.s.ClearFaults()
	if code, _ := f.call("GET", "accounts.zoho.com", "/oauth/serverinfo", "", "", nil); code != 200 {
		t.Errorf("after ClearFaults: %d", code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met")
}

func TestRequestLog(t *testing.T) {
	f := newFixture(t, nil)
	code := f.code(eva, evaProd)
	f.token("Accounts.Zoho.EU:443", exchangeForm(code))
	f.call("POST", "accounts.zoho.eu", "/oauth/v2/token/revoke?token=1000.x.y", "", "", nil)

	reqs := f.s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Host != "accounts.zoho.eu" || r.Path != "/oauth/v2/token" || r.Status != 200 ||
		r.Form.Get("code") != code || r.Form.Get("client_secret") != secret || !r.Time.Equal(t0) ||
		!strings.Contains(string(r.Body), "grant_type=authorization_code") || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %+v", r)
	}
	if reqs[1].Query.Get("token") != "1000.x.y" || reqs[1].Form != nil {
		t.Errorf("request %+v", reqs[1])
	}
	reqs[0].Path = "changed" // a copy
	if f.s.Requests()[0].Path != "/oauth/v2/token" {
		t.Error("Requests must return a copy")
	}
	f.s.ResetRequests()
	if n := len(f.s.Requests()); n != 0 {
		t.Errorf("%d after reset", n)
	}
}

func TestClock(t *testing.T) {
	s := New(Options{})
	before := time.Now()
	s.Advance(time.Hour)
	if d := s.Now().Sub(before); d < time.Hour || d > time.Hour+time.Minute {
		t.Errorf("Now is %v ahead", d)
	}
}

func TestAddUserAssignsIDs(t *testing.T) {
	s := New(Options{})
	u := s.AddUser(User{Email: "x@example.com", Orgs: []Org{{Name: "A"}, {Environment: 2}}})
	if u.ID == "" || u.Location != "us" || u.Orgs[0].ID == "" || u.Orgs[0].ID == u.Orgs[1].ID ||
		u.Orgs[0].Environment != 1 || u.Orgs[1].Name == "" || u.Orgs[0].Edition == "" {
		t.Errorf("%+v", u)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate email must panic")
		}
	}()
	s.AddUser(User{Email: "X@example.com"})
}

// The simulator's own logger never sees a token, code or secret.
func TestLoggerNeverSeesSecrets(t *testing.T) {
	var buf syncBuffer
	f := newFixture(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
	at, rt := f.connect("accounts.zoho.eu", eva, evaProd)
	f.crm("GET", "www.zohoapis.eu", "/crm/v8/org", at, "")
	f.call("POST", "accounts.zoho.eu", "/oauth/v2/token/revoke?token="+url.QueryEscape(rt), "", "", nil)
	waitFor(t, func() bool { return strings.Count(buf.String(), "\n") == 3 })
	out := buf.String()
	if !strings.Contains(out, `"path":"/oauth/v2/token"`) {
		t.Fatalf("no log lines: %s", out)
	}
	for _, s := range []string{at, rt, secret, "1000."} {
		if strings.Contains(out, s) {
			t.Errorf("log contains %q", s)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSetOrgUser(t *testing.T) {
	s := New(Options{})
	a := s.AddUser(User{Email: "a@example.eu", Location: "eu", Orgs: []Org{{Name: "Shared"}}})
	s.AddUser(User{Email: "b@example.eu", Location: "eu"})
	s.AddUser(User{Email: "c@example.com", Location: "us"})
	s.AddClient(Client{ID: "c1", Secret: "s"})
	org := a.Orgs[0].ID
	if _, err := s.IssueCode("c1", "b@example.eu", org); err == nil {
		t.Fatal("b consented for a's org before SetOrgUser")
	}
	if err := s.SetOrgUser(org, "c@example.com"); err == nil {
		t.Fatal("a user of another DC took the org")
	}
	if err := s.SetOrgUser(org, "b@example.eu"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueCode("c1", "b@example.eu", org); err != nil {
		t.Fatalf("b consents after SetOrgUser: %v", err)
	}
	if _, err := s.IssueCode("c1", "a@example.eu", org); err == nil {
		t.Fatal("a still consents for the org")
	}
}
