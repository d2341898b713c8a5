// Command echo is a tiny Lambda function for lambdarun's own test: it
// answers what it was sent with some of its environment, fails or sleeps
// on request, and logs one line per invocation.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Echo    string `json:"echo"`
	Fail    string `json:"fail"`
	SleepMS int    `json:"sleep_ms"`
}

func main() {
	if os.Getenv("ECHO_EXIT_AT_INIT") != "" { // as a function whose configuration is missing
		fmt.Println(`{"level":"ERROR","msg":"cannot start"}`)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var r request
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		fmt.Printf("{\"msg\":\"echo invoked\",\"echo\":%q}\n", r.Echo)
		if r.SleepMS > 0 {
			// Sleeps past its deadline on purpose, ignoring ctx: the
			// emulator's timeout must end it, not the function's own
			// return racing the deadline.
			time.Sleep(time.Duration(r.SleepMS) * time.Millisecond)
		}
		if r.Fail != "" {
			return nil, errors.New(r.Fail)
		}
		_, home := os.LookupEnv("HOME")
		return map[string]any{
			"echo":          r.Echo,
			"table":         os.Getenv("CONNECTIONS_TABLE"),
			"function_name": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			"memory":        os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
			"home_set":      home,
		}, nil
	})
}
