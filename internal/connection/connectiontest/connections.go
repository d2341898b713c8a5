// Package connectiontest holds in-memory fakes of the connection domain's
// stores, for the use cases' unit tests: the connections table
// (Connections), the states table (States) and the token vault (Vault).
// Each passes the same contract suite (internal/storetest) as the AWS
// adapter it stands in for, so it keeps the conditions DynamoDB and
// Secrets Manager keep, and the times in the whole seconds the tables
// keep. Only tests import it.
package connectiontest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// Connections is the connections table in memory, with the refresh lease
// and the due index, as awsstore.ConnectionStore keeps them. The domain's
// rules (connection.Leasable, LeasedTo, Lease.Free, Refreshable,
// ApplyChanges) are its conditions; the contract suite proves they agree
// with the adapter's DynamoDB expressions.
type Connections struct {
	// Now stamps updated_at (default time.Now).
	Now func() time.Time

	mu     sync.Mutex
	items  map[string]*connection.Connection
	writes map[string]int
	uses   map[string]int
}

// NewConnections returns a table holding cs as they are (see Put).
func NewConnections(cs ...connection.Connection) *Connections {
	f := &Connections{items: map[string]*connection.Connection{}, writes: map[string]int{}, uses: map[string]int{}}
	for _, c := range cs {
		f.Put(c)
	}
	return f
}

// Put stores c as if the table held that item (its Version and Lease
// included, its times in whole seconds). It counts as no write.
func (f *Connections) Put(c connection.Connection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	stored := kept(c)
	f.items[c.ID] = &stored
}

// Item is the stored connection (the zero Connection when none).
func (f *Connections) Item(id string) connection.Connection {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.items[id]; ok {
		return copyOf(c)
	}
	return connection.Connection{}
}

// Edit changes a stored connection in place, outside the store's rules
// (no version, no write counted): a test's setup.
func (f *Connections) Edit(id string, change func(*connection.Connection)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.items[id]; ok {
		change(c)
		*c = kept(*c)
	}
}

// Writes counts the writes to a connection (Put and Edit excluded).
func (f *Connections) Writes(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes[id]
}

// Len is how many connections the table holds.
func (f *Connections) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items)
}

// Get reads a connection.
func (f *Connections) Get(_ context.Context, id string) (*connection.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.items[id]
	if !ok {
		return nil, connection.ErrNotFound
	}
	out := copyOf(c)
	return &out, nil
}

