package connection

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// A Session is a connect session: the product's backend opens one for one
// of its tenants (POST /connect/sessions) and sends its user to the
// session's connect URL. The session names what the connection will be
// (tenant, environment, DC, metadata) and where the browser goes back
// (ReturnURL). It may start Zoho's consent again until a connection
// completes it, and completes once.
type Session struct {
	ID            string
	TenantID      string
	Environment   string // "" for any
	StartLocation string // "us" or "cn": where consent starts
	ReturnURL     string
	Metadata      map[string]string
	// SecretHash is the hex SHA-256 of the token's secret part: the token
	// itself is never stored.
	SecretHash   string
	Status       SessionStatus
	ConnectionID string // set when completed
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// SessionStatus is where a session stands.
type SessionStatus string

const (
	SessionOpen      SessionStatus = "open"
	SessionCompleted SessionStatus = "completed"
)

// Session errors.
var (
	// ErrSessionNotFound: unknown, expired or malformed token.
	ErrSessionNotFound = errors.New("connect session unknown or expired")
	// ErrSessionCompleted: the session already made its connection.
	ErrSessionCompleted = errors.New("connect session already completed")
)

// DefaultSessionTTL is how long a session lives (ConnectSessionTtlSeconds).
const DefaultSessionTTL = 30 * time.Minute

// MaxMetadataBytes bounds a session's (and a connection's) metadata as
// JSON.
const MaxMetadataBytes = 2048

// NewSession makes an open session and its token, shown once.
func NewSession(tenantID string, now time.Time, ttl time.Duration) (*Session, zoho.Secret, error) {
	id, err := randomHex(12)
	if err != nil {
		return nil, "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	s := &Session{
		ID: "cs_" + id, TenantID: tenantID, SecretHash: hashHex(secret), Status: SessionOpen,
		CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC(),
	}
	return s, zoho.Secret(s.ID + "." + secret), nil
}

// ParseSessionToken splits a token into the session's id (not a secret)
// and its secret.
func ParseSessionToken(token zoho.Secret) (id string, secret zoho.Secret, ok bool) {
	id, rest, ok := strings.Cut(token.Reveal(), ".")
	if !ok || !ValidSessionID(id) || len(rest) != 43 {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest); err != nil {
		return "", "", false
	}
	return id, zoho.Secret(rest), true
}

// ValidSessionID reports whether s has the shape of a session id.
func ValidSessionID(s string) bool {
	return len(s) == 27 && strings.HasPrefix(s, "cs_") && isLowerHex(s[3:])
}

// Open checks that the token's secret is this session's and that the
// session may still start a consent flow.
func (s *Session) Open(secret zoho.Secret, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(hashHex(secret.Reveal())), []byte(s.SecretHash)) != 1 || !now.Before(s.ExpiresAt) {
		return ErrSessionNotFound
	}
	if s.Status == SessionCompleted {
		return ErrSessionCompleted
	}
	return nil
}

// ValidTenantID: 1 to 128 of A-Za-z0-9._:@-.
func ValidTenantID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:@-", r)) {
			return false
		}
	}
	return true
}

// CheckMetadata accepts a flat object of strings of at most
// MaxMetadataBytes as JSON.
func CheckMetadata(m map[string]string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > MaxMetadataBytes {
		return fmt.Errorf("metadata is %d bytes as JSON, over %d", len(b), MaxMetadataBytes)
	}
	return nil
}

// CheckReturnURL accepts a URL whose origin is one of allowed (exact,
// scheme://host[:port]) and that is https, or http on localhost or
// 127.0.0.1.
func CheckReturnURL(raw string, allowed []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("return_url %q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"):
	default:
		return fmt.Errorf("return_url %q must be https", raw)
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range allowed {
		if strings.ToLower(strings.TrimRight(strings.TrimSpace(a), "/")) == origin {
			return nil
		}
	}
	return fmt.Errorf("return_url's origin %s is not one of ReturnUrlOrigins", origin)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func isLowerHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return s != ""
}
