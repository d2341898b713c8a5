package zohosim

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// serveAccounts answers for one DC's accounts server.
func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request, dc zoho.DataCenter, path, base string, form url.Values) {
	switch path {
	case "/oauth/v2/token":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.serveToken(w, dc, params(r, form))
	case "/oauth/v2/token/revoke":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.serveRevoke(w, dc, params(r, form))
	case "/oauth/serverinfo":
		serveServerInfo(w)
	case "/oauth/v2/auth":
		s.serveAuth(w, r, dc, base)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "status": "failure"})
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method_not_allowed", "status": "failure"})
}

// params merges the query string and the form body; the body wins.
func params(r *http.Request, form url.Values) url.Values {
	p := r.URL.Query()
	for k, v := range form {
		p[k] = v
	}
	return p
}

var accessDenied = map[string]any{
	"error":             "Access Denied",
	"error_description": "You have made too many requests continuously. Please try again after some time.",
	"status":            "failure",
}

func (s *Server) tokenErrorLocked(w http.ResponseWriter, body map[string]any) {
	s.stats.TokenErrors[body["error"].(string)]++
	writeJSON(w, s.opts.ErrorStatus, body)
}

func oauthError(code string) map[string]any { return map[string]any{"error": code} }

func (s *Server) serveToken(w http.ResponseWriter, dc zoho.DataCenter, p url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gt := p.Get("grant_type")
	s.stats.TokenRequests[gt]++
	if gt != "authorization_code" && gt != "refresh_token" {
		s.tokenErrorLocked(w, oauthError("unsupported_grant_type"))
		return
	}
	c, ok := s.clients[p.Get("client_id")]
	if !ok {
		s.tokenErrorLocked(w, oauthError("invalid_client"))
		return
	}
	if p.Get("client_secret") != c.secretFor(dc.Location) {
		s.tokenErrorLocked(w, oauthError("invalid_client_secret"))
		return
	}
	now := s.now()
	if gt == "authorization_code" {
		g, ok := s.codes[p.Get("code")]
		// A code is known only to the accounts server of the user's DC.
		if !ok || g.used || g.client != c.ID || g.org.user.dc.Location != dc.Location ||
			(s.limits.GrantCodeTTL >= 0 && now.Sub(g.issued) > s.limits.GrantCodeTTL) {
			s.tokenErrorLocked(w, oauthError("invalid_code"))
			return
		}
		uri := p.Get("redirect_uri")
		if (len(c.RedirectURIs) > 0 && !c.redirectAllowed(uri)) || (g.redirectURI != "" && uri != g.redirectURI) {
			s.tokenErrorLocked(w, oauthError("invalid_redirect_uri"))
			return
		}
		g.used = true
		rt := s.newRefreshLocked(c.ID, g)
		at := s.issueAccessLocked(rt, now)
		resp := s.tokenResponse(at)
		if !rt.online() {
			resp["refresh_token"] = rt.token
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	rt, ok := s.refresh[p.Get("refresh_token")]
	if !ok || !rt.active || rt.online() || rt.client != c.ID || rt.org.user.dc.Location != dc.Location {
		s.tokenErrorLocked(w, oauthError("invalid_code"))
		return
	}
	rt.refresh = window(rt.refresh, now)
	if s.limits.AccessTokensPer10Min >= 0 && len(rt.refresh) >= s.limits.AccessTokensPer10Min {
		s.tokenErrorLocked(w, accessDenied)
		return
	}
	rt.refresh = append(rt.refresh, now)
	s.stats.Refreshes[rt.token]++
	writeJSON(w, http.StatusOK, s.tokenResponse(s.issueAccessLocked(rt, now)))
}

// newRefreshLocked makes the refresh token of an exchanged grant. Without
// access_type=offline the token is internal only (its token string is
// empty and never handed out): it just ties the access token to the org.
func (s *Server) newRefreshLocked(clientID string, g *grantRec) *refreshRec {
	rt := &refreshRec{client: clientID, org: g.org, scope: g.scope, scopes: splitScopes(g.scope), active: true}
	if !g.offline {
		return rt
	}
	rt.token = newToken()
	key := g.org.user.ID + "\x00" + clientID
	var live []*refreshRec
	for _, old := range s.perUser[key] {
		if old.active {
			live = append(live, old)
		}
	}
	if lim := s.limits.RefreshTokensPerUser; lim >= 0 && len(live) >= lim {
		for _, old := range live[:len(live)-lim+1] {
			s.revokeLocked(old)
		}
		live = live[len(live)-lim+1:]
	}
	s.perUser[key] = append(live, rt)
	s.refresh[rt.token] = rt
	s.stats.RefreshTokensIssued++
	return rt
}

// issueAccessLocked makes an access token; beyond ActivePerRefreshToken
// live tokens the oldest is silently invalidated.
func (s *Server) issueAccessLocked(rt *refreshRec, now time.Time) *accessRec {
	var live []*accessRec
	for _, a := range rt.access {
		if s.validLocked(a) {
			live = append(live, a)
		}
	}
	if lim := s.limits.ActivePerRefreshToken; lim >= 0 && len(live) >= lim {
		n := len(live) - lim + 1
		for _, a := range live[:n] {
			a.dead = true
		}
		live = live[n:]
	}
	a := &accessRec{token: newToken(), refresh: rt}
	if s.limits.AccessTokenTTL >= 0 {
		a.expires = now.Add(s.limits.AccessTokenTTL)
	}
	rt.access = append(live, a)
	s.access[a.token] = a
	s.stats.AccessTokensIssued++
	return a
}

func (s *Server) tokenResponse(a *accessRec) map[string]any {
	org := a.refresh.org
	env := zoho.Production
	if s.opts.APIDomainNamesEnvironment {
		env = org.Environment
	}
	secs := int64(time.Hour / time.Second)
	if s.limits.AccessTokenTTL >= 0 {
		secs = int64(s.limits.AccessTokenTTL / time.Second)
	}
	resp := map[string]any{
		"access_token": a.token,
		"scope":        a.refresh.scope,
		"api_domain":   org.user.dc.APIURL(env),
		"token_type":   "Bearer",
	}
	if s.opts.LegacyExpiry {
		resp["expires_in_sec"] = secs
		resp["expires_in"] = secs * 1000
	} else {
		resp["expires_in"] = secs
	}
	return resp
}

// revokeRefused is the body of a revoke of a token the accounts server
// does not know (Zoho answers HTTP 400; the body is undocumented).
var revokeRefused = map[string]any{"error": "invalid_token", "status": "failure"}

func (s *Server) serveRevoke(w http.ResponseWriter, dc zoho.DataCenter, p url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An unknown or already revoked token fails with 400, as at Zoho; so
	// does another DC's, which this accounts server does not know.
	rt, ok := s.refresh[p.Get("token")]
	if !ok || !rt.active || rt.org.user.dc.Location != dc.Location {
		writeJSON(w, http.StatusBadRequest, revokeRefused)
		return
	}
	s.revokeLocked(rt)
	s.stats.Revocations++
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// serverInfoLocations are the DCs GET /oauth/serverinfo lists: those of
// Zoho Accounts' multi-DC page, UK included. China, a separately operated
// service, is not among them.
func serverInfoLocations() map[string]string {
	locs := map[string]string{}
	for _, dc := range zoho.DataCenters() {
		if dc.Location != "cn" {
			locs[dc.Location] = dc.AccountsURL()
		}
	}
	return locs
}

func serveServerInfo(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{"result": "success", "locations": serverInfoLocations()})
}

func splitScopes(scope string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(scope, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

// consentParams are the authorization request's parameters, carried through
// the page as hidden fields.
var consentParams = []string{"scope", "client_id", "response_type", "access_type", "redirect_uri", "state", "prompt"}

// visibleAt tells whether a flow started at start's accounts server shows
// the user: accounts.zoho.com serves every DC but cn, cn serves itself, and
// any other DC's server shows its own users.
func visibleAt(start zoho.DataCenter, u *userRec) bool {
	switch {
	case start.AccountsHost == "accounts.zoho.com":
		return u.dc.Location != "cn"
	default:
		return u.dc.Location == start.Location
	}
}

func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request, dc zoho.DataCenter, base string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		authErrorPage(w, "Invalid Request", err.Error())
		return
	}
	p := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[p.Get("client_id")]
	switch {
	case !ok:
		authErrorPage(w, "Invalid Client", "The client_id is not registered with Zoho Accounts.")
		return
	case p.Get("redirect_uri") == "" || !c.redirectAllowed(p.Get("redirect_uri")):
		authErrorPage(w, "Invalid Redirect Uri", "The redirect_uri is not registered for this client.")
		return
	case p.Get("response_type") != "code":
		authErrorPage(w, "Invalid Response Type", "response_type must be code.")
		return
	case strings.TrimSpace(p.Get("scope")) == "":
		authErrorPage(w, "Invalid OAuth Scope", "The scope is missing.")
		return
	}
	action, orgID := p.Get("sim_action"), p.Get("sim_org")
	if r.Method == http.MethodPost {
		action, orgID = r.PostForm.Get("action"), r.PostForm.Get("org")
	}
	redirect := p.Get("redirect_uri")
	switch action {
	case "":
		s.consentPage(w, http.StatusOK, dc, base, p, "")
	case "reject":
		v := url.Values{"error": {"access_denied"}}
		if st := p.Get("state"); st != "" {
			v.Set("state", st)
		}
		http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
	case "accept":
		org, ok := s.orgs[orgID]
		if !ok || !visibleAt(dc, org.user) {
			s.consentPage(w, http.StatusBadRequest, dc, base, p, "Choose one of the orgs listed.")
			return
		}
		code, err := s.issueCodeLocked(c.ID, org, p.Get("scope"), p.Get("access_type") == "offline", redirect)
		if err != nil {
			authErrorPage(w, "Access Denied", "You have made too many requests continuously. Please try again after some time.")
			return
		}
		udc := org.user.dc
		v := url.Values{"code": {code}, "location": {udc.Location}, "accounts-server": {udc.AccountsURL()}}
		if st := p.Get("state"); st != "" {
			v.Set("state", st)
		}
		http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
	default:
		s.consentPage(w, http.StatusBadRequest, dc, base, p, "Unknown action.")
	}
}

// withQuery adds v to the URI's query.
func withQuery(uri string, v url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

type pageOrg struct {
	ID, Name, Env, Location, Edition string
}

type pageGroup struct {
	Env, Title, UserID string
	Orgs               []pageOrg
}

type pageUser struct {
	ID, Email, FullName, Location, DCName string
	Groups                                []pageGroup
}

type pageData struct {
	Host, Action, ClientID, Error string
	Scopes                        []string
	Hidden                        []struct{ Name, Value string }
	Users                         []pageUser
}

var titles = map[zoho.Environment]string{zoho.Production: "Production", zoho.Sandbox: "Sandbox", zoho.Developer: "Developer"}

func (s *Server) consentPage(w http.ResponseWriter, status int, dc zoho.DataCenter, base string, p url.Values, errMsg string) {
	d := pageData{Host: dc.AccountsHost, Action: base + "/oauth/v2/auth", ClientID: p.Get("client_id"), Error: errMsg,
		Scopes: strings.Split(p.Get("scope"), ",")}
	for _, k := range consentParams {
		if v := p.Get(k); v != "" {
			d.Hidden = append(d.Hidden, struct{ Name, Value string }{k, v})
		}
	}
	for _, u := range s.users {
		if !visibleAt(dc, u) {
			continue
		}
		pu := pageUser{ID: u.ID, Email: u.Email, FullName: u.FullName, Location: u.dc.Location, DCName: u.dc.Name}
		for _, env := range zoho.Environments {
			g := pageGroup{Env: env.String(), Title: titles[env], UserID: u.ID}
			for _, o := range u.Orgs {
				if o.Environment == env {
					g.Orgs = append(g.Orgs, pageOrg{ID: o.ID, Name: o.Name, Env: env.String(), Location: u.dc.Location, Edition: o.Edition})
				}
			}
			if len(g.Orgs) > 0 {
				pu.Groups = append(pu.Groups, g)
			}
		}
		d.Users = append(d.Users, pu)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	consentTmpl.Execute(w, d)
}

func authErrorPage(w http.ResponseWriter, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	errorTmpl.Execute(w, struct{ Title, Message string }{title, msg})
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Zoho Accounts (simulator) - {{.Host}}</title>
<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}fieldset{margin:.5em 0}#error{color:#b00}</style></head>
<body>
<h1 id="choose-org">Choose the CRM org to give access to</h1>
<p id="client">The application <code>{{.ClientID}}</code> would like to access:
{{range .Scopes}}<code class="scope">{{.}}</code> {{end}}</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form id="consent" method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{range .Users}}<section class="user" id="user-{{.ID}}" data-email="{{.Email}}" data-location="{{.Location}}">
<h2>{{.FullName}} &lt;{{.Email}}&gt; - {{.DCName}} ({{.Location}})</h2>
{{range .Groups}}<fieldset class="env env-{{.Env}}" id="env-{{.Env}}-{{.UserID}}" data-environment="{{.Env}}">
<legend>{{.Title}}</legend>
{{range .Orgs}}<label for="org-{{.ID}}"><input type="radio" name="org" id="org-{{.ID}}" value="{{.ID}}" data-environment="{{.Env}}" data-location="{{.Location}}" required> {{.Name}} ({{.ID}}, {{.Edition}})</label><br>
{{end}}</fieldset>
{{else}}<p class="no-orgs">No CRM orgs.</p>
{{end}}</section>
{{else}}<p id="no-users">No accounts in this data center.</p>
{{end}}<button type="submit" id="accept" name="action" value="accept">Accept</button>
<button type="submit" id="reject" name="action" value="reject" formnovalidate>Reject</button>
</form>
</body></html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1 id="error-title">{{.Title}}</h1><p id="error">{{.Message}}</p></body></html>
`))
