package zoho

import "log/slog"

// Secret is a credential: an access or refresh token, a grant code, a
// client secret. It never prints itself: fmt's verbs, log/slog (it is a
// slog.LogValuer), encoding/json and encoding.TextMarshaler all write
// "[redacted]", so a Secret logged directly, inside a struct or a map, or
// in an error built with %v stays out of the output. Only a map keyed by
// Secrets would show them (encoding/json writes string keys as they are):
// never key a map by one.
//
// Reveal returns the value, for the few places that must send or store
// it: a form posted to Zoho, an Authorization header, a storage adapter's
// own struct of plain strings. Decoding is left alone (a Secret
// unmarshals as the string it is), but a Secret marshaled is gone:
// storage marshals Reveal's string, never the Secret.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String is "[redacted]", for %s and %v.
func (Secret) String() string { return redacted }

// GoString is "[redacted]", for %#v.
func (Secret) GoString() string { return redacted }

// LogValue is "[redacted]": log/slog asks before any handler sees the value.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON is "[redacted]" as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText is "[redacted]", for text encoders (slog's TextHandler, ...).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
