// Command localstack creates template.yaml's tables (with their indexes and
// streams), secrets, queues, event bus and, with -token-store DynamoDB,
// KMS keys (moto's KMS) in the local services (DynamoDB
// Local and moto, see scripts/localstack.sh), named <prefix>-<LogicalId>,
// and prints the environment each function would get in AWS, pointing at
// them. Running it again reuses what exists.
//
//	. .cache/localstack.env
//	go run ./cmd/localstack -prefix dev -client-secret "$(cat client.json)"
//	go run ./cmd/localstack -prefix dev -format sam > .cache/env.json   # sam local invoke --env-vars
//	go run ./cmd/localstack -prefix dev -token-store DynamoDB   # the tokens table and KMS keys too
//	go run ./cmd/localstack -prefix dev -delete
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

const defaultClientSecret = `{"client_id":"1000.LOCALCLIENT","client_secret":"local-client-secret","redirect_uri":"http://127.0.0.1:3000/oauth/callback"}`

type options struct {
	template       string
	dynamodb       string
	secretsManager string
	sqs            string
	eventBridge    string
	kms            string
	tokenStore     string
	region         string
	prefix         string
	stage          string
	clientSecret   string
	zohoEndpoint   string
	format         string
	function       string
	queues         bool
	delete         bool
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("localstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.template, "template", "template.yaml", "the SAM template")
	fs.StringVar(&o.dynamodb, "dynamodb-endpoint", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), "DynamoDB Local's URL")
	fs.StringVar(&o.secretsManager, "secretsmanager-endpoint", os.Getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"), "Secrets Manager (moto) URL")
	fs.StringVar(&o.sqs, "sqs-endpoint", os.Getenv("AWS_ENDPOINT_URL_SQS"), "SQS (moto) URL")
	fs.StringVar(&o.eventBridge, "eventbridge-endpoint", os.Getenv("AWS_ENDPOINT_URL_EVENTBRIDGE"), "EventBridge (moto) URL")
	fs.StringVar(&o.kms, "kms-endpoint", os.Getenv("AWS_ENDPOINT_URL_KMS"), "KMS (moto) URL: the template's keys, with -token-store DynamoDB")
	fs.StringVar(&o.tokenStore, "token-store", "SecretsManager", "the template's TokenStore: SecretsManager, or DynamoDB (the tokens table and the two KMS keys too)")
	fs.StringVar(&o.region, "region", envOr("AWS_REGION", "us-east-1"), "region")
	fs.StringVar(&o.prefix, "prefix", "local", "resources are named <prefix>-<LogicalId>")
	fs.StringVar(&o.stage, "stage", "dev", "the template's Stage parameter (names TOKEN_SECRET_PREFIX)")
	fs.StringVar(&o.clientSecret, "client-secret", defaultClientSecret, "the OAuth client secret's JSON value")
	fs.StringVar(&o.zohoEndpoint, "zoho-endpoint", "", "ZOHO_ENDPOINT_OVERRIDE for the functions (the Zoho simulator's URL)")
	fs.StringVar(&o.format, "format", "env", "output: env (NAME=value lines) or sam (JSON for sam local invoke --env-vars)")
	fs.StringVar(&o.function, "function", "", "print only this function's environment (env format)")
	fs.BoolVar(&o.queues, "queues", true, "create the template's queues too")
	fs.BoolVar(&o.delete, "delete", false, "delete what this prefix names instead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.format != "env" && o.format != "sam" {
		return fmt.Errorf("-format %q: want env or sam", o.format)
	}
	if o.tokenStore != "SecretsManager" && o.tokenStore != "DynamoDB" {
		return fmt.Errorf("-token-store %q: want SecretsManager or DynamoDB", o.tokenStore)
	}
	if o.tokenStore == "DynamoDB" || o.delete {
		if err := checkLocal("-kms-endpoint", o.kms); err != nil {
			return err
		}
	}
	if !json.Valid([]byte(o.clientSecret)) {
		return errors.New("-client-secret is not JSON")
	}
	for name, v := range map[string]string{"-dynamodb-endpoint": o.dynamodb, "-secretsmanager-endpoint": o.secretsManager, "-sqs-endpoint": o.sqs, "-eventbridge-endpoint": o.eventBridge} {
		if err := checkLocal(name, v); err != nil {
			return err
		}
	}

	tpl, err := samtemplate.Load(o.template)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(o.region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		return err
	}
	local := samtemplate.Local{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(c *dynamodb.Options) {
			c.BaseEndpoint = aws.String(o.dynamodb)
			// DynamoDB Local's error responses carry a wrong x-amz-crc32.
			c.DisableValidateResponseChecksum = true
		}),
		SecretsManager: secretsmanager.NewFromConfig(cfg, func(c *secretsmanager.Options) { c.BaseEndpoint = aws.String(o.secretsManager) }),
		SQS:            sqs.NewFromConfig(cfg, func(c *sqs.Options) { c.BaseEndpoint = aws.String(o.sqs) }),
		EventBridge:    eventbridge.NewFromConfig(cfg, func(c *eventbridge.Options) { c.BaseEndpoint = aws.String(o.eventBridge) }),
	}
	var keys *kms.Client
	if o.kms != "" {
		keys = kms.NewFromConfig(cfg, func(c *kms.Options) { c.BaseEndpoint = aws.String(o.kms) })
		local.KMS = keys
	}

	if o.delete {
		return deleteAll(ctx, local, keys, tpl, o.prefix, stderr)
	}

	vars := map[string]string{
		"Stage":                o.stage,
		"AWS::Region":          o.region,
		"AWS::StackName":       "zohoconnect-" + o.prefix,
		"ZohoEndpointOverride": o.zohoEndpoint,
		"HttpApi":              "local",
		"TokenStore":           o.tokenStore,
	}
	// A key has no name to find it by: Deploy describes it
	// <prefix>-<LogicalId>, so a run again reuses the enabled key so
	// described (tokens sealed under it stay readable) instead of making
	// another.
	if keys != nil {
		found, err := findKeys(ctx, keys, tpl, o.prefix, kmstypes.KeyStateEnabled)
		if err != nil {
			return err
		}
		local.KMS = reusingKMS{Client: keys, existing: found}
	}
	d, err := local.Deploy(ctx, tpl, samtemplate.DeployOptions{
		Prefix:        o.prefix,
		Vars:          vars,
		SecretStrings: map[string]string{"ZohoClientSecret": o.clientSecret},
		Queues:        o.queues,
		Reuse:         true,
	})
	if err != nil {
		return err
	}

	envs := map[string]map[string]string{}
	for _, fn := range tpl.Functions {
		if o.function != "" && fn.LogicalID != o.function {
			continue
		}
		env, err := d.FunctionEnvironment(tpl, fn.LogicalID)
		if err != nil {
			return fmt.Errorf("%w (without -queues, SUBMISSION_QUEUE_URL cannot be resolved)", err)
		}
		envs[fn.LogicalID] = env
	}
	if o.function != "" && len(envs) == 0 {
		return fmt.Errorf("-function %s: no such function in %s", o.function, o.template)
	}
	fmt.Fprintf(stderr, "localstack: %d tables, %d secrets, %d queues, %d event buses, %d KMS keys ready under prefix %q\n",
		len(d.Tables), len(d.Secrets), len(d.Queues), len(d.EventBuses), len(d.Keys), o.prefix)

	if o.format == "sam" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(envs)
	}
	// One set of NAME=value lines: a variable means the same in every
	// function, so the union is what any of them needs.
	union := map[string]string{}
	for _, env := range envs {
		for k, v := range env {
			union[k] = v
		}
	}
	names := make([]string, 0, len(union))
	for k := range union {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(stdout, "%s=%s\n", k, shellQuote(union[k]))
	}
	return nil
}

