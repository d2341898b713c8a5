package tokentable

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Vault is a token store, either one: every use case's view of it
// (storetest.TokenVault) and the pace of its writes.
type Vault interface {
	PutAccessToken(ctx context.Context, id string, t connection.AccessToken) error
	AccessToken(ctx context.Context, id string) (connection.AccessToken, error)
	PutRefreshToken(ctx context.Context, id, refreshToken string) error
	RefreshToken(ctx context.Context, id string) (string, error)
	ReplacedRefreshToken(ctx context.Context, id string) (string, error)
	Delete(ctx context.Context, id string) error
	// WritesPerSecond paces a refresh run's token writes in this store.
	WritesPerSecond() int
}

var (
	_ Vault = (*Store)(nil)
	_ Vault = (*awsstore.TokenVault)(nil)
)

// Open builds the store a function's TokenStore names, with clients from
// cfg: Secrets Manager under secretPrefix (paced at secretWrites a
// second), or the tokens table with a Sealer per key it is given (no
// refresh key: no refresh token can be read or written through it).
func Open(ts config.TokenStore, cfg aws.Config, secretPrefix string, secretWrites int) Vault {
	if !ts.DynamoDB() {
		return &awsstore.TokenVault{SM: secretsmanager.NewFromConfig(cfg), Prefix: secretPrefix, WriteRate: secretWrites}
	}
	return New(ts, dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg))
}

// New is the DynamoDB store of ts on these clients.
func New(ts config.TokenStore, db DynamoDB, k KMS) *Store {
	s := &Store{DB: db, Table: ts.Table, Access: &Sealer{KMS: k, KeyID: ts.AccessKeyID, Kind: KindAccess}}
	if ts.RefreshKeyID != "" {
		s.Refresh = &Sealer{KMS: k, KeyID: ts.RefreshKeyID, Kind: KindRefresh}
	}
	return s
}
