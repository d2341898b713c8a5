package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
)

// tokenStoreSettings name the store the functions use; connections
// disconnect reads and deletes tokens there.
var tokenStoreSettings = []string{envTokenStore, envTokensTable, envAccessTokenKey, envRefreshTokenKey}

func tokenStoreOf(s settings) config.TokenStore {
	return config.TokenStore{Store: config.TokenStoreDynamoDB, Table: s[envTokensTable],
		AccessKeyID: s[envAccessTokenKey], RefreshKeyID: s[envRefreshTokenKey]}
}

var cmdTokensMigrate = &command{
	group: "tokens", name: "migrate",
	args:    "-to DynamoDB|SecretsManager [-delete-old] [-yes]",
	summary: "Copy every connection's tokens into the other token store, under each connection's refresh lease; resumable.",
	help: `Copies each connection's refresh and access token from the store it is not
-to into the one it is: Secrets Manager (TOKEN_SECRET_PREFIX) or the DynamoDB
store (TOKENS_TABLE, sealed under ACCESS_TOKEN_KEY_ID and REFRESH_TOKEN_KEY_ID;
with -stack, the outputs TokensTableName, AccessTokenKeyArn and
RefreshTokenKeyArn, which exist while TokenStore=DynamoDB or
KeepDynamoDBTokenStore=true). Prints one line per connection (n/total).

Each connection is copied holding its refresh lease, as a reconnect does, so
no refresh writes meanwhile; a token the target already holds newer (a
refresh token written there later, an access token expiring later) is kept.
So it may be run again at any time: a run that stopped midway is finished by
the next, and nothing is lost or overwritten by a stale copy.

-delete-old then deletes the connection's tokens from the old store, once
they read back from the new one (asks for confirmation unless -yes). To move
a stage: deploy with KeepDynamoDBTokenStore=true, run migrate -to DynamoDB,
deploy with TokenStore=DynamoDB, run migrate -to DynamoDB again (what was
refreshed during the switch), then migrate -to DynamoDB -delete-old.`,
	needs: []string{envConnectionsTable, envTokenPrefix, envTokensTable, envAccessTokenKey, envRefreshTokenKey},
	run:   runTokensMigrate,
}

func runTokensMigrate(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	to := fs.String("to", "", "the store to copy into: `DynamoDB` or SecretsManager")
	deleteOld := fs.Bool("delete-old", false, "delete the old store's tokens once the copy reads back")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	if *to != config.TokenStoreDynamoDB && *to != config.TokenStoreSecretsManager {
		return usagef(cmd, "-to must be DynamoDB or SecretsManager, not %q", *to)
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	s, err := c.settings(ctx, cmd, cmd.needs, nil)
	if err != nil {
		return err
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return err
	}
	secrets := &awsstore.TokenVault{SM: secretsmanager.NewFromConfig(cfg), Prefix: s[envTokenPrefix]}
	table := tokentable.New(tokenStoreOf(s), dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg))
	m := admin.Migration{From: secrets, To: table, Leases: awsstore.NewConnectionStore(dynamodb.NewFromConfig(cfg), s[envConnectionsTable]), DeleteOld: *deleteOld}
	from := config.TokenStoreSecretsManager
	if *to == config.TokenStoreSecretsManager {
		m.From, m.To, from = table, secrets, config.TokenStoreDynamoDB
	}
	if *deleteOld && !*yes {
		if err := c.confirm(cmd, fmt.Sprintf("Delete every connection's tokens from %s once they read back from %s?", from, *to)); err != nil {
			return err
		}
	}
	m.Progress = func(n, total int, id string, r admin.ConnectionMigrated) {
		var what []string
		switch {
		case r.Err != nil:
			what = append(what, "FAILED: "+r.Err.Error())
		case r.Empty:
			what = append(what, "no tokens in "+from)
		default:
			if r.RefreshCopied {
				what = append(what, "refresh token copied")
			}
			if r.AccessCopied {
				what = append(what, "access token copied")
			}
			if !r.RefreshCopied && !r.AccessCopied {
				what = append(what, "up to date")
			}
			for _, k := range r.Kept {
				what = append(what, "kept the newer "+k+" token of "+*to)
			}
			if r.Deleted {
				what = append(what, "deleted from "+from)
			}
		}
		fmt.Fprintf(c.stdout, "tokens migrate: %d/%d %s: %s\n", n, total, id, strings.Join(what, ", "))
	}
	res, err := svc.MigrateTokens(ctx, m)
	fmt.Fprintf(c.stdout, "tokens migrate: %d connections: %d copied, %d up to date, %d without tokens, %d deleted from %s, %d failed\n",
		res.Total, res.Copied, res.UpToDate, res.Empty, res.Deleted, from, res.Failed)
	return err
}
