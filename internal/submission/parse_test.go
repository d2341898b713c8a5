package submission

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		want MediaType
		err  error
	}{
		{"application/json", MediaJSON, nil},
		{"Application/JSON; charset=UTF-8", MediaJSON, nil},
		{"application/x-www-form-urlencoded", MediaForm, nil},
		{"application/x-www-form-urlencoded; charset=utf-8", MediaForm, nil},
		{"application/json; charset=iso-8859-1", 0, ErrUnsupportedMedia},
		{"text/plain", 0, ErrUnsupportedMedia},
		{"multipart/form-data; boundary=x", 0, ErrUnsupportedMedia},
		{"", 0, ErrUnsupportedMedia},
		{"application/json;;", 0, ErrUnsupportedMedia},
	} {
		got, err := ParseContentType(tc.ct)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("ParseContentType(%q) = %v, %v; want %v, %v", tc.ct, got, err, tc.want, tc.err)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	const max = 16
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name   string
		body   string
		b64    bool
		want   string
		wanted error
	}{
		{"plain", "a=1", false, "a=1", nil},
		{"plain at limit", strings.Repeat("x", max), false, strings.Repeat("x", max), nil},
		{"plain over", strings.Repeat("x", max+1), false, "", ErrBodyTooLarge},
		{"base64", enc("a=1&b=2"), true, "a=1&b=2", nil},
		{"base64 decoded at limit", enc(strings.Repeat("y", max)), true, strings.Repeat("y", max), nil},
		{"base64 decoded over", enc(strings.Repeat("y", max+1)), true, "", ErrBodyTooLarge},
		{"base64 raw huge", strings.Repeat("A", 1000), true, "", ErrBodyTooLarge},
		{"not base64", "%%%%", true, "", ErrMalformedBody},
	} {
		got, err := DecodeBody(tc.body, tc.b64, max)
		if !errors.Is(err, tc.wanted) || (tc.wanted == nil && (err != nil || string(got) != tc.want)) {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.wanted)
		}
	}
}

func TestParseJSON(t *testing.T) {
	f, err := ParseJSON([]byte(`{"email":"a@b.co","n":12.50,"ok":true,"tags":["x","y"],"nothing":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if f["n"] != json.Number("12.50") || f["ok"] != true || !reflect.DeepEqual(f["tags"], []any{"x", "y"}) {
		t.Fatalf("fields %#v", f)
	}
	for _, bad := range []string{``, `[]`, `[{"a":1}]`, `"x"`, `12`, `null`, `{"a":1} {"b":2}`, `{"a":1}x`, `{"a":`, "{\"a\":\"\xff\"}", `{"":1}`} {
		if _, err := ParseJSON([]byte(bad)); !errors.Is(err, ErrMalformedBody) {
			t.Errorf("ParseJSON(%q) = %v, want ErrMalformedBody", bad, err)
		}
	}
}

func TestParseForm(t *testing.T) {
	f, err := ParseForm([]byte("first_name=Ada&last_name=Lovelace+King&interest=a&interest=b&email=ada%40example.com&"))
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{"first_name": "Ada", "last_name": "Lovelace King", "interest": []any{"a", "b"}, "email": "ada@example.com"}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %#v", f)
	}
	for _, bad := range []string{"a=%zz", "a=1;b=2", "a=%ff", "=x"} {
		if _, err := ParseForm([]byte(bad)); !errors.Is(err, ErrMalformedBody) {
			t.Errorf("ParseForm(%q) = %v, want ErrMalformedBody", bad, err)
		}
	}
}

func TestParseModule(t *testing.T) {
	for q, want := range map[string]string{"": "Leads", "module=contacts": "Contacts", "module=Deals&x=1": "Deals", "module=ACCOUNTS": "Accounts"} {
		if got, err := ParseModule(q); err != nil || got != want {
			t.Errorf("ParseModule(%q) = %q, %v; want %q", q, got, err, want)
		}
	}
	for _, q := range []string{"module=Users", "module=Leads/../x", "module=Leads&module=Contacts", "module=%zz", "module="} {
		if _, err := ParseModule(q); !errors.Is(err, ErrUnknownModule) {
			t.Errorf("ParseModule(%q) = %v, want ErrUnknownModule", q, err)
		}
	}
}

func TestCheckIdempotencyKey(t *testing.T) {
	for _, ok := range []string{"a", "order-123", strings.Repeat("k", 255)} {
		if CheckIdempotencyKey(ok) != nil {
			t.Errorf("refused %q", ok)
		}
	}
	for _, bad := range []string{"", "has space", strings.Repeat("k", 256), "é"} {
		if CheckIdempotencyKey(bad) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	mac := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		auth, sig string
		bearer    string
		hasSig    bool
	}{
		{"Bearer zsk_1", "", "zsk_1", false},
		{"bearer   zsk_1 ", "", "zsk_1", false},
		{"Basic dXNlcg==", "", "", false},
		{"", "t=1700000000,v1=" + mac, "", true},
		{"", "t=1700000000,v1=" + strings.ToUpper(mac), "", true},
		{"", "sha256=" + mac, "", false}, // the replaced format
		{"", "t=1700000000,v1=" + mac[:40], "", false},
		{"", "t=1700000000,v1=" + mac[:62], "", false},
		{"", "t=1700000000,v1=" + mac[:62] + "zz", "", false},
		{"Bearer zsk_1", "t=1700000000,v1=" + mac, "zsk_1", false},
		{"Bearer", "", "", false},
	} {
		c := ParseCredentials(tc.auth, tc.sig)
		if c.Bearer != tc.bearer || (c.Signature != nil) != tc.hasSig {
			t.Errorf("ParseCredentials(%q, %q) = %+v", tc.auth, tc.sig, c)
		}
	}
}
