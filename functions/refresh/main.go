// Command refresh is the RefreshFunction: the scheduled token refresh, and
// one connection on demand for SyncFunction. It only wires things together:
// the function's story starts at refreshfn.New, which builds the handler
// from the function's Config.
package main

import (
	"github.com/zohoconnect/zohoconnect/functions/refresh/refreshfn"
	"github.com/zohoconnect/zohoconnect/internal/lambdamain"
	"github.com/zohoconnect/zohoconnect/internal/refresh"
)

func main() {
	lambdamain.Run(lambdamain.Function[refreshfn.Config, *refresh.Handler]{
		LoadConfig: refreshfn.LoadConfig,
		LogLevel:   func(c refreshfn.Config) string { return c.LogLevel },
		New:        refreshfn.New,
		Handler:    func(h *refresh.Handler) any { return h.Handle },
	})
}
