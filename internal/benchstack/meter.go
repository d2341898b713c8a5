package benchstack

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// The kinds of host a Meter times apart.
const (
	AWS     = "aws"
	Zoho    = "zoho"
	Captcha = "captcha"
)

// Counts is what a Meter counted: AWS operations by "Service Operation",
// and the time waited on, and the round trips to, each kind of host.
type Counts struct {
	Ops   map[string]int
	Wait  map[string]time.Duration
	Trips map[string]int
}

func newCounts() Counts {
	return Counts{Ops: map[string]int{}, Wait: map[string]time.Duration{}, Trips: map[string]int{}}
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	for k, v := range o.Ops {
		c.Ops[k] += v
	}
	for k, v := range o.Wait {
		c.Wait[k] += v
	}
	for k, v := range o.Trips {
		c.Trips[k] += v
	}
}

// WaitAll is the time waited on every kind of host.
func (c Counts) WaitAll() time.Duration {
	var d time.Duration
	for _, v := range c.Wait {
		d += v
	}
	return d
}

// OpsPer lists the AWS operations per one of n (a submission, a post), in
// order: " DynamoDB GetItem 1.00; ...;".
func (c Counts) OpsPer(n int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.Ops)) {
		fmt.Fprintf(&b, " %s %.2f;", k, float64(c.Ops[k])/float64(n))
	}
	return b.String()
}

// Meter counts a bench's AWS operations (SDK middleware: one per call,
// retries not counted twice) and times every outbound HTTP round trip, by
// kind of host. Safe for concurrent use.
type Meter struct {
	mu sync.Mutex
	c  Counts
}

// NewMeter returns a Meter at zero.
func NewMeter() *Meter { return &Meter{c: newCounts()} }

// Reset sets the counts to zero.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c = newCounts()
}

// Counts is a copy of what was counted since the last Reset.
func (m *Meter) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newCounts()
	c.Add(m.c)
	return c
}

// CountOps is an aws.Config APIOption counting every operation.
func (m *Meter) CountOps(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("benchstackCount",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			m.mu.Lock()
			m.c.Ops[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			m.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Transport is a clone of http.DefaultTransport that adds each round
// trip, its body read included, to kind's wait and trips.
func (m *Meter) Transport(kind string) http.RoundTripper {
	return timed{base: http.DefaultTransport.(*http.Transport).Clone(), add: func(d time.Duration) {
		m.mu.Lock()
		m.c.Wait[kind] += d
		m.c.Trips[kind]++
		m.mu.Unlock()
	}}
}

type timed struct {
	base http.RoundTripper
	add  func(time.Duration)
}

func (t timed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		// Count the body read too: the caller reads it right after.
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		err = rerr
	}
	t.add(time.Since(start))
	return resp, err
}
