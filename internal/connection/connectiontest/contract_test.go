package connectiontest_test

import (
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/connection/connectiontest"
	"github.com/zohoconnect/zohoconnect/internal/storetest"
)

// The fakes the use cases' unit tests use pass the contracts the AWS
// adapters pass (internal/awsstore, contract_integration_test.go).

var (
	_ storetest.ConnectionsTable = (*connectiontest.Connections)(nil)
	_ connect.StateStore         = (*connectiontest.States)(nil)
	_ storetest.TokenVault       = (*connectiontest.Vault)(nil)
)

func TestConnectionsContract(t *testing.T) {
	storetest.RunConnectionsContract(t, func(*testing.T) storetest.ConnectionsTable { return connectiontest.NewConnections() })
}

func TestStatesContract(t *testing.T) {
	storetest.RunStatesContract(t, func(*testing.T) connect.StateStore { return connectiontest.NewStates() })
}

func TestTokenVaultContract(t *testing.T) {
	storetest.RunTokenVaultContract(t, func(*testing.T) storetest.TokenVault { return connectiontest.NewVault() })
}

func TestSessionsContract(t *testing.T) {
	storetest.RunSessionsContract(t, func(*testing.T) storetest.SessionsTable { return connectiontest.NewSessions() })
}
