package formpost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// ErrFilePart: a multipart body holds a file; forms take text fields only.
var ErrFilePart = errors.New("the form holds a file: only text fields can be sent to the CRM")

// ErrUnsupportedMedia: a body of another type.
var ErrUnsupportedMedia = errors.New("send application/x-www-form-urlencoded, multipart/form-data or application/json")

// maxParts bounds a multipart body's parts (the submission's own bound on
// fields is the same).
const maxParts = 500

// ParseBody reads a form post: application/x-www-form-urlencoded (as
// submission.ParseForm), application/json (submission.ParseJSON), or
// multipart/form-data with text fields only (a file part, even an empty
// one, is ErrFilePart).
func ParseBody(contentType string, body []byte) (submission.Fields, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, ErrUnsupportedMedia
	}
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(cs) {
		case "utf-8", "utf8", "us-ascii":
		default:
			return nil, fmt.Errorf("%w (charset %q: use UTF-8)", ErrUnsupportedMedia, cs)
		}
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return submission.ParseForm(body)
	case "application/json":
		return submission.ParseJSON(body)
	case "multipart/form-data":
		return parseMultipart(params["boundary"], body)
	}
	return nil, ErrUnsupportedMedia
}

func parseMultipart(boundary string, body []byte) (submission.Fields, error) {
	if boundary == "" || len(boundary) > 70 {
		return nil, fmt.Errorf("%w: multipart without a valid boundary", submission.ErrMalformedBody)
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	out := submission.Fields{}
	for n := 0; ; n++ {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: not valid multipart/form-data", submission.ErrMalformedBody)
		}
		if n >= maxParts {
			return nil, fmt.Errorf("%w: more than %d fields", submission.ErrMalformedBody, maxParts)
		}
		name, err := partName(p.Header)
		if err != nil {
			return nil, err
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("%w: not valid multipart/form-data", submission.ErrMalformedBody)
		}
		if !utf8.Valid(v) {
			return nil, fmt.Errorf("%w: a value is not UTF-8", submission.ErrMalformedBody)
		}
		switch prev := out[name].(type) {
		case nil:
			out[name] = string(v)
		case string:
			out[name] = []any{prev, string(v)}
		case []any:
			out[name] = append(prev, string(v))
		}
	}
	return out, nil
}

// partName is a text part's field name; a part with a filename (a file
// input, chosen or not) or a type other than text/plain is refused.
func partName(h textproto.MIMEHeader) (string, error) {
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "form-data" {
		return "", fmt.Errorf("%w: a part is not form-data", submission.ErrMalformedBody)
	}
	if _, ok := params["filename"]; ok {
		return "", ErrFilePart
	}
	if _, ok := params["filename*"]; ok {
		return "", ErrFilePart
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, cp, err := mime.ParseMediaType(ct)
		if err != nil || mt != "text/plain" {
			return "", ErrFilePart
		}
		if cs, ok := cp["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return "", fmt.Errorf("%w (charset %q: use UTF-8)", ErrUnsupportedMedia, cs)
		}
	}
	if te := h.Get("Content-Transfer-Encoding"); te != "" && !strings.EqualFold(te, "8bit") && !strings.EqualFold(te, "7bit") && !strings.EqualFold(te, "binary") {
		return "", fmt.Errorf("%w: Content-Transfer-Encoding %q", submission.ErrMalformedBody, te)
	}
	name := params["name"]
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: a field name is empty, too long or not UTF-8", submission.ErrMalformedBody)
	}
	return name, nil
}
