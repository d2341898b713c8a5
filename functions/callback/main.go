// Command callback is the CallbackFunction: GET /connect and GET
// /oauth/callback. It only wires things together: the function's story
// starts at callbackfn.New, which builds the handler from the function's
// Config.
package main

import (
	"github.com/zohoconnect/zohoconnect/functions/callback/callbackfn"
	"github.com/zohoconnect/zohoconnect/internal/connect"
	"github.com/zohoconnect/zohoconnect/internal/lambdamain"
)

func main() {
	lambdamain.Run(lambdamain.Function[callbackfn.Config, *connect.Handler]{
		LoadConfig: callbackfn.LoadConfig,
		LogLevel:   func(c callbackfn.Config) string { return c.LogLevel },
		New:        callbackfn.New,
		Handler:    func(h *connect.Handler) any { return h.Handle },
	})
}
