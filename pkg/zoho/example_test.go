package zoho_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// Example connects an org, checks its environment, refreshes the access
// token and inserts a lead. The simulator stands in for Zoho; against the
// real Zoho, leave Config.HTTPClient nil (or build it without an override)
// and the same code calls the real hosts.
func Example() {
	ctx := context.Background()

	// The simulator, with one OAuth client and an EU user who owns a sandbox.
	sim := zohosim.New(zohosim.Options{Clients: []zohosim.Client{{
		ID: "1000.EXAMPLE", Secret: "example-secret", RedirectURIs: []string{"https://example.com/oauth/callback"},
	}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddUser(zohosim.User{Email: "eva@example.com", FullName: "Eva Schmidt", Location: "eu",
		Orgs: []zohosim.Org{{ID: "20071000202", Name: "Acme QA", Environment: zoho.Sandbox}}})

	// One HTTP client per process. In a function:
	// zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: os.Getenv(zoho.EndpointOverrideEnv)}).
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	cfg := &zoho.Config{
		ClientID:     "1000.EXAMPLE",
		ClientSecret: "example-secret",
		RedirectURL:  "https://example.com/oauth/callback",
		Scopes:       []string{"ZohoCRM.modules.ALL", "ZohoCRM.org.READ", "ZohoCRM.users.READ"},
		HTTPClient:   hc,
	}

	// 1. Send the user to Zoho. Every DC but China starts at accounts.zoho.com.
	us, _ := zoho.ByLocation("us")
	authURL := cfg.AuthCodeURL("random-single-use-state", us)
	fmt.Println("consent at:", authURL[:len("https://accounts.zoho.com/oauth/v2/auth")])

	// The user consents; the simulator's sim_org/sim_action stand in for
	// the clicks. Zoho answers with a redirect to our callback.
	resp, err := hc.Get(authURL + "&sim_org=20071000202&sim_action=accept")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callback, _ := url.Parse(resp.Header.Get("Location"))
	q := callback.Query()

	// 2. The callback: check state (not shown), then trust location and
	// accounts-server only as far as the allowlist does.
	dc, err := zoho.VerifyCallbackServer(q.Get("location"), q.Get("accounts-server"))
	if err != nil {
		log.Fatal(err) // a forged accounts-server never gets the client secret
	}
	tok, err := cfg.Exchange(ctx, dc, zoho.Secret(q.Get("code"))) // once: codes are single use
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("data center:", dc.Location, dc.AccountsHost)

	// 3. Confirm the environment the user was asked for.
	crm := zoho.NewClient(dc, zoho.Sandbox, zoho.StaticTokenSource(tok), hc)
	org, err := crm.Org(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("org:", org.Name, org.Environment)

	// 4. Later, refresh (in one coordinated place: Zoho limits refreshes).
	tok, err = cfg.Refresh(ctx, dc, tok.RefreshToken)
	if err != nil {
		log.Fatal(err)
	}

	// 5. Insert a lead with the fresh token; each record has its own result.
	crm = zoho.NewClient(dc, zoho.Sandbox, zoho.StaticTokenSource(tok), hc)
	res, err := crm.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "Lovelace", "Email": "ada@example.com"}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("insert:", res[0].Code, res[0].OK())
	fmt.Println("stored:", sim.Records("20071000202", "Leads")[0]["Last_Name"])

	// 6. Disconnect.
	if err := cfg.Revoke(ctx, dc, tok.RefreshToken); err != nil {
		log.Fatal(err)
	}
	_, err = cfg.Refresh(ctx, dc, tok.RefreshToken)
	fmt.Println("after revoke:", err)

	// Output:
	// consent at: https://accounts.zoho.com/oauth/v2/auth
	// data center: eu accounts.zoho.eu
	// org: Acme QA sandbox
	// insert: SUCCESS true
	// stored: Lovelace
	// after revoke: zoho: refresh: invalid_code (HTTP 200)
}

// ExampleVerifyCallbackServer shows what Zoho's redirect may carry and
// what is refused.
func ExampleVerifyCallbackServer() {
	for _, v := range [][2]string{
		{"eu", "https%3A%2F%2Faccounts.zoho.eu&"},        // as Zoho sends it
		{"ca", "https://accounts.zohocloud.ca"},          // Canada's accounts host
		{"eu", "https://accounts.zoho.eu.evil.example"},  // forged
		{"us", "https://accounts.zoho.eu"},               // another DC's server
		{"eu", "https://accounts.zoho.eu:8443/callback"}, // port and path
	} {
		dc, err := zoho.VerifyCallbackServer(v[0], v[1])
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println("ok:", dc.Location, dc.AccountsURL())
	}
	// Output:
	// ok: eu https://accounts.zoho.eu
	// ok: ca https://accounts.zohocloud.ca
	// refused: zoho: unknown accounts server "https://accounts.zoho.eu.evil.example"
	// refused: zoho: accounts server does not match location: location "us", accounts-server "accounts.zoho.eu"
	// refused: zoho: unknown accounts server "https://accounts.zoho.eu:8443/callback": a port is not allowed
}

// ExampleClient_AddNote inserts a lead only if Zoho knows no one with its
// email, and otherwise leaves the existing record as it is and notes the
// submission on it.
func ExampleClient_AddNote() {
	ctx := context.Background()
	sim := zohosim.New(zohosim.Options{Clients: []zohosim.Client{{ID: "1000.EXAMPLE", Secret: "example-secret"}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	u := sim.AddUser(zohosim.User{Location: "us", Orgs: []zohosim.Org{{Edition: "Professional"}}})
	hc, _ := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: srv.URL})
	cfg := &zoho.Config{ClientID: "1000.EXAMPLE", ClientSecret: "example-secret", RedirectURL: "https://example.com/cb", HTTPClient: hc}
	code, _ := sim.IssueCode("1000.EXAMPLE", u.Email, u.Orgs[0].ID)
	us, _ := zoho.ByLocation("us")
	tok, err := cfg.Exchange(ctx, us, zoho.Secret(code))
	if err != nil {
		log.Fatal(err)
	}
	crm := zoho.NewClient(us, zoho.Production, zoho.StaticTokenSource(tok), hc)

	org, _ := crm.Org(ctx)
	fmt.Println("edition:", org.Edition, "concurrency:", org.ConcurrencyLimit())

	onlyNew := &zoho.WriteOptions{DuplicateCheckFields: []string{"Email"}}
	for _, rec := range []zoho.Record{
		{"Last_Name": "Lovelace", "Email": "ada@example.com"},
		{"Last_Name": "King", "Email": "ADA@example.com", "Phone": "+44 20"},
	} {
		res, err := crm.Insert(ctx, "Leads", []zoho.Record{rec}, onlyNew)
		if err != nil {
			log.Fatal(err)
		}
		switch r := res[0]; {
		case r.OK():
			fmt.Println("created")
		case r.Duplicate():
			n, err := crm.AddNote(ctx, "Leads", r.ID, "Form submission", "Last_Name: King\nPhone: +44 20")
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println("known; note added:", n.OK())
		}
	}
	fmt.Println("stored:", sim.Records(u.Orgs[0].ID, "Leads")[0]["Last_Name"], len(sim.Notes(u.Orgs[0].ID)), "note")
	// Output:
	// edition: professional concurrency: 15
	// created
	// known; note added: true
	// stored: Lovelace 1 note
}
