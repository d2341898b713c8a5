// Package captchasim is a CAPTCHA provider simulator: one http.Handler
// answering siteverify for Cloudflare Turnstile, hCaptcha and reCAPTCHA,
// told apart by the Host header (as captcha's endpoint override keeps
// it), at each provider's own path. A token passes when it is one
// PassToken made for that provider (and the secret is the one registered
// for it, when one is): deterministic, so tests can ask for a success or a
// failure. Every verification is recorded (never the secret).
package captchasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/zohoconnect/zohoconnect/pkg/captcha"
)

// Server is the simulator.
type Server struct {
	mu      sync.Mutex
	secrets map[captcha.Provider]string
	calls   []Call
}

// Call is one siteverify the simulator answered.
type Call struct {
	Provider captcha.Provider
	Host     string
	Token    string
	RemoteIP string
	Success  bool
}

// New is a simulator that accepts any non-empty secret until Secret sets one.
func New() *Server { return &Server{secrets: map[captcha.Provider]string{}} }

// Secret makes provider accept only secret.
func (s *Server) Secret(p captcha.Provider, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[p] = secret
}

// PassToken is a token provider's siteverify confirms; any other fails.
// suffix makes tokens distinct.
func PassToken(p captcha.Provider, suffix string) string {
	return "pass." + string(p) + "." + suffix
}

// FailToken is a token every provider refuses.
func FailToken(suffix string) string { return "fail." + suffix }

// Calls is every siteverify answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// paths is each provider's siteverify path.
var paths = map[captcha.Provider]string{}

func init() {
	for _, p := range captcha.Providers {
		u, _ := url.Parse(p.VerifyURL())
		paths[p] = u.Path
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	p, ok := captcha.ByHost(host)
	if !ok {
		http.Error(w, "captchasim: not a CAPTCHA provider's host: "+host, http.StatusNotFound)
		return
	}
	if r.URL.Path != paths[p] {
		http.Error(w, "captchasim: no such path at "+host, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "captchasim: POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "captchasim: "+err.Error(), http.StatusBadRequest)
		return
	}
	secret, token := r.PostForm.Get("secret"), r.PostForm.Get("response")
	var codes []string
	s.mu.Lock()
	want := s.secrets[p]
	s.mu.Unlock()
	switch {
	case secret == "":
		codes = append(codes, "missing-input-secret")
	case want != "" && secret != want:
		codes = append(codes, "invalid-input-secret")
	}
	switch {
	case token == "":
		codes = append(codes, "missing-input-response")
	case !strings.HasPrefix(token, PassToken(p, "")):
		codes = append(codes, "invalid-input-response")
	}
	ok = len(codes) == 0
	s.mu.Lock()
	s.calls = append(s.calls, Call{Provider: p, Host: host, Token: token, RemoteIP: r.PostForm.Get("remoteip"), Success: ok})
	s.mu.Unlock()
	ans := map[string]any{"success": ok}
	if len(codes) > 0 {
		ans["error-codes"] = codes
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}
