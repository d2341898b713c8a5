// Command productapi is the ProductApiFunction: the product API (connect sessions,
// connections, submission keys) for the product's backend. It only wires
// things together: the function's story starts at productapifn.New, which builds
// the handler from the function's Config.
package main

import (
	"github.com/zohoconnect/zohoconnect/functions/productapi/productapifn"
	"github.com/zohoconnect/zohoconnect/internal/lambdamain"
	"github.com/zohoconnect/zohoconnect/internal/product"
)

func main() {
	lambdamain.Run(lambdamain.Function[productapifn.Config, *product.Handler]{
		LoadConfig: productapifn.LoadConfig,
		LogLevel:   func(c productapifn.Config) string { return c.LogLevel },
		New:        productapifn.New,
		Handler:    func(h *product.Handler) any { return h.Handle },
	})
}
