// Package logging sets up the functions' JSON logs and keeps secrets out
// of them: any attribute whose name says it holds a token, code, secret or
// key is replaced before it is written, whatever a caller passes.
package logging

import (
	"io"
	"log/slog"
	"strings"
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

// sensitive names, matched against the lower-case attribute key.
var sensitive = []string{"token", "secret", "password", "authorization", "signature", "submission_key", "code", "state"}

// allowed keys that contain a sensitive word but hold no secret.
var allowed = map[string]bool{"status_code": true, "error_code": true, "token_expires_at": true, "http_status_code": true}

func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	if allowed[k] {
		return a
	}
	for _, s := range sensitive {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}
