package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/pkg/captcha"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// RunFormsContract runs the forms table's contract (forms.Store:
// formstore.Store, formstest.Store) against the stores newStore makes (a
// fresh, empty one per call).
func RunFormsContract(t *testing.T, newStore func(t *testing.T) forms.Store) {
	ctx := context.Background()
	mk := func(conn string) *forms.Form {
		return &forms.Form{
			ID: forms.NewID(), ConnectionID: conn, Module: "Leads",
			AllowedOrigins: []string{"https://www.example.com", "http://127.0.0.1:8081"},
			RedirectURL:    "https://www.example.com/thanks", FieldMapping: map[string]string{"org": "Company"},
			RequiredFields: []string{"email"}, HoneypotField: "website",
			Captcha:            &forms.Captcha{Provider: captcha.HCaptcha, Secret: zoho.Secret("0x-secret"), SiteKey: "site-1"},
			RateLimitPerMinute: 5, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		}
	}
	t.Run("a form reads back as created, secret included", func(t *testing.T) {
		s := newStore(t)
		f := mk("zc_000000000000000000000001")
		if err := s.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameExcept(t, "form", f, got, "Captcha")
		if got.Captcha == nil || *got.Captcha != *f.Captcha {
			t.Errorf("captcha %+v, want %+v", got.Captcha, f.Captcha)
		}
		bare := mk("zc_000000000000000000000001")
		bare.Captcha, bare.FieldMapping, bare.RequiredFields, bare.RedirectURL, bare.HoneypotField = nil, nil, nil, "", ""
		if err := s.Create(ctx, bare); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, bare.ID); err != nil || got.Captcha != nil || len(got.FieldMapping) != 0 || got.HoneypotField != "" {
			t.Errorf("a bare form: %+v %v", got, err)
		}
	})
	t.Run("create never overwrites", func(t *testing.T) {
		s := newStore(t)
		f := mk("zc_000000000000000000000001")
		if err := s.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
		g := *f
		g.ConnectionID = "zc_000000000000000000000002"
		if err := s.Create(ctx, &g); err == nil {
			t.Fatal("a second create of one id succeeded")
		}
		if got, _ := s.Get(ctx, f.ID); got.ConnectionID != f.ConnectionID {
			t.Errorf("overwritten: %s", got.ConnectionID)
		}
	})
	t.Run("a connection's forms are listed, and only its", func(t *testing.T) {
		s := newStore(t)
		a1, a2, b := mk("zc_00000000000000000000000a"), mk("zc_00000000000000000000000a"), mk("zc_00000000000000000000000b")
		for _, f := range []*forms.Form{a1, a2, b} {
			if err := s.Create(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ListByConnection(ctx, "zc_00000000000000000000000a")
		if err != nil || len(got) != 2 {
			t.Fatalf("%d forms, %v", len(got), err)
		}
		ids := map[string]bool{got[0].ID: true, got[1].ID: true}
		if !ids[a1.ID] || !ids[a2.ID] {
			t.Errorf("listed %v", ids)
		}
		if none, err := s.ListByConnection(ctx, "zc_00000000000000000000000c"); err != nil || len(none) != 0 {
			t.Errorf("another connection: %d, %v", len(none), err)
		}
	})
	t.Run("a deleted form is gone at once; deleting it again is not found", func(t *testing.T) {
		s := newStore(t)
		f := mk("zc_000000000000000000000001")
		if err := s.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, f.ID); !errors.Is(err, forms.ErrNotFound) {
			t.Errorf("get after delete: %v", err)
		}
		if err := s.Delete(ctx, f.ID); !errors.Is(err, forms.ErrNotFound) {
			t.Errorf("delete again: %v", err)
		}
		if _, err := s.Get(ctx, forms.NewID()); !errors.Is(err, forms.ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
	})
}
