package zohosim

import (
	"strings"
	"time"
)

// edition is one CRM edition's API limits, as Zoho applies them. The
// simulator keeps its own copy of zoho-facts.md's table rather than
// reading pkg/zoho's, so that a mistake in one is caught by the other's
// tests instead of being mirrored.
type edition struct {
	concurrency                      int
	baseCredits, perUser, maxCredits int // maxCredits 0: no maximum
}

// editions by lower-case name. An edition not listed (Developer, say) gets
// Free's limits: Zoho does not document the others.
var editions = map[string]edition{
	"free":         {concurrency: 5, baseCredits: 5000, maxCredits: 5000},
	"standard":     {concurrency: 10, baseCredits: 50000, perUser: 250, maxCredits: 100000},
	"professional": {concurrency: 15, baseCredits: 50000, perUser: 500, maxCredits: 1000000},
	"enterprise":   {concurrency: 20, baseCredits: 50000, perUser: 1000, maxCredits: 2000000},
	"ultimate":     {concurrency: 25, baseCredits: 50000, perUser: 2000},
}

func editionOf(name string) edition {
	if e, ok := editions[strings.ToLower(strings.TrimSpace(name))]; ok {
		return e
	}
	return editions["free"]
}

// Zoho's sub-concurrency: writes of more than bulkRecords records in
// flight at once, per org and app.
const (
	bulkRecords    = 10
	subConcurrency = 10
	creditWindow   = 24 * time.Hour
)

// creditUse is credits spent at one time, for the rolling window.
type creditUse struct {
	at time.Time
	n  int
}

// orgUsage is what an org's CRM calls have used, and what tests read.
type orgUsage struct {
	inFlight, bulkInFlight map[string]int // by OAuth client id
	maxInFlight, maxBulk   int
	credits                []creditUse // oldest first
	calls, refused         int
	recordsPerCall         []int
}

func newOrgUsage() orgUsage {
	return orgUsage{inFlight: map[string]int{}, bulkInFlight: map[string]int{}}
}

// OrgStats is what the simulator counted for one org's CRM calls.
type OrgStats struct {
	// MaxConcurrent is the most calls of one OAuth client handled at once
	// for the org (the quantity Zoho's concurrency limit bounds).
	MaxConcurrent int
	// MaxConcurrentBulk is the same for writes of more than 10 records
	// (bounded by the sub-concurrency limit).
	MaxConcurrentBulk int
	// Concurrency and CreditLimit are the org's limits (0: unlimited).
	Concurrency, CreditLimit int
	// CreditsUsed are the credits spent in the 24 hours up to now.
	CreditsUsed int
	// Calls counts the calls admitted; Refused those answered 429
	// TOO_MANY_REQUESTS for the concurrency or credit limit.
	Calls, Refused int
	// RecordsPerCall lists, in order, how many records each admitted
	// write (insert, upsert, notes) carried.
	RecordsPerCall []int
}

// concurrencyLimit is the org's limit per client; 0: unlimited.
func (s *Server) concurrencyLimit(o *orgRec) int {
	switch {
	case o.Concurrency > 0:
		return o.Concurrency
	case o.Concurrency < 0 || s.opts.Limits.Concurrency < 0:
		return 0
	case s.opts.Limits.Concurrency > 0:
		return s.opts.Limits.Concurrency
	}
	return editionOf(o.Edition).concurrency
}

// creditLimit is the org's credits per rolling 24 h; 0: unlimited.
func (s *Server) creditLimit(o *orgRec) int {
	switch {
	case o.Credits > 0:
		return o.Credits
	case o.Credits < 0 || s.opts.Limits.Credits < 0:
		return 0
	case s.opts.Limits.Credits > 0:
		return s.opts.Limits.Credits
	}
	e := editionOf(o.Edition)
	c := e.baseCredits + e.perUser*o.Users
	if e.maxCredits > 0 && c > e.maxCredits {
		c = e.maxCredits
	}
	return c
}

// creditsUsedLocked drops uses older than the window and sums the rest.
func (s *Server) creditsUsedLocked(o *orgRec, now time.Time) int {
	u := &o.usage
	cut := now.Add(-creditWindow)
	i := 0
	for i < len(u.credits) && !u.credits[i].at.After(cut) {
		i++
	}
	u.credits = u.credits[i:]
	n := 0
	for _, c := range u.credits {
		n += c.n
	}
	return n
}

// creditCost is what one call costs. Zoho's table charges most calls one
// credit and names exceptions (Convert Lead: 5) the simulator does not
// serve; a write costs one credit whatever its number of records.
func creditCost(string, int) int { return 1 }

// admission is a call let in: release must follow.
type admission struct {
	org    *orgRec
	client string
	bulk   bool
}

// admitLocked applies the org's concurrency, sub-concurrency and credit
// limits to a call of client carrying records records (0 for a read). It
// returns the 429 message when the call is refused.
func (s *Server) admitLocked(o *orgRec, client, route string, records int) (*admission, string) {
	u := &o.usage
	bulk := records > bulkRecords
	if lim := s.concurrencyLimit(o); lim > 0 && u.inFlight[client] >= lim {
		u.refused++
		return nil, "the concurrency limit of the org is exceeded"
	}
	if bulk && s.opts.Limits.SubConcurrency >= 0 {
		lim := s.opts.Limits.SubConcurrency
		if lim == 0 {
			lim = subConcurrency
		}
		if u.bulkInFlight[client] >= lim {
			u.refused++
			return nil, "the sub-concurrency limit of the org is exceeded"
		}
	}
	now := s.now()
	cost := creditCost(route, records)
	if lim := s.creditLimit(o); lim > 0 && s.creditsUsedLocked(o, now)+cost > lim {
		u.refused++
		return nil, "the API credit limit of the org is exceeded"
	}
	u.credits = append(u.credits, creditUse{at: now, n: cost})
	u.calls++
	if records > 0 {
		u.recordsPerCall = append(u.recordsPerCall, records)
	}
	u.inFlight[client]++
	u.maxInFlight = max(u.maxInFlight, u.inFlight[client])
	if bulk {
		u.bulkInFlight[client]++
		u.maxBulk = max(u.maxBulk, u.bulkInFlight[client])
	}
	return &admission{org: o, client: client, bulk: bulk}, ""
}

func (s *Server) releaseLocked(a *admission) {
	u := &a.org.usage
	u.inFlight[a.client]--
	if a.bulk {
		u.bulkInFlight[a.client]--
	}
}

func (s *Server) orgStatsLocked(o *orgRec) OrgStats {
	u := &o.usage
	return OrgStats{
		MaxConcurrent: u.maxInFlight, MaxConcurrentBulk: u.maxBulk,
		Concurrency: s.concurrencyLimit(o), CreditLimit: s.creditLimit(o),
		CreditsUsed: s.creditsUsedLocked(o, s.now()),
		Calls:       u.calls, Refused: u.refused,
		RecordsPerCall: append([]int(nil), u.recordsPerCall...),
	}
}

// OrgStats returns the counters of one org's CRM calls; the zero value for
// an unknown org.
func (s *Server) OrgStats(orgID string) OrgStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return OrgStats{}
	}
	return s.orgStatsLocked(o)
}
