package zohosim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// heldFor is how long a call stays in flight in these tests: long enough
// for every parallel call to arrive while the first ones are held.
const heldFor = 600 * time.Millisecond

// limitOrg adds a US user with one production org and returns an access
// token for it from client cid (or another client, when given).
func (f *fixture) limitOrg(org Org, client ...string) (string, string) {
	f.t.Helper()
	u := f.s.AddUser(User{Location: "us", Orgs: []Org{org}})
	c := cid
	if len(client) > 0 {
		c = client[0]
	}
	code, err := f.s.IssueCode(c, u.Email, u.Orgs[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	form := exchangeForm(code)
	form.Set("client_id", c)
	_, body := f.token("accounts.zoho.com", form)
	at, _ := body["access_token"].(string)
	if at == "" {
		f.t.Fatalf("exchange: %v", body)
	}
	return u.Orgs[0].ID, at
}

// parallel sends n requests at once and returns how many got each status.
func (f *fixture) parallel(n int, method, path, token, body string) map[int]int {
	f.t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			hdr := http.Header{"Authorization": {"Zoho-oauthtoken " + token}}
			ct := ""
			if body != "" {
				ct = "application/json"
			}
			resp, err := f.send(context.Background(), method, "www.zohoapis.com", path, ct, body, hdr)
			status := 0
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

func leadsBody(n int) string {
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprint("L", i)}
	}
	b, _ := json.Marshal(map[string]any{"data": recs})
	return string(b)
}

// TestConcurrencyByEdition: with calls held in flight, an org takes its
// edition's number of calls at once and answers the rest 429.
func TestConcurrencyByEdition(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	for _, tc := range []struct {
		edition string
		limit   int
	}{{"Free", 5}, {"Standard", 10}, {"Professional", 15}, {"Enterprise", 20}, {"Ultimate", 25}, {"Developer", 5}} {
		t.Run(tc.edition, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(o *Options) { o.CRMLatency = heldFor })
			org, at := f.limitOrg(Org{Edition: tc.edition})
			got := f.parallel(tc.limit+3, "GET", "/crm/v8/org", at, "")
			if got[200] != tc.limit || got[429] != 3 {
				t.Errorf("statuses %v, want %d × 200 and 3 × 429", got, tc.limit)
			}
			st := f.s.OrgStats(org)
			if st.MaxConcurrent != tc.limit || st.Concurrency != tc.limit || st.Calls != tc.limit || st.Refused != 3 || st.CreditsUsed != tc.limit {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestConcurrencyAnswerAndRelease(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	f := newFixture(t, func(o *Options) { o.CRMLatency = 300 * time.Millisecond })
	org, at := f.limitOrg(Org{Concurrency: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, "")
	}()
	waitFor(t, func() bool { return f.s.OrgStats(org).Calls == 1 })
	code, body := f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, "")
	if code != 429 || body["code"] != "TOO_MANY_REQUESTS" || body["status"] != "error" || !strings.Contains(body["message"].(string), "concurrency") {
		t.Errorf("over the limit: %d %v", code, body)
	}
	<-done
	if code, _ := f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, ""); code != 200 {
		t.Errorf("after the first ended: %d", code)
	}

	// A client that goes away while in flight frees its place.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.send(ctx, "GET", "www.zohoapis.com", "/crm/v8/org", "", "", http.Header{"Authorization": {"Zoho-oauthtoken " + at}}); err == nil {
		t.Fatal("answered before the deadline")
	}
	waitFor(t, func() bool {
		r := f.s.Requests()
		return r[len(r)-1].Status == 499
	})
	if code, _ := f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, ""); code != 200 {
		t.Errorf("after a client gave up: %d", code)
	}
}

