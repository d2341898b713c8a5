package submission

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The parsers take input from strangers: whatever comes, they answer a
// value or one of their errors, never panic, and what they accept is
// sound. Corpus: testdata/fuzz.

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"", "a=1", "first_name=Ada&last_name=L&", "a=%zz", "a=1;b=2", "x=1&x=2&x=", "%e2%82%ac=%e2%82%ac", "a=%ff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseForm(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedBody) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		checkFields(t, fields)
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `[]`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"a":1}{}`, `"x"`, "{\"\xff\":1}", `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseJSON(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedBody) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		checkFields(t, fields)
	})
}

func checkFields(t *testing.T, fields Fields) {
	t.Helper()
	if len(fields) > maxFields {
		t.Fatalf("%d fields accepted", len(fields))
	}
	for k := range fields {
		if k == "" || !utf8.ValidString(k) {
			t.Fatalf("field name %q accepted", k)
		}
	}
	for _, module := range Modules() {
		m := Map(module, fields, map[string]string{"a": "Custom_A"})
		for k := range m.Record {
			if !apiNameShape.MatchString(k) {
				t.Fatalf("mapped to %q, not an API name", k)
			}
		}
		_ = Validate(module, m.Record)
	}
	if _, err := canonical(fields); err != nil {
		t.Fatalf("accepted fields cannot be made canonical: %v", err)
	}
	if _, err := json.Marshal(fields); err != nil {
		t.Fatalf("accepted fields cannot be sent: %v", err)
	}
}

func FuzzContentType(f *testing.F) {
	for _, s := range []string{"application/json", "application/x-www-form-urlencoded; charset=UTF-8", "text/html", ";", "application/json; charset=\"utf-8\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		mt, err := ParseContentType(ct)
		if (err == nil) != (mt != 0) {
			t.Fatalf("%q: %v, %v", ct, mt, err)
		}
	})
}

// FuzzSignature: only the signature of exactly this body under the
// connection's key authenticates; any other header, body or key does not.
func FuzzSignature(f *testing.F) {
	f.Add([]byte(`{"last_name":"L"}`), "", false)
	f.Add([]byte("a=1"), "sha256=00", false)
	f.Add([]byte(""), "sha256="+strings.Repeat("0", 64), true)
	f.Add([]byte("x"), "SHA256="+strings.Repeat("A", 64), false)
	w := newWorld(&testing.T{})
	f.Fuzz(func(t *testing.T, body []byte, header string, useRealKey bool) {
		good := Sign(w.key, body)
		if useRealKey {
			header = good
		}
		_, err := w.svc.authenticate(context.Background(), w.conn.ID, ParseCredentials("", header), body)
		mac, perr := ParseSignature(header)
		wantOK := perr == nil && hmac.Equal(mac, mustMAC(good))
		if (err == nil) != wantOK {
			t.Fatalf("header %q over %q: err %v, want ok=%v", header, body, err, wantOK)
		}
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("unexpected error %v", err)
		}
		// Never for another connection id, whatever the header.
		if _, err := w.svc.authenticate(context.Background(), "zc_000000000000000000000000", ParseCredentials("", header), body); err == nil {
			t.Fatal("authenticated an unknown connection")
		}
	})
}

func mustMAC(h string) []byte {
	m, err := ParseSignature(h)
	if err != nil {
		panic(err)
	}
	return m
}

func BenchmarkParseAndMap(b *testing.B) {
	form := []byte("first_name=Ada&last_name=Lovelace&email=ada%40example.com&phone=%2B44+20+7946+0000&company=Analytical+Engines&message=" +
		strings.Repeat("Hello+there.+", 40) + "&utm_source=newsletter&submit=Send")
	js := []byte(`{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0000","company":"Analytical Engines","message":"` +
		strings.Repeat("Hello there. ", 40) + `","utm_source":"newsletter"}`)
	for _, tc := range []struct {
		name string
		mt   MediaType
		body []byte
	}{{"form", MediaForm, form}, {"json", MediaJSON, js}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				f, err := ParseBody(tc.mt, tc.body)
				if err != nil {
					b.Fatal(err)
				}
				m := Map("Leads", f, nil)
				if Validate("Leads", m.Record) != nil {
					b.Fatal("invalid")
				}
				c, _ := canonical(f)
				_ = IdempotencyKey("zc_x", "Leads", "", c)
			}
		})
	}
}
