// Package logging sets up the functions' JSON logs and keeps secrets out
// of them.
//
// What is a secret is decided by the value's kind, never by the
// attribute's name. Tokens, grant codes, client secrets, submission keys,
// session tokens and cookie nonces are zoho.Secret values: a
// slog.LogValuer that log/slog resolves to "[redacted]" before any handler
// sees it, whatever the attribute is called, and that marshals and prints
// "[redacted]" too, so one inside a struct or map given to slog.Any, or in
// an error built with %v, stays redacted. So names such as zoho_code,
// error_code, state, session_id or submission_key_id log as they are.
//
// Behind the types, the handler keeps a narrow net for a secret that lost
// its type (a string conversion, a Reveal gone too far, a message quoting
// one). It matches values of exact shapes, and the credential headers:
//
//   - in a string value, or an error's message, every Zoho token or grant
//     code (1000.<32 hex>.<32 hex>) and every submission key (zsk_ and 43
//     base64url characters) is replaced by "[redacted]";
//   - an attribute named authorization, cookie or set-cookie (in any case),
//     and those entries of a header map (http.Header, map[string]string,
//     map[string][]string) given to slog.Any, are replaced whole: they
//     carry bearer keys and the connect cookie's nonce.
//
// Anything else (a state, a client secret, a product API key as a plain
// string) has no shape to recognize and must arrive typed.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	smithylog "github.com/aws/smithy-go/logging"
)

// New returns a JSON logger at the given level ("debug", "info", "warn",
// "error"; default info).
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: redact}))
}

const redacted = "[redacted]"

// secretShapes are the secrets whose shape alone gives them away: Zoho's
// tokens and grant codes, and submission keys
// (connection.SubmissionKeyPrefix and an HMAC-SHA256 in base64url).
var secretShapes = regexp.MustCompile(`1000\.[0-9a-fA-F]{32}\.[0-9a-fA-F]{32}|zsk_[A-Za-z0-9_-]{43}`)

// credentialHeaders are the header names whose values are credentials.
var credentialHeaders = map[string]bool{"authorization": true, "cookie": true, "set-cookie": true}

// redact is the handler's ReplaceAttr. Values arrive resolved: a
// zoho.Secret is already "[redacted]".
func redact(_ []string, a slog.Attr) slog.Attr {
	if credentialHeaders[strings.ToLower(a.Key)] {
		return slog.String(a.Key, redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s, ok := scrub(a.Value.String()); ok {
			return slog.String(a.Key, s)
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			if s, ok := scrub(v.Error()); ok {
				return slog.String(a.Key, s)
			}
		case http.Header:
			return slog.Any(a.Key, headerLists(v))
		case map[string][]string:
			return slog.Any(a.Key, headerLists(v))
		case map[string]string:
			out := make(map[string]string, len(v))
			for k, s := range v {
				out[k] = scrubHeader(k, s)
			}
			return slog.Any(a.Key, out)
		}
	}
	return a
}

// scrub replaces every secret-shaped part of s, and reports whether there
// was one.
func scrub(s string) (string, bool) {
	if !strings.Contains(s, "1000.") && !strings.Contains(s, "zsk_") {
		return s, false
	}
	out := secretShapes.ReplaceAllLiteralString(s, redacted)
	return out, out != s
}

// headerLists is a copy of h with the credential headers' values
// replaced and the others scrubbed.
func headerLists(h map[string][]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		c := make([]string, len(vs))
		for i, s := range vs {
			c[i] = scrubHeader(k, s)
		}
		out[k] = c
	}
	return out
}

func scrubHeader(name, value string) string {
	if credentialHeaders[strings.ToLower(name)] {
		return redacted
	}
	s, _ := scrub(value)
	return s
}

// SDK carries the AWS SDK's own log lines (its warnings, such as "failed to
// discard remaining HTTP response body") into log, so that every line a
// function writes is JSON and goes through the same redaction.
type SDK struct{ Log *slog.Logger }

// Logf is smithy-go's logging.Logger.
func (l SDK) Logf(c smithylog.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if c == smithylog.Warn {
		l.Log.Warn(msg, "source", "aws-sdk")
		return
	}
	l.Log.Debug(msg, "source", "aws-sdk")
}
