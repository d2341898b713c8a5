// Package lambdamain is what every function's main does, in one place:
// read the function's Config from the environment, make the JSON logger at
// its level, load the AWS configuration (the SDK's own log lines through
// that logger), build the handler, and serve Lambda. Nothing calls the
// network before the first invocation. A failure at start is one JSON line
// naming what is wrong, and exit status 1.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/zohoconnect/zohoconnect/internal/logging"
)

// Function is one function's start: how to read its Config, its log level,
// how to build its handler, and which of the handler's methods Lambda
// calls.
type Function[C, H any] struct {
	LoadConfig func() (C, error)
	LogLevel   func(C) string
	New        func(C, aws.Config, *slog.Logger) (H, error)
	Handler    func(H) any
}

// Run starts f and serves Lambda; it returns only when the start fails.
func Run[C, H any](f Function[C, H]) {
	cfg, err := f.LoadConfig()
	log := logging.New(os.Stdout, f.LogLevel(cfg))
	if err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK{Log: log}))
	if err != nil {
		log.Error("cannot start: AWS configuration", "err", err.Error())
		os.Exit(1)
	}
	h, err := f.New(cfg, awsCfg, log)
	if err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(f.Handler(h))
}
