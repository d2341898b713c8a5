// Package storetest is the contract of every store the use cases define:
// one suite per table or service (RunConnectionsContract,
// RunStatesContract, RunTokenVaultContract, RunIdempotencyContract,
// RunQueueContract), each a function of a constructor, run against the
// in-memory fake the unit tests use (no build tag) and against the AWS
// adapter on the local stack (build tag integration, internal/testenv). A
// fake that drifts from DynamoDB's conditional semantics, or from what
// Secrets Manager and SQS do, fails its suite: the unit tests above it
// cannot pass on a fake that lies.
//
// Only tests import this package.
package storetest

import (
	"reflect"
	"testing"
	"time"
)

// sameExcept fails t for every exported field of want and got (structs of
// one type) that differs, but those named in except. Times are compared
// with Equal.
func sameExcept(t *testing.T, what string, want, got any, except ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	if w.Kind() == reflect.Pointer {
		w, g = w.Elem(), g.Elem()
	}
	for i := range w.NumField() {
		f := w.Type().Field(i)
		if !f.IsExported() || skip[f.Name] {
			continue
		}
		a, b := w.Field(i).Interface(), g.Field(i).Interface()
		if !equal(a, b) {
			t.Errorf("%s: %s changed: %v → %v", what, f.Name, a, b)
		}
	}
}

func equal(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		return ta.Equal(b.(time.Time))
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Kind() == reflect.Struct {
		for i := range va.NumField() {
			if va.Type().Field(i).IsExported() && !equal(va.Field(i).Interface(), vb.Field(i).Interface()) {
				return false
			}
		}
		return true
	}
	if va.Kind() == reflect.Map && va.Len() == 0 && vb.Len() == 0 {
		return true // nil and empty are one to a table
	}
	return reflect.DeepEqual(a, b)
}

// second is t in whole seconds, as the tables keep times.
func second(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }
