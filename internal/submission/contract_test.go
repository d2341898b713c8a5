package submission_test

import (
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/storetest"
	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// The fakes the unit tests use pass the contracts the AWS adapters pass
// (internal/submissionstore, contract_integration_test.go).

func TestIdempotencyContract(t *testing.T) {
	storetest.RunIdempotencyContract(t, func(*testing.T) submission.Idempotency { return submission.NewMemIdempotency() })
}

func TestQueueContract(t *testing.T) {
	storetest.RunQueueContract(t, func(*testing.T) (submission.Queue, storetest.QueueProbe) {
		q, receive := submission.NewMemQueue()
		return q, memProbe(receive)
	})
}

type memProbe func() ([]submission.Message, []string)

func (p memProbe) Receive(*testing.T) []storetest.Received {
	msgs, handles := p()
	out := make([]storetest.Received, len(msgs))
	for i := range msgs {
		out[i] = storetest.Received{Message: msgs[i], ReceiptHandle: handles[i]}
	}
	return out
}

func TestRateCounterContract(t *testing.T) {
	storetest.RunRateCounterContract(t, func(*testing.T) submission.RateCounter { return submission.NewMemRateCounter() })
}

func TestSlotsContract(t *testing.T) {
	storetest.RunSlotsContract(t, func(*testing.T) submission.SlotStore { return submission.NewMemSlots() })
}
