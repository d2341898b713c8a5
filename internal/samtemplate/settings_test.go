package samtemplate

import "testing"

// A function's MemorySize and Timeout are its own, else Globals', else
// absent; a !Ref stays a value to resolve.
func TestFunctionMemorySizeAndTimeout(t *testing.T) {
	tpl, err := Parse([]byte(`
Parameters:
  Memory: {Type: Number, Default: 512}
Globals:
  Function:
    Timeout: 20
    MemorySize: 256
Resources:
  Own:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/own, Timeout: 29, MemorySize: !Ref Memory}
  Inherits:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/inherits}
`))
	if err != nil {
		t.Fatal(err)
	}
	vars := tpl.LocalVars()
	for _, c := range []struct{ fn, memory, timeout string }{
		{"Own", "512", "29"},
		{"Inherits", "256", "20"},
	} {
		fn, _ := tpl.Function(c.fn)
		mem, err1 := fn.MemorySize.Resolve(vars)
		timeout, err2 := fn.Timeout.Resolve(vars)
		if err1 != nil || err2 != nil || mem != c.memory || timeout != c.timeout {
			t.Errorf("%s: MemorySize %q (%v), Timeout %q (%v); want %s, %s", c.fn, mem, err1, timeout, err2, c.memory, c.timeout)
		}
	}

	bare, err := Parse([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: f}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fn, _ := bare.Function("F"); !fn.MemorySize.IsZero() || !fn.Timeout.IsZero() {
		t.Errorf("no Globals, no properties: MemorySize %v, Timeout %v; want absent", fn.MemorySize, fn.Timeout)
	}

}
