// Package zohosimtest serves the Zoho simulator for a test, as httptest
// serves a handler. It is a package of its own so that the simulator
// (pkg/zoho/zohosim), which commands link, does not link testing.
package zohosimtest

import (
	"net/http/httptest"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho/zohosim"
)

// Start serves a new simulator on a local port until the test ends. The
// URL ("http://127.0.0.1:PORT") is the value for ZOHO_ENDPOINT_OVERRIDE.
func Start(tb testing.TB, opts zohosim.Options) (*zohosim.Server, string) {
	tb.Helper()
	s := zohosim.New(opts)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts.URL
}