// TestConcurrencyPerClient: the limit is per org and app.
func TestConcurrencyPerClient(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	f := newFixture(t, func(o *Options) {
		o.CRMLatency = heldFor
		o.Clients = append(o.Clients, Client{ID: "1000.OTHER", Secret: secret})
	})
	u := f.s.AddUser(User{Location: "us", Orgs: []Org{{Edition: "Free"}}})
	tokens := map[string]string{}
	for _, c := range []string{cid, "1000.OTHER"} {
		code, _ := f.s.IssueCode(c, u.Email, u.Orgs[0].ID)
		form := exchangeForm(code)
		form.Set("client_id", c)
		_, body := f.token("accounts.zoho.com", form)
		tokens[c] = body["access_token"].(string)
	}
	var wg sync.WaitGroup
	results := map[string]map[int]int{}
	var mu sync.Mutex
	for c, at := range tokens {
		wg.Go(func() {
			got := f.parallel(6, "GET", "/crm/v8/org", at, "")
			mu.Lock()
			results[c] = got
			mu.Unlock()
		})
	}
	wg.Wait()
	for c, got := range results {
		if got[200] != 5 || got[429] != 1 {
			t.Errorf("client %s: %v", c, got)
		}
	}
	if st := f.s.OrgStats(u.Orgs[0].ID); st.MaxConcurrent != 5 || st.Calls != 10 {
		t.Errorf("stats %+v", st)
	}
}

// TestSubConcurrency: at most 10 writes of more than 10 records at once;
// small writes and reads are held to the org's limit only.
func TestSubConcurrency(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	f := newFixture(t, func(o *Options) { o.CRMLatency = heldFor })
	org, at := f.limitOrg(Org{Edition: "Ultimate"})
	var wg sync.WaitGroup
	var bulk, small map[int]int
	wg.Go(func() { bulk = f.parallel(12, "POST", "/crm/v8/Leads", at, leadsBody(11)) })
	wg.Go(func() { small = f.parallel(8, "POST", "/crm/v8/Leads", at, leadsBody(10)) })
	wg.Wait()
	if bulk[201] != 10 || bulk[429] != 2 || small[201] != 8 {
		t.Errorf("bulk %v, small %v", bulk, small)
	}
	st := f.s.OrgStats(org)
	if st.MaxConcurrentBulk != 10 || st.MaxConcurrent != 18 || len(st.RecordsPerCall) != 18 {
		t.Errorf("stats %+v", st)
	}
	sizes := map[int]int{}
	for _, n := range st.RecordsPerCall {
		sizes[n]++
	}
	if sizes[11] != 10 || sizes[10] != 8 {
		t.Errorf("records per call %v", st.RecordsPerCall)
	}
	if n := len(f.s.Records(org, "Leads")); n != 10*11+8*10 {
		t.Errorf("%d leads stored", n)
	}
}

// TestFaultLatencyIsInFlight: a slow call is a call in flight.
func TestFaultLatencyIsInFlight(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	f := newFixture(t, nil)
	org, at := f.limitOrg(Org{Edition: "Free"})
	f.s.Inject(Fault{Host: "www.zohoapis.com", Latency: heldFor})
	got := f.parallel(7, "GET", "/crm/v8/org", at, "")
	if got[200] != 5 || got[429] != 2 || f.s.OrgStats(org).MaxConcurrent != 5 {
		t.Errorf("statuses %v, stats %+v", got, f.s.OrgStats(org))
	}
}

// TestCredits: credits are spent per call over a rolling 24 hours; a
// refused call spends none.
func TestCredits(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.AccessTokenTTL = -1 }) // the clock moves days
	org, at := f.limitOrg(Org{Credits: 2})
	get := func() (int, map[string]any) { return f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, "") }
	if code, _ := get(); code != 200 {
		t.Fatalf("first call: %d", code)
	}
	f.s.Advance(12 * time.Hour)
	if code, _ := get(); code != 200 {
		t.Fatalf("second call: %d", code)
	}
	code, body := get()
	if code != 429 || body["code"] != "TOO_MANY_REQUESTS" || !strings.Contains(body["message"].(string), "credit") {
		t.Fatalf("third call: %d %v", code, body)
	}
	if st := f.s.OrgStats(org); st.CreditsUsed != 2 || st.CreditLimit != 2 || st.Calls != 2 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}
	f.s.Advance(12*time.Hour + time.Second) // the first call leaves the window
	if code, _ := get(); code != 200 {
		t.Errorf("24 h after the first: %d", code)
	}
	if code, _ := get(); code != 429 {
		t.Errorf("window full again: %d", code)
	}
	f.s.Advance(24 * time.Hour)
	for i := range 2 {
		if code, _ := get(); code != 200 {
			t.Errorf("a day later, call %d: %d", i, code)
		}
	}
	// Every authenticated call costs, whatever its answer; writes too.
	_, at2 := f.limitOrg(Org{Credits: 3})
	f.crm("POST", "www.zohoapis.com", "/crm/v8/Leads", at2, `{"data":[{"First_Name":"no last name"}]}`)
	f.crm("GET", "www.zohoapis.com", "/crm/v8/Widgets", at2, "")
	f.crm("POST", "www.zohoapis.com", "/crm/v8/Leads", at2, leadsBody(100))
	if code, _ := f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at2, ""); code != 429 {
		t.Errorf("fourth call with 3 credits: %d", code)
	}
}

