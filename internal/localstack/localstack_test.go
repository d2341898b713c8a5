package localstack

import (
	"strings"
	"testing"
)

func TestEndpointsFromEnv(t *testing.T) {
	cases := []struct {
		name, ddb, sm, sqs, events, wantErr string
		kms                                 string // "" is moto's loopback address; "unset" unsets it
	}{
		{"unset", "", "", "", "", "run `make test`", ""},
		{"remote", "https://dynamodb.us-east-1.amazonaws.com", "http://127.0.0.1:2", "http://127.0.0.1:2", "http://127.0.0.1:2", "not a loopback", ""},
		{"remote bus", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:2", "https://events.us-east-1.amazonaws.com", "not a loopback", ""},
		{"no bus", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:2", "", EnvEventBridge + " is not set", ""},
		{"not a url", "127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:2", "http://127.0.0.1:2", "not a URL", ""},
		{"local", "http://127.0.0.1:1", "http://localhost:2", "http://[::1]:2", "http://127.0.0.1:2", "", ""},
		{"no KMS", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:2", "http://127.0.0.1:2", EnvKMS + " is not set", "unset"},
		{"remote KMS", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:2", "http://127.0.0.1:2", "not a loopback", "https://kms.us-east-1.amazonaws.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvDynamoDB, c.ddb)
			t.Setenv(EnvSecretsManager, c.sm)
			t.Setenv(EnvSQS, c.sqs)
			t.Setenv(EnvEventBridge, c.events)
			switch c.kms {
			case "":
				t.Setenv(EnvKMS, "http://127.0.0.1:2")
			case "unset":
				t.Setenv(EnvKMS, "")
			default:
				t.Setenv(EnvKMS, c.kms)
			}
			t.Setenv("AWS_REGION", "")
			e, err := EndpointsFromEnv()
			if c.wantErr == "" {
				if err != nil || e.Region != "us-east-1" {
					t.Fatalf("EndpointsFromEnv = %+v, %v", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestTemplateFound(t *testing.T) {
	tpl, err := Template()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tpl.Table("ConnectionsTable"); !ok {
		t.Fatal("template has no ConnectionsTable")
	}
}
