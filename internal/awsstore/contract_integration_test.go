//go:build integration

package awsstore_test

import (
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/storetest"
	"github.com/zohoconnect/zohoconnect/internal/testenv"
)

// The adapters pass the contracts the fakes the unit tests use pass
// (internal/connection/connectiontest), each on fresh tables and secrets
// made from template.yaml.

var _ storetest.ConnectionsTable = (*awsstore.ConnectionStore)(nil)

func TestConnectionsContract(t *testing.T) {
	storetest.RunConnectionsContract(t, func(t *testing.T) storetest.ConnectionsTable {
		env := testenv.New(t)
		return awsstore.NewConnectionStore(env.DynamoDB, env.Tables["ConnectionsTable"])
	})
}

func TestStatesContract(t *testing.T) {
	storetest.RunStatesContract(t, func(t *testing.T) connect.StateStore {
		env := testenv.New(t)
		return &awsstore.StateStore{DB: env.DynamoDB, Table: env.Tables["StatesTable"]}
	})
}

func TestTokenVaultContract(t *testing.T) {
	storetest.RunTokenVaultContract(t, func(t *testing.T) storetest.TokenVault {
		env := testenv.New(t)
		return &awsstore.TokenVault{SM: env.SecretsManager, Prefix: env.TokenSecretPrefix}
	})
}

func TestSessionsContract(t *testing.T) {
	storetest.RunSessionsContract(t, func(t *testing.T) storetest.SessionsTable {
		env := testenv.New(t)
		return &awsstore.SessionStore{DB: env.DynamoDB, Table: env.Tables["SessionsTable"]}
	})
}
