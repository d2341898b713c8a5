package zoho_test

import (
	"context"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// editionTable is zoho-facts.md's limits, spelled out: concurrency per
// org and app, sub-concurrency for writes of more than 10 records, and
// credits per rolling 24 h for 10 and 1,000 user licenses.
var editionTable = []struct {
	names                  []string
	concurrency, sub       int
	credits10, credits1000 int
}{
	{[]string{"free", "Free", " FREE "}, 5, 10, 5000, 5000},
	{[]string{"standard", "Starter"}, 10, 10, 52500, 100000},
	{[]string{"professional"}, 15, 10, 55000, 550000},
	{[]string{"enterprise", "ZohoOne", "zoho one"}, 20, 10, 60000, 1050000},
	{[]string{"ultimate", "crmplus", "CRM Plus"}, 25, 10, 70000, 2050000},
}

func TestEditionLimits(t *testing.T) {
	for _, row := range editionTable {
		for _, name := range row.names {
			l, ok := zoho.EditionLimits(name)
			if !ok || l.Edition != row.names[0] || l.Concurrency != row.concurrency || l.SubConcurrency != row.sub ||
				l.DailyCredits(10) != row.credits10 || l.DailyCredits(1000) != row.credits1000 {
				t.Errorf("EditionLimits(%q) = %+v, %v: credits %d, %d", name, l, ok, l.DailyCredits(10), l.DailyCredits(1000))
			}
		}
	}
	for _, name := range []string{"", "developer", "bigin", "enterprise2"} {
		if l, ok := zoho.EditionLimits(name); ok {
			t.Errorf("EditionLimits(%q) = %+v", name, l)
		}
	}
	if l, _ := zoho.EditionLimits("enterprise"); l.DailyCredits(-3) != 50000 || l.DailyCredits(5000) != 2000000 {
		t.Errorf("enterprise credits bounds: %d %d", l.DailyCredits(-3), l.DailyCredits(5000))
	}
}

func TestOrgEdition(t *testing.T) {
	tests := []struct {
		name, license              string
		edition, trial             string
		paid                       bool
		users, concurrency, credit int
	}{
		{"enterprise", `{"paid_expiry":null,"users_license_purchased":10,"trial_type":null,"trial_expiry":null,"paid":true,"paid_type":"enterprise"}`,
			"enterprise", "", true, 10, 20, 60000},
		{"free on an enterprise trial", `{"paid_expiry":null,"users_license_purchased":3,"trial_type":"enterprise","trial_expiry":"2023-03-31T15:59:53+05:30","paid":false,"paid_type":"free"}`,
			"free", "enterprise", false, 3, 5, 5000},
		{"professional, users as a string", `{"users_license_purchased":"40","paid":true,"paid_type":"Professional"}`,
			"professional", "", true, 40, 15, 70000},
		{"ultimate", `{"users_license_purchased":100,"paid":true,"paid_type":"ultimate"}`, "ultimate", "", true, 100, 25, 250000},
		{"unknown edition: the lowest limits", `{"users_license_purchased":10,"paid":true,"paid_type":"bigin_premier"}`,
			"bigin_premier", "", true, 10, 5, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"org":[{"id":"1","zgid":"2","company_name":"Acme","type":"Production","license_details":` + tt.license + `}]}`
			_, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{200, body})
			org, err := c.Org(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if org.Edition != tt.edition || org.TrialEdition != tt.trial || org.Paid != tt.paid || org.UserLicenses != tt.users ||
				org.ConcurrencyLimit() != tt.concurrency || org.DailyCredits() != tt.credit {
				t.Errorf("org %+v: concurrency %d, credits %d", org, org.ConcurrencyLimit(), org.DailyCredits())
			}
		})
	}
	_, c := newFakeCRM(t, mustDC(t, "us"), zoho.Production, canned{200, `{"org":[{"id":"1","type":"Production"}]}`})
	org, err := c.Org(context.Background())
	if err != nil || org.Edition != "" || org.ConcurrencyLimit() != 5 {
		t.Errorf("no license_details: %+v, %v", org, err)
	}
}
