package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// The variables the command reads, as the functions have them.
const (
	envConnectionsTable = "CONNECTIONS_TABLE"
	envTokenPrefix      = "TOKEN_SECRET_PREFIX"
	envClientSecret     = "ZOHO_CLIENT_SECRET_ID"
	envKeySecret        = "SUBMISSION_KEY_SECRET_ID"
	envSubmissionQueue  = "SUBMISSION_QUEUE_URL"
	envDeadLetterQueue  = "DEAD_LETTER_QUEUE_URL"
	envIdempotency      = "IDEMPOTENCY_TABLE"
	envZohoOverride     = "ZOHO_ENDPOINT_OVERRIDE"
	// The token store the functions use, and the DynamoDB store's names.
	envTokenStore      = "TOKEN_STORE"
	envTokensTable     = "TOKENS_TABLE"
	envAccessTokenKey  = "ACCESS_TOKEN_KEY_ID"
	envRefreshTokenKey = "REFRESH_TOKEN_KEY_ID"
)

// stackOutputs names the stack Output that holds each variable's value.
var stackOutputs = map[string]string{
	envConnectionsTable: "ConnectionsTableName",
	envTokenPrefix:      "TokenSecretPrefix",
	envClientSecret:     "ZohoClientSecretArn",
	envKeySecret:        "SubmissionKeySecretArn",
	envSubmissionQueue:  "SubmissionQueueUrl",
	envDeadLetterQueue:  "SubmissionDeadLetterQueueUrl",
	envIdempotency:      "IdempotencyTableName",
	envTokenStore:       "TokenStore",
	envTokensTable:      "TokensTableName",
	envAccessTokenKey:   "AccessTokenKeyArn",
	envRefreshTokenKey:  "RefreshTokenKeyArn",
}

// settings are the resolved values of the variables a command asked for.
type settings map[string]string

// settings resolves the named variables. With a stack, its Outputs give
// them and the environment fills only what the stack lacks (so a shell
// with a local stack's variables cannot steer a command meant for a
// deployed stack); without one, the environment gives them. The required
// ones that stay empty are one usage error naming each.
func (c *cli) settings(ctx context.Context, cmd *command, required, optional []string) (settings, error) {
	s := settings{}
	var outputs map[string]string
	if c.stack != "" {
		var err error
		if outputs, err = c.stackValues(ctx); err != nil {
			return nil, err
		}
	}
	var missing []string
	var fromEnv []string
	for i, n := range append(append([]string(nil), required...), optional...) {
		if v := outputs[stackOutputs[n]]; v != "" && c.stack != "" {
			s[n] = v
		} else if v := strings.TrimSpace(c.getenv(n)); v != "" {
			s[n] = v
			if c.stack != "" {
				fromEnv = append(fromEnv, n)
			}
		} else if i < len(required) {
			missing = append(missing, n)
		}
	}
	for _, n := range fromEnv {
		fmt.Fprintf(c.stderr, "%s: stack %s has no Output %s; using %s from the environment\n", name, c.stack, stackOutputs[n], n)
	}
	if len(missing) == 0 {
		return s, nil
	}
	var why []string
	for _, n := range missing {
		switch {
		case c.stack != "" && stackOutputs[n] != "":
			why = append(why, fmt.Sprintf("%s is not set and stack %s has no Output %s", n, c.stack, stackOutputs[n]))
		default:
			why = append(why, n+" is not set")
		}
	}
	hint := " (set the functions' variables, e.g. from `go run ./cmd/localstack`, or pass -stack NAME)"
	if c.stack != "" {
		hint = ""
	}
	return nil, usagef(cmd, "%s%s", strings.Join(why, "; "), hint)
}

// awsConfig loads the AWS configuration once.
func (c *cli) awsConfig(ctx context.Context) (aws.Config, error) {
	if c.aws != nil {
		return *c.aws, nil
	}
	cfg, err := c.loadAWS(ctx)
	if err != nil {
		return cfg, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return cfg, usagef(nil, "no AWS region: set AWS_REGION, or AWS_PROFILE to a profile with a region")
	}
	c.aws = &cfg
	return cfg, nil
}

func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}

func (c *cli) stackValues(ctx context.Context) (map[string]string, error) {
	if c.stackV != nil {
		return c.stackV, nil
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.stackOutputs(ctx, cfg, c.stack)
	if err != nil {
		return nil, err
	}
	c.stackV = out
	return out, nil
}

// CloudFormation is the part of the client -stack uses.
type CloudFormation interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

func describeStackOutputs(ctx context.Context, cfg aws.Config, stack string) (map[string]string, error) {
	return stackOutputValues(ctx, cloudformation.NewFromConfig(cfg), stack)
}

// stackOutputValues reads a stack's Outputs by key.
func stackOutputValues(ctx context.Context, cf CloudFormation, stack string) (map[string]string, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return nil, usagef(nil, "stack %s does not exist in this account and region", stack)
	}
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, usagef(nil, "stack %s does not exist in this account and region", stack)
	}
	values := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		values[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return values, nil
}
