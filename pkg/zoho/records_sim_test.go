package zoho_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// GetRecord and Update against the simulator: what fill_empty and update
// of a duplicate need.
func TestSimGetRecordAndUpdate(t *testing.T) {
	e := startSim(t, zohosim.Options{})
	dc, u, tok := e.connect(t, "eu", zoho.Production)
	c := e.client(dc, zoho.Production, tok)
	ctx := context.Background()
	res, err := c.Insert(ctx, "Contacts", []zoho.Record{{"Last_Name": "Ada", "Email": "ada@example.com", "Phone": "+44 1"}}, nil)
	if err != nil || !res[0].OK() {
		t.Fatalf("%+v, %v", res, err)
	}
	id := res[0].ID
	got, err := c.GetRecord(ctx, "Contacts", id, []string{"Phone", "Title", "Email_Opt_Out"})
	if err != nil || got["id"] != id || got["Phone"] != "+44 1" || got["Title"] != nil {
		t.Fatalf("%v, %v", got, err)
	}
	if _, present := got["Last_Name"]; present {
		t.Errorf("a field not asked for came back: %v", got)
	}
	if _, err := c.GetRecord(ctx, "Contacts", "4876876000000999999", []string{"Phone"}); !errors.Is(err, zoho.ErrRecordNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := c.GetRecord(ctx, "Contacts", id, nil); err == nil {
		t.Error("no fields: no error")
	}

	up, err := c.Update(ctx, "Contacts", []zoho.Record{{"id": id, "Title": "Countess", "No_Such": 1}}, &zoho.WriteOptions{Trigger: []string{"workflow"}})
	if err != nil || !up[0].OK() || up[0].ID != id {
		t.Fatalf("%+v, %v", up, err)
	}
	rec := e.sim.Records(u.Orgs[0].ID, "Contacts")[0]
	if rec["Title"] != "Countess" || rec["Phone"] != "+44 1" || rec["Last_Name"] != "Ada" {
		t.Errorf("after update: %v", rec)
	}
	// Zoho's checks hold on an update too.
	bad, err := c.Update(ctx, "Contacts", []zoho.Record{{"id": id, "Email_Opt_Out": "yes"}, {"id": id, "Last_Name": ""}}, nil)
	if err != nil || len(bad) != 2 || bad[0].Code != "INVALID_DATA" || bad[0].Field != "Email_Opt_Out" || bad[1].Code != "MANDATORY_NOT_FOUND" {
		t.Errorf("%+v, %v", bad, err)
	}
	if _, err := c.Update(ctx, "Contacts", []zoho.Record{{"Title": "x"}}, nil); !errors.Is(err, zoho.ErrInvalidRecordID) {
		t.Errorf("no id: %v", err)
	}
	miss, err := c.Update(ctx, "Contacts", []zoho.Record{{"id": "4876876000000999999", "Title": "x"}}, nil)
	if err != nil || miss[0].OK() || miss[0].Field != "id" {
		t.Errorf("unknown id: %+v, %v", miss, err)
	}
	// Numbers come back as json.Number.
	if _, err := c.Update(ctx, "Contacts", []zoho.Record{{"id": id, "Date_of_Birth": "1815-12-10"}}, nil); err != nil {
		t.Fatal(err)
	}
	lead, _ := c.Insert(ctx, "Leads", []zoho.Record{{"Last_Name": "L", "No_of_Employees": 12}}, nil)
	got, err = c.GetRecord(ctx, "Leads", lead[0].ID, []string{"No_of_Employees"})
	if n, ok := got["No_of_Employees"].(json.Number); err != nil || !ok || n.String() != "12" {
		t.Errorf("%#v, %v", got, err)
	}
}
