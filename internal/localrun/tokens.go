package localrun

import (
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
)

// Tokens is the bundle's token store (the template's TokenStore), as
// RefreshFunction's environment names it, with both keys.
func (b *Bundle) Tokens() (tokentable.Vault, error) {
	env, err := b.Deploy.FunctionEnvironment(b.Template, "RefreshFunction")
	if err != nil {
		return nil, err
	}
	ts := config.TokenStore{Store: env["TOKEN_STORE"], Table: env["TOKENS_TABLE"],
		AccessKeyID: env["ACCESS_TOKEN_KEY_ID"], RefreshKeyID: env["REFRESH_TOKEN_KEY_ID"]}
	return tokentable.Open(ts, b.AWS, env["TOKEN_SECRET_PREFIX"], 0), nil
}
