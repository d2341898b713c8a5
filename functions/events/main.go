// Command events is the EventsFunction: the connections table's DynamoDB
// stream in, the product's events on the EventBridge bus out. It only wires
// things together: the function's story starts at eventsfn.New,
// which builds the handler from the function's Config.
package main

import (
	"github.com/zohoconnect/zohoconnect/functions/events/eventsfn"
	"github.com/zohoconnect/zohoconnect/internal/lambdamain"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
)

func main() {
	lambdamain.Run(lambdamain.Function[eventsfn.Config, *productevents.Handler]{
		LoadConfig: eventsfn.LoadConfig,
		LogLevel:   func(c eventsfn.Config) string { return c.LogLevel },
		New:        eventsfn.New,
		Handler:    func(h *productevents.Handler) any { return h.Handle },
	})
}