// Update is awsstore.ConnectionStore.Update: change edits the stored
// connection (or a new one, with only its ID), and all of it but the
// lease is written.
func (f *Connections) Update(_ context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	c := connection.Connection{ID: id}
	stored, ok := f.items[id]
	if ok {
		c = copyOf(stored)
	}
	if err := change(&c); err != nil {
		return nil, err
	}
	if !c.Changes().Has(connection.FieldUpdatedAt) {
		c.UpdatedAt = f.now().UTC()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	next := kept(c)
	next.ID, next.Version, next.Lease = id, c.Version+1, connection.Lease{}
	next.Idle = next.Idle && next.Refreshable() // only the due index knows idleness
	if ok {
		next.Lease = stored.Lease
	}
	f.items[id] = &next
	f.writes[id]++
	c.Version++
	c.ClearChanges()
	return &c, nil
}

// UpdateLeased is awsstore.ConnectionStore.UpdateLeased.
func (f *Connections) UpdateLeased(_ context.Context, id, owner string, change func(*connection.Connection)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || !stored.LeasedTo(owner) {
		return connection.ErrConflict
	}
	f.writeChanges(stored, connection.Connection{ID: id, Status: connection.Active, Lease: connection.Lease{Owner: owner}}, change)
	return nil
}

// UpdateActive is awsstore.ConnectionStore.UpdateActive.
func (f *Connections) UpdateActive(_ context.Context, id string, change func(*connection.Connection)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || stored.Status != connection.Active {
		return nil
	}
	f.writeChanges(stored, connection.Connection{ID: id, Status: connection.Active}, change)
	return nil
}

// writeChanges is the write that reads nothing: change edits base (what
// the condition guarantees), and what it changed happens to stored.
func (f *Connections) writeChanges(stored *connection.Connection, base connection.Connection, change func(*connection.Connection)) {
	change(&base)
	stored.ApplyChanges(&base)
	if base.Changes().Has(connection.FieldStatus) {
		// The store writes the shard anew: the fresh part, or none.
		stored.Idle = false
	}
	if !base.Changes().Has(connection.FieldUpdatedAt) {
		stored.UpdatedAt = f.now().UTC()
	}
	stored.Version++
	*stored = kept(*stored)
	f.writes[stored.ID]++
}

// AcquireLease is awsstore.ConnectionStore.AcquireLease.
func (f *Connections) AcquireLease(_ context.Context, id, owner string, now, until, dueBy time.Time) (*connection.Connection, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || !stored.Leasable(second(now), second(dueBy)) {
		return nil, false, nil
	}
	stored.Lease = connection.Lease{Owner: owner, Until: second(until)}
	stored.Version++
	f.writes[id]++
	out := copyOf(stored)
	return &out, true, nil
}

// TakeLease is awsstore.ConnectionStore.TakeLease.
func (f *Connections) TakeLease(_ context.Context, id, owner string, now, until time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || !stored.Lease.Free(second(now)) {
		return false, nil
	}
	stored.Lease = connection.Lease{Owner: owner, Until: second(until)}
	f.writes[id]++
	return true, nil
}

// ReleaseLease is awsstore.ConnectionStore.ReleaseLease.
func (f *Connections) ReleaseLease(_ context.Context, id, owner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stored, ok := f.items[id]; ok && stored.Lease.Owner == owner {
		stored.Lease = connection.Lease{}
		f.writes[id]++
	}
	return nil
}

// Lease is awsstore.ConnectionStore.Lease.
func (f *Connections) Lease(_ context.Context, id string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stored, ok := f.items[id]; ok {
		return stored.Lease.Owner, stored.Lease.Until, nil
	}
	return "", time.Time{}, nil
}

// DueConnections is awsstore.ConnectionStore.DueConnections: the
// refreshable connections of the shard due by before, soonest first.
func (f *Connections) DueConnections(_ context.Context, shard string, before time.Time, limit int) ([]*connection.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*connection.Connection
	for _, c := range f.items {
		if duePart(c) == shard && c.TokenExpiresAt.Unix() <= before.Unix() {
			cp := copyOf(c)
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].TokenExpiresAt.Equal(out[j].TokenExpiresAt) {
			return out[i].TokenExpiresAt.Before(out[j].TokenExpiresAt)
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DuePage is awsstore.ConnectionStore.DuePage: the part's due
// connections in (expiry, id) order, after after.
func (f *Connections) DuePage(_ context.Context, part string, before time.Time, limit int, after connection.DueKey) ([]*connection.Connection, bool, error) {
	if !connection.ValidDuePart(part) {
		return nil, false, fmt.Errorf("due page: %q is not a part of the due index", part)
	}
	if !after.IsZero() && !connection.ValidID(after.ID) {
		return nil, false, fmt.Errorf("due page: %w", connection.ErrBadCursor)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*connection.Connection
	for _, c := range f.items {
		if duePart(c) != part || c.TokenExpiresAt.Unix() > before.Unix() {
			continue
		}
		if !after.IsZero() {
			e, a := c.TokenExpiresAt.Unix(), after.ExpiresAt.Unix()
			if e < a || e == a && c.ID <= after.ID {
				continue
			}
		}
		cp := copyOf(c)
		out = append(out, &cp)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].TokenExpiresAt.Equal(out[j].TokenExpiresAt) {
			return out[i].TokenExpiresAt.Before(out[j].TokenExpiresAt)
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// MarkIdle is awsstore.ConnectionStore.MarkIdle.
func (f *Connections) MarkIdle(_ context.Context, id string, unusedBefore time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || !stored.Refreshable() || (!stored.LastUsedAt.IsZero() && !stored.LastUsedAt.Before(second(unusedBefore))) {
		return false, nil
	}
	stored.Idle = true
	stored.Version++
	f.writes[id]++
	return true, nil
}

// RecordUse is awsstore.ConnectionStore.RecordUse.
func (f *Connections) RecordUse(_ context.Context, id string, at time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, ok := f.items[id]
	if !ok || !stored.NeedsUseRecorded(second(at)) {
		return false, nil
	}
	stored.LastUsedAt, stored.Idle = second(at), false
	stored.Version++
	f.writes[id]++
	f.uses[id]++
	return true, nil
}

// Uses counts the uses RecordUse wrote for a connection.
func (f *Connections) Uses(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uses[id]
}

// duePart is the part of the due index that holds c ("" for none).
func duePart(c *connection.Connection) string {
	switch {
	case !c.Refreshable():
		return ""
	case c.Idle:
		return connection.IdleShard(c.ID)
	}
	return connection.RefreshShard(c.ID)
}

// List is awsstore.ConnectionStore.List, in one page in id order.
func (f *Connections) List(_ context.Context, status connection.Status, fn func(*connection.Connection) error) (awsstore.ScanStats, error) {
	f.mu.Lock()
	var all []connection.Connection
	for _, c := range f.items {
		all = append(all, copyOf(c))
	}
	f.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	st := awsstore.ScanStats{Scanned: len(all), Pages: 1}
	for i := range all {
		if status != "" && all[i].Status != status {
			continue
		}
		st.Matched++
		if err := fn(&all[i]); err != nil {
			return st, err
		}
	}
	return st, nil
}

// ListPage is awsstore.ConnectionStore.ListPage: in id order, a tenant's
// connections only when q names one, q.Limit connections looked at a page
// (a status filters what was looked at, as DynamoDB's Limit does), the
// cursor the last one looked at.
func (f *Connections) ListPage(_ context.Context, q connection.Query) (connection.Page, error) {
	f.mu.Lock()
	var all []connection.Connection
	for _, c := range f.items {
		if q.TenantID == "" || c.TenantID == q.TenantID {
			all = append(all, copyOf(c))
		}
	}
	f.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	start := 0
	if q.Cursor != "" {
		after, ok := strings.CutPrefix(q.Cursor, "fake:"+q.TenantID+":")
		if !ok || !connection.ValidID(after) {
			return connection.Page{}, connection.ErrBadCursor
		}
		start = sort.Search(len(all), func(i int) bool { return all[i].ID > after })
	}
	end := min(start+q.Limit, len(all))
	page := connection.Page{Connections: []*connection.Connection{}}
	for i := start; i < end; i++ {
		if q.Status == "" || all[i].Status == q.Status {
			page.Connections = append(page.Connections, &all[i])
		}
	}
	if end < len(all) {
		page.NextCursor = "fake:" + q.TenantID + ":" + all[end-1].ID
	}
	return page, nil
}

func (f *Connections) init() {
	if f.items == nil {
		f.items, f.writes, f.uses = map[string]*connection.Connection{}, map[string]int{}, map[string]int{}
	}
}

func (f *Connections) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// kept is c as the table keeps it: times in whole seconds (UTC), the
// field mapping its own copy, no changes recorded.
func kept(c connection.Connection) connection.Connection {
	c.StatusChangedAt, c.TokenExpiresAt, c.NextAttemptAt = second(c.StatusChangedAt), second(c.TokenExpiresAt), second(c.NextAttemptAt)
	c.CreatedAt, c.UpdatedAt, c.Lease.Until = second(c.CreatedAt), second(c.UpdatedAt), second(c.Lease.Until)
	c.ConnectedAt, c.LastUsedAt = second(c.ConnectedAt), second(c.LastUsedAt)
	c.FieldMapping = copyMapping(c.FieldMapping)
	c.Metadata = copyMapping(c.Metadata)
	c.AllowedFields = copyList(c.AllowedFields)
	c.ClearChanges()
	return c
}

func copyOf(c *connection.Connection) connection.Connection {
	out := *c
	out.FieldMapping = copyMapping(c.FieldMapping)
	out.Metadata = copyMapping(c.Metadata)
	out.AllowedFields = copyList(c.AllowedFields)
	return out
}

// copyList is l's own copy; empty is none, as the table keeps it.
func copyList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

func copyMapping(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil // an empty map is no attribute
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// second is t in the whole seconds a table keeps (the zero time stays
// zero).
func second(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0).UTC()
}