func TestCreditLimitsByEdition(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		org  Org
		want int
	}{
		{Org{Edition: "Free"}, 5000},
		{Org{Edition: "Free", Users: 100}, 5000},
		{Org{Edition: "Standard"}, 52500},
		{Org{Edition: "Standard", Users: 1000}, 100000},
		{Org{Edition: "Professional", Users: 4}, 52000},
		{Org{}, 60000}, // Enterprise, 10 users
		{Org{Edition: "Enterprise", Users: 100}, 150000},
		{Org{Edition: "Enterprise", Users: 5000}, 2000000},
		{Org{Edition: "Ultimate", Users: 5000}, 10050000},
		{Org{Edition: "Developer"}, 5000},
		{Org{Credits: 7}, 7},
		{Org{Credits: -1}, 0},
	} {
		u := f.s.AddUser(User{Orgs: []Org{tc.org}})
		if got := f.s.OrgStats(u.Orgs[0].ID).CreditLimit; got != tc.want {
			t.Errorf("%+v: credit limit %d, want %d", tc.org, got, tc.want)
		}
	}
	g := newFixture(t, func(o *Options) { o.Limits.Credits, o.Limits.Concurrency = -1, -1 })
	u := g.s.AddUser(User{Orgs: []Org{{Edition: "Free"}, {Edition: "Free", Credits: 9, Concurrency: 2}}})
	if st := g.s.OrgStats(u.Orgs[0].ID); st.CreditLimit != 0 || st.Concurrency != 0 {
		t.Errorf("unlimited: %+v", st)
	}
	if st := g.s.OrgStats(u.Orgs[1].ID); st.CreditLimit != 9 || st.Concurrency != 2 {
		t.Errorf("the org's own limits win: %+v", st)
	}
	if st := g.s.OrgStats("no such org"); st.Calls != 0 || st.CreditLimit != 0 {
		t.Errorf("unknown org: %+v", st)
	}
}

func TestUnlimitedOrgIsNotRefused(t *testing.T) {
	t.Parallel() // calls are held in flight for a while
	f := newFixture(t, func(o *Options) { o.CRMLatency = 200 * time.Millisecond })
	org, at := f.limitOrg(Org{Edition: "Free", Concurrency: -1, Credits: -1})
	if got := f.parallel(12, "GET", "/crm/v8/org", at, ""); got[200] != 12 {
		t.Errorf("statuses %v", got)
	}
	if st := f.s.OrgStats(org); st.MaxConcurrent != 12 || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOrgLicenseDetails(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		org      Org
		paidType string
		paid     bool
		users    float64
	}{
		{Org{}, "enterprise", true, 10},
		{Org{Edition: "Free", Users: 3}, "free", false, 3},
		{Org{Edition: "Professional", Users: 40}, "professional", true, 40},
		{Org{Edition: "Ultimate"}, "ultimate", true, 10},
	} {
		_, at := f.limitOrg(tc.org)
		code, body := f.crm("GET", "www.zohoapis.com", "/crm/v8/org", at, "")
		lic := dig(body, "org", 0, "license_details")
		if code != 200 || dig(lic, "paid_type") != tc.paidType || dig(lic, "paid") != tc.paid || dig(lic, "users_license_purchased") != tc.users {
			t.Errorf("%+v: %d %v", tc.org, code, lic)
		}
	}
}
