package lambdarun

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Invoker is what LambdaAPI needs of a function (*Function).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (*Invocation, error)
}

var _ Invoker = (*Function)(nil)

// LambdaAPI serves the part of Lambda's API that one function uses to
// invoke another: POST /2015-03-31/functions/{FunctionName}/invocations
// with X-Amz-Invocation-Type RequestResponse (the default), Event (202 at
// once, the function run in the background; Lambda would retry a failed
// one twice, this runs it once: Wait waits for them) or DryRun, the
// function named by name, ARN or partial ARN (a qualifier is ignored).
// Point a function's AWS_ENDPOINT_URL_LAMBDA at it. The emulator itself
// serves only /2015-03-31/functions/function/invocations, without
// X-Amz-Function-Error; this adds both, and the Tail of the logs
// (X-Amz-Log-Type: Tail).
type LambdaAPI struct {
	mu        sync.Mutex
	functions map[string]Invoker
	counts    map[string]int
	async     sync.WaitGroup
}

// Wait returns when every Event invocation received so far has finished.
func (a *LambdaAPI) Wait() { a.async.Wait() }

// Add serves fn under name.
func (a *LambdaAPI) Add(name string, fn Invoker) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.functions == nil {
		a.functions, a.counts = map[string]Invoker{}, map[string]int{}
	}
	a.functions[name] = fn
}

// Invocations counts the invocations name received through the API.
func (a *LambdaAPI) Invocations(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[name]
}

const invokePrefix = "/2015-03-31/functions/"

func (a *LambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), invokePrefix)
	escaped, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || escaped == "" || strings.Contains(escaped, "/") {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "only Invoke is served here")
		return
	}
	if r.Method != http.MethodPost {
		lambdaError(w, http.StatusMethodNotAllowed, "InvalidRequestContentException", "Invoke is a POST")
		return
	}
	ref, err := url.PathUnescape(escaped)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "malformed function name")
		return
	}
	name := functionName(ref)
	a.mu.Lock()
	fn := a.functions[name]
	if fn != nil {
		a.counts[name]++
	}
	a.mu.Unlock()
	if fn == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+ref)
		return
	}
	async := false
	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "", "RequestResponse":
	case "Event":
		async = true
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "invocation type "+t+" is not served locally")
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	if async {
		a.async.Add(1)
		go func() {
			defer a.async.Done()
			_, _ = fn.Invoke(context.WithoutCancel(r.Context()), payload)
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	inv, err := fn.Invoke(r.Context(), payload)
	if err != nil {
		lambdaError(w, http.StatusBadGateway, "ServiceException", err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("X-Amzn-RequestId", inv.RequestID)
	if inv.FunctionError != "" {
		h.Set("X-Amz-Function-Error", inv.FunctionError)
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		logs := strings.Join(append(inv.Logs, inv.Report.Line), "\n") + "\n"
		if len(logs) > 4096 { // Lambda's tail is the last 4 KB
			logs = logs[len(logs)-4096:]
		}
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(logs)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.Payload)
}

// functionName reads a name, an ARN (arn:aws:lambda:region:account:function:name[:qualifier])
// or a partial ARN (account:function:name, name:qualifier).
func functionName(ref string) string {
	parts := strings.Split(ref, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return parts[0]
}

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
