package zohosim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// The simulator behind zoho.NewHTTPClient's endpoint override: requests name
// the real Zoho hosts and reach the simulator over plain HTTP. In a test,
// zohosimtest.Start(t, opts) does the httptest part and its cleanup.
func Example() {
	sim := zohosim.New(zohosim.Options{Clients: []zohosim.Client{{ID: "1000.CLIENT", Secret: "secret"}}})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	for _, u := range zohosim.DemoUsers() {
		sim.AddUser(u)
	}
	hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: ts.URL})
	if err != nil {
		panic(err)
	}

	code, _ := sim.IssueCode("1000.CLIENT", "eva@acme-europe.example", "20071000202") // an EU sandbox
	resp, err := hc.PostForm("https://accounts.zoho.eu/oauth/v2/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"1000.CLIENT"},
		"client_secret": {"secret"}, "redirect_uri": {"https://app.example/cb"},
	})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		APIDomain   string `json:"api_domain"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println("api_domain:", tok.APIDomain)

	for _, host := range []string{"https://www.zohoapis.eu", "https://sandbox.zohoapis.eu"} {
		req, _ := http.NewRequest("GET", host+"/crm/v8/org", nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			panic(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Println(strings.TrimPrefix(host, "https://"), resp.StatusCode, body["code"], orgType(body))
	}
	// Output:
	// api_domain: https://www.zohoapis.eu
	// www.zohoapis.eu 401 DOMAIN_TOKEN_MISMATCH <nil>
	// sandbox.zohoapis.eu 200 <nil> Sandbox
}

func orgType(body map[string]any) any {
	orgs, _ := body["org"].([]any)
	if len(orgs) == 0 {
		return nil
	}
	return orgs[0].(map[string]any)["type"]
}
