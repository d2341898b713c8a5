package awsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// SecretsManager is the part of the Secrets Manager client the vault uses.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// TokenVault keeps each connection's tokens in two secrets, so that IAM can
// let a function read access tokens without ever reaching refresh tokens:
// {prefix}access/{id} and {prefix}refresh/{id}.
type TokenVault struct {
	SM     SecretsManager
	Prefix string
	// WriteRate is WritesPerSecond's answer (SECRET_WRITES_PER_SECOND;
	// DefaultSecretWritesPerSecond when 0).
	WriteRate int
}

// DefaultSecretWritesPerSecond paces a refresh run's PutSecretValue calls:
// the account and region share 50 a second.
const DefaultSecretWritesPerSecond = 20

// WritesPerSecond is how fast a refresh run may write tokens to this
// store (refresh.NewPacer).
func (v *TokenVault) WritesPerSecond() int {
	if v.WriteRate > 0 {
		return v.WriteRate
	}
	return DefaultSecretWritesPerSecond
}

// AccessSecretName is the secret holding a connection's access token.
func (v *TokenVault) AccessSecretName(id string) string { return v.Prefix + "access/" + id }

// RefreshSecretName is the secret holding a connection's refresh token.
func (v *TokenVault) RefreshSecretName(id string) string { return v.Prefix + "refresh/" + id }

type refreshSecret struct {
	RefreshToken string `json:"refresh_token"`
}

