// Package refreshfn builds the RefreshFunction (the scheduled token
// refresh, and one connection on demand for SyncFunction): its Config from
// the environment, its adapters (DynamoDB, Secrets Manager, Zoho's
// accounts servers) and the refresh handler. The same builder serves
// Lambda (functions/refresh), the tests and local runs.
package refreshfn

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
	"github.com/zohoconnect/zohoconnect/internal/refreshinvoke"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
)

var _ refresh.Connections = (*awsstore.ConnectionStore)(nil)
var _ refresh.TokenVault = (*awsstore.TokenVault)(nil)
var _ refresh.Workers = (*refreshinvoke.Client)(nil)

// New builds the refresh function's handler.
func New(cfg Config, aws aws.Config, log *slog.Logger) (*refresh.Handler, error) {
	hc, err := oauthclient.HTTPClient(cfg.EndpointOverride, log)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(aws)
	sm := secretsmanager.NewFromConfig(aws)
	// The pacer follows the store in use: PutSecretValue's shared quota,
	// or the tokens table's (tokentable.DefaultWritesPerSecond), split
	// among the shard workers when they run in processes of their own.
	vault := tokentable.Open(cfg.Tokens, aws, cfg.TokenSecretPrefix, cfg.SecretWritesPerSecond)
	if s, ok := vault.(*tokentable.Store); ok {
		s.Reseal = true // the refresh tokens converge on this instance's data key
	}
	rate, workers := float64(vault.WritesPerSecond()), cfg.Workers
	var starter refresh.Workers
	if cfg.FunctionName != "" {
		starter = &refreshinvoke.Client{Lambda: lambda.NewFromConfig(aws), FunctionName: cfg.FunctionName}
		rate, workers = refresh.WorkerShare(rate, workers, refresh.MaxWriteWait)
	}
	svc := &refresh.Service{
		Connections: awsstore.NewConnectionStore(db, cfg.ConnectionsTable),
		Tokens:      vault,
		Revocation:  vault,
		OAuth: &oauthclient.Source{
			Secret: &awsstore.CachedSecret{SM: sm, ID: cfg.ClientSecretID, TTL: oauthclient.SecretCacheTTL},
			HTTP:   hc,
		},
		Limiter:                refresh.NewPacerRate(rate),
		Log:                    log,
		Stage:                  cfg.Stage,
		Window:                 cfg.Window,
		Workers:                workers,
		Lease:                  cfg.Lease,
		MaxConsecutiveFailures: cfg.MaxConsecutiveFailures,
		IdleAfter:              cfg.IdleAfter,
	}
	return &refresh.Handler{Service: svc, Log: log, Workers: starter}, nil
}
