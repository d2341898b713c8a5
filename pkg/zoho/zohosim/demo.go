package zohosim

import "github.com/zohoconnect/zohoconnect/pkg/zoho"

// DemoUsers is the data set of cmd/zohosim and the local demo, with fixed
// ids so scripts can name them: an EU user with a production org, two
// sandboxes and a developer org; a US user with production and sandbox;
// and one user each in CN, AU and CA with a production org.
func DemoUsers() []User {
	return []User{
		{ID: "20071000101", Email: "eva@acme-europe.example", FullName: "Eva Schmidt", Location: "eu", Orgs: []Org{
			{ID: "20071000201", Name: "Acme Europe", Environment: zoho.Production, Edition: "Enterprise"},
			{ID: "20071000202", Name: "Acme Europe QA Sandbox", Environment: zoho.Sandbox, Edition: "Enterprise"},
			{ID: "20071000203", Name: "Acme Europe UAT Sandbox", Environment: zoho.Sandbox, Edition: "Enterprise"},
			{ID: "20071000204", Name: "Acme Europe Developer", Environment: zoho.Developer, Edition: "Developer"},
		}},
		{ID: "20071000102", Email: "sam@acme-us.example", FullName: "Sam Carter", Location: "us", Orgs: []Org{
			{ID: "20071000211", Name: "Acme US", Environment: zoho.Production, Edition: "Professional"},
			{ID: "20071000212", Name: "Acme US Sandbox", Environment: zoho.Sandbox, Edition: "Professional"},
		}},
		{ID: "20071000103", Email: "li@acme-china.example", FullName: "Li Wei", Location: "cn", Orgs: []Org{
			{ID: "20071000221", Name: "Acme China", Environment: zoho.Production, Edition: "Enterprise"},
		}},
		{ID: "20071000104", Email: "olivia@acme-au.example", FullName: "Olivia Brown", Location: "au", Orgs: []Org{
			{ID: "20071000231", Name: "Acme Australia", Environment: zoho.Production, Edition: "Standard"},
		}},
		{ID: "20071000105", Email: "noah@acme-ca.example", FullName: "Noah Tremblay", Location: "ca", Orgs: []Org{
			{ID: "20071000241", Name: "Acme Canada", Environment: zoho.Production, Edition: "Free"},
		}},
	}
}
