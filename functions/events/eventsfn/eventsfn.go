// Package eventsfn builds the EventsFunction (the connections table's
// DynamoDB stream in, the product's events on the EventBridge bus out):
// its Config from the environment, the stream image decoder and the bus.
// The same builder serves Lambda (functions/events), the tests and local
// runs.
package eventsfn

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connectionitem"
	"github.com/zohoconnect/zohoconnect/internal/eventbus"
	"github.com/zohoconnect/zohoconnect/internal/productevents"
)

// Config is the events function's settings, from template.yaml.
type Config struct {
	EventBusName string
	LogLevel     string
}

// LoadConfig reads the settings from the environment.
func LoadConfig() (Config, error) {
	var r config.Reader
	c := Config{
		EventBusName: r.String("EVENT_BUS_NAME"),
		LogLevel:     r.Optional("LOG_LEVEL", "info"),
	}
	return c, r.Err()
}

// New builds the events function's handler.
func New(cfg Config, aws aws.Config, log *slog.Logger) (*productevents.Handler, error) {
	return &productevents.Handler{
		Decoder: connectionitem.StreamImages{},
		Bus:     &eventbus.Bus{API: eventbridge.NewFromConfig(aws), Name: cfg.EventBusName},
		Log:     log,
	}, nil
}
