// Command sync is the SyncFunction: POST
// /connections/{connection_id}/submissions and the retries of the submission
// queue. It only wires things together: the function's story starts at
// syncfn.New, which builds the handler from the function's Config.
package main

import (
	"github.com/zohoconnect/zohoconnect/functions/sync/syncfn"
	"github.com/zohoconnect/zohoconnect/internal/lambdamain"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

func main() {
	lambdamain.Run(lambdamain.Function[syncfn.Config, *submission.Handler]{
		LoadConfig: syncfn.LoadConfig,
		LogLevel:   func(c syncfn.Config) string { return c.LogLevel },
		New:        syncfn.New,
		Handler:    func(h *submission.Handler) any { return h.Invoke },
	})
}
