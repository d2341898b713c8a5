// Package formstest is an in-memory forms store for unit tests; it passes
// the same contract (internal/storetest.RunFormsContract) as formstore.
package formstest

import (
	"context"
	"sync"

	"github.com/zohoconnect/zohoconnect/internal/forms"
)

// Store is the in-memory forms table.
type Store struct {
	mu    sync.Mutex
	forms map[string]forms.Form
	Gets  int // Get calls
}

var _ forms.Store = (*Store)(nil)

// New is an empty store.
func New() *Store { return &Store{forms: map[string]forms.Form{}} }

func (s *Store) Create(_ context.Context, f *forms.Form) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.forms[f.ID]; ok {
		return forms.ErrInvalid
	}
	c := copyOf(f)
	c.CreatedAt = c.CreatedAt.Truncate(1e6) // the table keeps milliseconds
	s.forms[f.ID] = c
	return nil
}

func (s *Store) Get(_ context.Context, id string) (*forms.Form, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Gets++
	f, ok := s.forms[id]
	if !ok {
		return nil, forms.ErrNotFound
	}
	c := copyOf(&f)
	return &c, nil
}

func (s *Store) ListByConnection(_ context.Context, connectionID string) ([]*forms.Form, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*forms.Form
	for _, f := range s.forms {
		if f.ConnectionID == connectionID {
			c := copyOf(&f)
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *Store) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.forms[id]; !ok {
		return forms.ErrNotFound
	}
	delete(s.forms, id)
	return nil
}

func copyOf(f *forms.Form) forms.Form {
	c := *f
	c.AllowedOrigins = append([]string(nil), f.AllowedOrigins...)
	c.RequiredFields = append([]string(nil), f.RequiredFields...)
	if len(c.RequiredFields) == 0 {
		c.RequiredFields = nil
	}
	if f.FieldMapping != nil {
		c.FieldMapping = map[string]string{}
		for k, v := range f.FieldMapping {
			c.FieldMapping[k] = v
		}
	}
	if len(c.FieldMapping) == 0 {
		c.FieldMapping = nil
	}
	if f.Captcha != nil {
		cc := *f.Captcha
		c.Captcha = &cc
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c
}