// accessSecret is the access token secret's JSON, as written: from plain
// strings, since a connection.AccessToken marshals its token redacted. It
// decodes straight into a connection.AccessToken.
type accessSecret struct {
	AccessToken string    `json:"access_token"`
	APIDomain   string    `json:"api_domain"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PutAccessToken stores a new access token as the secret's current
// version. The previous version keeps the AWSPREVIOUS stage, and the token
// in it stays valid at Zoho until it expires, so a reader holding it is
// not cut off.
func (v *TokenVault) PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error {
	b, err := json.Marshal(accessSecret{AccessToken: t.Token.Reveal(), APIDomain: t.APIDomain, ExpiresAt: t.ExpiresAt})
	if err != nil {
		return err
	}
	return v.put(ctx, v.AccessSecretName(id), id, string(b))
}

// AccessToken reads a connection's current access token.
func (v *TokenVault) AccessToken(ctx context.Context, id string) (connection.AccessToken, error) {
	var t connection.AccessToken
	s, err := v.get(ctx, v.AccessSecretName(id))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return t, fmt.Errorf("access token secret of %s is not valid JSON", id)
	}
	return t, nil
}

// PutRefreshToken stores a connection's refresh token.
func (v *TokenVault) PutRefreshToken(ctx context.Context, id, refreshToken string) error {
	b, err := json.Marshal(refreshSecret{RefreshToken: refreshToken})
	if err != nil {
		return err
	}
	return v.put(ctx, v.RefreshSecretName(id), id, string(b))
}

// RefreshToken reads a connection's refresh token.
func (v *TokenVault) RefreshToken(ctx context.Context, id string) (string, error) {
	s, err := v.get(ctx, v.RefreshSecretName(id))
	if err != nil {
		return "", err
	}
	var r refreshSecret
	if err := json.Unmarshal([]byte(s), &r); err != nil || r.RefreshToken == "" {
		return "", fmt.Errorf("refresh token secret of %s is not valid", id)
	}
	return r.RefreshToken, nil
}

// Delete removes both secrets of a connection at once, without the
// recovery window: a disconnected connection's tokens are already revoked.
func (v *TokenVault) Delete(ctx context.Context, id string) error {
	for _, name := range []string{v.AccessSecretName(id), v.RefreshSecretName(id)} {
		_, err := v.SM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
		var nf *smtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("delete secret %s: %w", name, err)
		}
	}
	return nil
}

func (v *TokenVault) get(ctx context.Context, name string) (string, error) {
	out, err := v.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", connection.ErrNoToken
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return aws.ToString(out.SecretString), nil
}

// put writes a new version, creating the secret on first use. The request
// token is derived from the name and value, so a retried write of the same
// value makes no second version.
func (v *TokenVault) put(ctx context.Context, name, id, value string) error {
	sum := sha256.Sum256([]byte(name + "\x00" + value))
	token := hex.EncodeToString(sum[:])
	for range 2 {
		_, err := v.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(name), SecretString: aws.String(value), ClientRequestToken: aws.String(token),
		})
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			if err != nil {
				return fmt.Errorf("write secret %s: %w", name, err)
			}
			return nil
		}
		_, err = v.SM.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(value), ClientRequestToken: aws.String(token),
			Description: aws.String("Zoho CRM token of connection " + id),
			Tags:        []smtypes.Tag{{Key: aws.String("connection_id"), Value: aws.String(id)}},
		})
		var exists *smtypes.ResourceExistsException
		if errors.As(err, &exists) {
			continue // created by a concurrent writer: put a version on top
		}
		if err != nil {
			return fmt.Errorf("create secret %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("write secret %s: it kept appearing and disappearing", name)
}

// CachedSecret reads one secret lazily and keeps it for TTL, so that no
// network call happens at cold start and a rotated value is picked up.
type CachedSecret struct {
	SM  SecretsManager
	ID  string
	TTL time.Duration

	mu      sync.Mutex
	value   string
	fetched time.Time
}

// Value returns the secret's current value.
func (c *CachedSecret) Value(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value != "" && time.Since(c.fetched) < c.TTL {
		return c.value, nil
	}
	out, err := c.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.ID)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", c.ID, err)
	}
	c.value, c.fetched = aws.ToString(out.SecretString), time.Now()
	return c.value, nil
}

// ClientCredentials is the OAuth client's secret, as the README's deploy guide
// gives it. It is only ever decoded: its secrets are zoho.Secret values,
// which marshal redacted.
type ClientCredentials struct {
	ClientID      string                 `json:"client_id"`
	ClientSecret  zoho.Secret            `json:"client_secret"`
	RedirectURI   string                 `json:"redirect_uri"`
	ClientSecrets map[string]zoho.Secret `json:"client_secrets,omitempty"`
}

// ParseClientCredentials reads and checks the client secret's JSON. Its
// errors name the missing field, never a value. redirect_uri is optional:
// without it the callback derives it (connect.Handler.CallbackURL).
func ParseClientCredentials(s string) (ClientCredentials, error) {
	var c ClientCredentials
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, errors.New("the OAuth client secret is not valid JSON")
	}
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if c.ClientSecret == "" {
		missing = append(missing, "client_secret")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("the OAuth client secret lacks %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// SecretDescriber is the part of the Secrets Manager client that tells
// about a secret without reading its value.
type SecretDescriber interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

var _ SecretDescriber = (*secretsmanager.Client)(nil)

// SecretInfo is what an operator may know of a token secret: whether it
// exists and when it changed, never its value.
type SecretInfo struct {
	Kind        string // "access" or "refresh"
	Name        string
	Exists      bool
	LastChanged time.Time
	// DeletedAt is set when the secret is scheduled for deletion.
	DeletedAt time.Time
}

// TokenSecretInspector describes a connection's two token secrets.
type TokenSecretInspector struct {
	SM     SecretDescriber
	Prefix string
}

// Describe returns the access and the refresh secret of a connection.
func (i *TokenSecretInspector) Describe(ctx context.Context, id string) ([]SecretInfo, error) {
	v := TokenVault{Prefix: i.Prefix}
	out := []SecretInfo{{Kind: "access", Name: v.AccessSecretName(id)}, {Kind: "refresh", Name: v.RefreshSecretName(id)}}
	for k := range out {
		d, err := i.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(out[k].Name)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe secret %s: %w", out[k].Name, err)
		}
		out[k].Exists = true
		out[k].LastChanged = aws.ToTime(d.LastChangedDate)
		out[k].DeletedAt = aws.ToTime(d.DeletedDate)
	}
	return out, nil
}
