// Command productapi is the ProductApiFunction: the product API (connect sessions,
// connections, submission keys) for the product's backend. It only wires
// things together: the function's story starts at productapifn.New, which builds
// the handler from the function's Config.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/zohoconnect/zohoconnect/functions/productapi/productapifn"
	"github.com/zohoconnect/zohoconnect/internal/logging"
)

func main() {
	cfg, err := productapifn.LoadConfig()
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
	h, err := productapifn.New(cfg, awsCfg, log)
	if err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
