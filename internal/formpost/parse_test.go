package formpost

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"sort"
	"testing"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

func TestModulesAreTheSubmissionsModules(t *testing.T) {
	got := append([]string(nil), forms.Modules...)
	sort.Strings(got)
	if want := submission.Modules(); !reflect.DeepEqual(got, want) {
		t.Errorf("forms.Modules %v, submission.Modules %v", got, want)
	}
}

func multipartOf(t testing.TB, parts ...[3]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", p[0])
		if p[1] != "" {
			h.Set("Content-Type", p[1])
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[2]))
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func TestParseBody(t *testing.T) {
	ct, body := multipartOf(t,
		[3]string{`form-data; name="last_name"`, "", "Keller"},
		[3]string{`form-data; name="interest"`, "text/plain; charset=utf-8", "a"},
		[3]string{`form-data; name="interest"`, "", "b"},
	)
	got, err := ParseBody(ct, body)
	if err != nil || got["last_name"] != "Keller" || !reflect.DeepEqual(got["interest"], []any{"a", "b"}) {
		t.Fatalf("%v %v", got, err)
	}
	type bodyCase struct {
		ct   string
		body []byte
		want error
	}
	part := func(disp, ct, v string, want error) bodyCase {
		c, b := multipartOf(t, [3]string{disp, ct, v})
		return bodyCase{c, b, want}
	}
	for name, c := range map[string]bodyCase{
		"a file":            part(`form-data; name="cv"; filename="cv.pdf"`, "application/pdf", "%PDF", ErrFilePart),
		"an empty file":     part(`form-data; name="cv"; filename=""`, "application/octet-stream", "", ErrFilePart),
		"a binary part":     part(`form-data; name="x"`, "application/octet-stream", "x", ErrFilePart),
		"not form-data":     part(`attachment; name="x"`, "", "x", submission.ErrMalformedBody),
		"no boundary":       {"multipart/form-data", []byte("x"), submission.ErrMalformedBody},
		"latin-1 charset":   {"application/x-www-form-urlencoded; charset=iso-8859-1", []byte("a=1"), ErrUnsupportedMedia},
		"xml":               {"application/xml", []byte("<a/>"), ErrUnsupportedMedia},
		"no type":           {"", []byte("a=1"), ErrUnsupportedMedia},
		"truncated":         {"multipart/form-data; boundary=zz", []byte("--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue"), submission.ErrMalformedBody},
		"a json array":      {"application/json", []byte("[1]"), submission.ErrMalformedBody},
		"urlencoded, wrong": {"application/x-www-form-urlencoded", []byte("a=%zz"), submission.ErrMalformedBody},
	} {
		if _, err := ParseBody(c.ct, c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if f, err := ParseBody("application/x-www-form-urlencoded; charset=UTF-8", []byte("a=1&b=%C3%BC")); err != nil || f["b"] != "ü" {
		t.Errorf("urlencoded: %v %v", f, err)
	}
}

// The parsers take input from strangers: whatever comes, they answer
// fields or one of their errors, never panic, and what they accept is
// sound. Corpus: testdata/fuzz/FuzzParseBody.
func FuzzParseBody(f *testing.F) {
	ct, body := multipartOf(f, [3]string{`form-data; name="last_name"`, "", "Keller"}, [3]string{`form-data; name="email"`, "", "m@example.eu"})
	f.Add(ct, body)
	_, file := multipartOf(f, [3]string{`form-data; name="cv"; filename="a.txt"`, "text/plain", "hi"})
	f.Add(ct, file)
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"))
	f.Add("application/x-www-form-urlencoded", []byte("first_name=Ada&last_name=L&website="))
	f.Add("application/json", []byte(`{"last_name":"L","n":1}`))
	f.Add("multipart/form-data; boundary=\"a b\"", []byte("--a b\r\n\r\n--a b--"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		fields, err := ParseBody(ct, body)
		if err != nil {
			if !errors.Is(err, submission.ErrMalformedBody) && !errors.Is(err, ErrUnsupportedMedia) && !errors.Is(err, ErrFilePart) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(fields) > maxParts {
			t.Fatalf("%d fields", len(fields))
		}
		for k, v := range fields {
			if k == "" || !utf8.ValidString(k) {
				t.Fatalf("field name %q", k)
			}
			if s, ok := v.(string); ok && !utf8.ValidString(s) {
				t.Fatalf("value of %q not UTF-8", k)
			}
		}
	})
}
