package testenv

import (
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
)

// WithTokenStore deploys the template with TokenStore=store
// (config.TokenStoreSecretsManager or config.TokenStoreDynamoDB).
func WithTokenStore(store string) Option { return WithParameter("TokenStore", store) }

// TokenStore is this test's token store as the functions' TOKEN_STORE,
// TOKENS_TABLE and key variables give it (both keys).
func (e *Env) TokenStore() config.TokenStore {
	ts := config.TokenStore{Store: e.Deployment.Vars["TokenStore"]}
	if ts.DynamoDB() {
		ts.Table = e.Tables["TokensTable"]
		ts.AccessKeyID = e.Deployment.KeyARNs["AccessTokenKey"]
		ts.RefreshKeyID = e.Deployment.KeyARNs["RefreshTokenKey"]
	}
	return ts
}

// Vault is this test's token store, with both keys.
func (e *Env) Vault() tokentable.Vault {
	return tokentable.Open(e.TokenStore(), e.Config, e.TokenSecretPrefix, 0)
}
