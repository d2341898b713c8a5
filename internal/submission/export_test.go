package submission

// The in-memory idempotency table and retry queue these tests use, for
// the contract test (contract_test.go, package submission_test) to prove.

// NewMemIdempotency is an empty memIdempotency.
func NewMemIdempotency() Idempotency { return &memIdempotency{m: map[string]Entry{}} }

// NewMemQueue is an empty memQueue, and what its consumer receives now.
func NewMemQueue() (Queue, func() ([]Message, []string)) {
	q := &memQueue{}
	return q, q.receive
}

// NewMemRateCounter is an empty memRateCounter.
func NewMemRateCounter() RateCounter { return &memRateCounter{n: map[string]int{}} }

// NewMemSlots is an empty memSlots.
func NewMemSlots() SlotStore { return &memSlots{lease: map[string]memLease{}} }
