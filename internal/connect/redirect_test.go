package connect

import (
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestCallbackURL(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "abc123.execute-api.eu-west-1.amazonaws.com"}}
	if got := (&Handler{}).CallbackURL(req); got != "https://abc123.execute-api.eu-west-1.amazonaws.com/oauth/callback" {
		t.Errorf("from the request's domain: %q", got)
	}
	if got := (&Handler{PublicBaseURL: "https://api.example.com/"}).CallbackURL(req); got != "https://api.example.com/oauth/callback" {
		t.Errorf("from PublicBaseURL: %q", got)
	}
	if got := (&Handler{}).CallbackURL(events.APIGatewayV2HTTPRequest{}); got != "" {
		t.Errorf("from nothing: %q", got)
	}
}

func TestWithRedirect(t *testing.T) {
	fromSecret := &zoho.Config{ClientID: "c", RedirectURL: "https://registered.example/oauth/callback"}
	if c, err := withRedirect(fromSecret, "https://other.example/oauth/callback"); err != nil || c.RedirectURL != fromSecret.RedirectURL {
		t.Errorf("the secret's redirect_uri must win: %+v %v", c, err)
	}
	bare := &zoho.Config{ClientID: "c"}
	c, err := withRedirect(bare, "https://api.example.com/oauth/callback")
	if err != nil || c.RedirectURL != "https://api.example.com/oauth/callback" || c.ClientID != "c" {
		t.Errorf("from the request: %+v %v", c, err)
	}
	if bare.RedirectURL != "" {
		t.Error("the shared config was modified")
	}
	if _, err := withRedirect(bare, ""); !errors.Is(err, ErrNoRedirectURI) {
		t.Errorf("no redirect anywhere: %v", err)
	}
}
