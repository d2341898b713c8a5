package submission

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
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
		for _, set := range []*fieldSet{newFieldSet(testFields(module), false), newFieldSet(builtInFields(module), true)} {
			rules := Rules{Mapping: map[string]string{"a": "Custom_A", "b": "Owner", "c": "Budget"}, Allowed: []string{"Custom_B"}}
			m := mapFields(module, fields, set, rules)
			for k, v := range m.Record {
				f, known := set.byName[k]
				named := k == "Custom_A" || k == "Custom_B" || k == "Budget"
				switch {
				case !apiNameShape.MatchString(k) || systemField(k):
					t.Fatalf("%s: %q reached Zoho", module, k)
				case known && !settableWhenNamed(f), !known && !(set.builtIn && named):
					t.Fatalf("%s: %q (%+v) reached Zoho", module, k, f)
				}
				if _, ok := scalar(v); !ok {
					t.Fatalf("%s: %q = %#v is not one value", module, k, v)
				}
			}
			for k := range m.Problems {
				if _, set := m.Record[k]; set {
					t.Fatalf("%s: %q both sent and refused", module, k)
				}
			}
			if _, err := json.Marshal(m.Record); err != nil {
				t.Fatalf("the record cannot be sent: %v", err)
			}
		}
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

// FuzzSignature: only a fresh signature of exactly this request under the
// connection's key authenticates; any other header, time, key, method,
// path, query, Idempotency-Key or body does not. The MAC is computed here
// on its own, from the documented format, not with Sign.
func FuzzSignature(f *testing.F) {
	f.Add([]byte(`{"last_name":"L"}`), "", false, "", "", int64(0))
	f.Add([]byte("a=1"), "sha256=00", false, "module=Leads", "k", int64(0))
	f.Add([]byte(""), "t=1,v1="+strings.Repeat("0", 64), true, "", "", int64(299))
	f.Add([]byte("x"), "t=1700000000,v1="+strings.Repeat("A", 64), false, "module=Contacts&x=1", "order-1", int64(-301))
	f.Add([]byte("x"), " v1="+strings.Repeat("a", 64)+" , t=1700000000 ,v2=00", false, "", "", int64(0))
	f.Add([]byte("x"), "t=01700000000,v1="+strings.Repeat("a", 64), false, "", "", int64(0))
	w := newWorld(&testing.T{})
	now := time.Unix(1_800_000_000, 0)
	w.svc.Now = func() time.Time { return now }
	path := "/connections/" + w.conn.ID + "/submissions"
	f.Fuzz(func(t *testing.T, body []byte, header string, useRealKey bool, query, idem string, skew int64) {
		skew %= 100_000
		signed := Signed{Method: "POST", Path: path, RawQuery: query, IdempotencyKey: idem, Body: body}
		if useRealKey {
			header = Sign(w.key, now.Add(time.Duration(skew)*time.Second), signed)
		}
		_, err := w.svc.authenticate(context.Background(), w.conn.ID, ParseCredentials("", header), signed)
		sig, perr := ParseSignature(header)
		wantOK := perr == nil && hmac.Equal(sig.MAC, referenceMAC(w.key, sig.Timestamp, signed)) &&
			now.Unix()-sig.Timestamp <= 300 && sig.Timestamp-now.Unix() <= 300
		if (err == nil) != wantOK {
			t.Fatalf("header %q over %+v: err %v, want ok=%v", header, signed, err, wantOK)
		}
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("unexpected error %v", err)
		}
		if useRealKey && (skew > 300 || skew < -300) == wantOK {
			t.Fatalf("a signature %d s from now: ok=%v", skew, wantOK)
		}
		// The same header never covers another request, nor another
		// connection.
		for name, other := range map[string]Signed{
			"method": {Method: "PUT", Path: path, RawQuery: query, IdempotencyKey: idem, Body: body},
			"path":   {Method: "POST", Path: path + "/x", RawQuery: query, IdempotencyKey: idem, Body: body},
			"query":  {Method: "POST", Path: path, RawQuery: query + "&module=Deals", IdempotencyKey: idem, Body: body},
			"idem":   {Method: "POST", Path: path, RawQuery: query, IdempotencyKey: idem + "2", Body: body},
			"body":   {Method: "POST", Path: path, RawQuery: query, IdempotencyKey: idem, Body: append(append([]byte{}, body...), ' ')},
		} {
			if _, err := w.svc.authenticate(context.Background(), w.conn.ID, ParseCredentials("", header), other); err == nil {
				t.Fatalf("the signature of %+v covers another %s: %+v", signed, name, other)
			}
		}
		if _, err := w.svc.authenticate(context.Background(), "zc_000000000000000000000000", ParseCredentials("", header), signed); err == nil {
			t.Fatal("authenticated an unknown connection")
		}
	})
}

// referenceMAC is the documented MAC, written out apart from SigningInput.
func referenceMAC(key string, t int64, r Signed) []byte {
	target := r.Path
	if r.RawQuery != "" {
		target = r.Path + "?" + r.RawQuery
	}
	m := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(m, "%d.%s.%s.%s.", t, r.Method, target, r.IdempotencyKey)
	m.Write(r.Body)
	return m.Sum(nil)
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
		set := newFieldSet(testFields("Leads"), false)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				f, err := ParseBody(tc.mt, tc.body)
				if err != nil {
					b.Fatal(err)
				}
				m := mapFields("Leads", f, set, Rules{})
				if m.Problems != nil {
					b.Fatal("invalid", m.Problems)
				}
				c, _ := canonical(f)
				_ = IdempotencyKey("zc_x", "Leads", "", c)
			}
		})
	}
}
