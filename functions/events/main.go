// Command events is the EventsFunction: the connections table's DynamoDB
// stream in, the product's events on the EventBridge bus out. It only
// wires things together: the function's story starts at eventsfn.New,
// which builds the handler from the function's Config.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/zohoconnect/zohoconnect/functions/events/eventsfn"
	"github.com/zohoconnect/zohoconnect/internal/logging"
)

func main() {
	cfg, err := eventsfn.LoadConfig()
	log := logging.New(os.Stdout, cfg.LogLevel)
	if err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK{Log: log}))
	if err != nil {
		log.Error("cannot start: AWS configuration", "err", err.Error())
		os.Exit(1)
	}
	h, err := eventsfn.New(cfg, awsCfg, log)
	if err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