// reusingKMS answers CreateKey with the key a run before made under the
// same description, when there is one.
type reusingKMS struct {
	*kms.Client
	existing map[string]kmstypes.KeyMetadata // description → key
}

func (r reusingKMS) CreateKey(ctx context.Context, in *kms.CreateKeyInput, opts ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	if k, ok := r.existing[aws.ToString(in.Description)]; ok {
		return &kms.CreateKeyOutput{KeyMetadata: &k}, nil
	}
	return r.Client.CreateKey(ctx, in, opts...)
}

// findKeys finds the template's keys a run made under prefix (described
// <prefix>-<LogicalId>) in one of the states, by description.
func findKeys(ctx context.Context, keys *kms.Client, tpl *samtemplate.Template, prefix string, states ...kmstypes.KeyState) (map[string]kmstypes.KeyMetadata, error) {
	want := map[string]bool{}
	for _, k := range tpl.Keys {
		want[prefix+"-"+k.LogicalID] = true
	}
	out := map[string]kmstypes.KeyMetadata{}
	if len(want) == 0 {
		return out, nil
	}
	p := kms.NewListKeysPaginator(keys, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list KMS keys: %w", err)
		}
		for _, e := range page.Keys {
			d, err := keys.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: e.KeyId})
			if err != nil {
				return nil, fmt.Errorf("describe KMS key %s: %w", aws.ToString(e.KeyId), err)
			}
			m := *d.KeyMetadata
			if desc := aws.ToString(m.Description); want[desc] && slices.Contains(states, m.KeyState) {
				out[desc] = m
			}
		}
	}
	return out, nil
}

func deleteAll(ctx context.Context, local samtemplate.Local, keys *kms.Client, tpl *samtemplate.Template, prefix string, stderr io.Writer) error {
	d := &samtemplate.Deployment{Tables: map[string]string{}, Secrets: map[string]string{}, Queues: map[string]string{}, EventBuses: map[string]string{}, Keys: map[string]string{}}
	found, err := findKeys(ctx, keys, tpl, prefix, kmstypes.KeyStateEnabled, kmstypes.KeyStateDisabled)
	if err != nil {
		return err
	}
	for _, k := range tpl.Keys {
		if m, ok := found[prefix+"-"+k.LogicalID]; ok {
			d.Keys[k.LogicalID] = aws.ToString(m.KeyId)
		}
	}
	for _, t := range tpl.Tables {
		d.Tables[t.LogicalID] = prefix + "-" + t.LogicalID
	}
	for _, s := range tpl.Secrets {
		d.Secrets[s.LogicalID] = prefix + "-" + s.LogicalID
	}
	for _, b := range tpl.EventBuses {
		d.EventBuses[b.LogicalID] = prefix + "-" + b.LogicalID
	}
	for _, q := range tpl.Queues {
		out, err := local.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(prefix + "-" + q.LogicalID)})
		if err == nil {
			d.Queues[q.LogicalID] = aws.ToString(out.QueueUrl)
		}
	}
	err = local.Teardown(ctx, d)
	fmt.Fprintf(stderr, "localstack: deleted what prefix %q names (%d KMS keys scheduled for deletion)\n", prefix, len(d.Keys))
	return err
}

func checkLocal(flagName, v string) error {
	if v == "" {
		return fmt.Errorf("%s is empty: start the stack (scripts/localstack.sh start) and source .cache/localstack.env", flagName)
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%s %q is not a URL", flagName, v)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s %q is not a loopback address: this command only sets up local services", flagName, v)
	}
	return nil
}

func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@+%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
