package storetest

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/submission"
)

// RunSlotsContract runs the concurrency slots' contract
// (submission.SlotStore: submissionstore.SlotStore, and the in-memory one
// of submission's tests) against the stores newSlots makes (a fresh,
// empty one per call).
func RunSlotsContract(t *testing.T, newSlots func(t *testing.T) submission.SlotStore) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s submission.SlotStore)
	}{
		{"a slot is one owner's until its lease ends", slotLease},
		{"a release frees only the owner's slot", slotRelease},
		{"a hold takes a slot from whoever has it, until it ends", slotHold},
		{"of racing takes of one slot exactly one wins", slotRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newSlots(t)) })
	}
}

func slotLease(t *testing.T, s submission.SlotStore) {
	now := time.Now().UTC()
	if err := s.Take(ctx, "org#eu/production/1#0", "a", now, now.Add(30*time.Second)); err != nil {
		t.Fatalf("take a free slot: %v", err)
	}
	if err := s.Take(ctx, "org#eu/production/1#0", "b", now.Add(29*time.Second), now.Add(time.Minute)); !errors.Is(err, submission.ErrSlotTaken) {
		t.Fatalf("take a leased slot: %v, want ErrSlotTaken", err)
	}
	// Another slot, and the same slot of another org, are free.
	if err := s.Take(ctx, "org#eu/production/1#1", "b", now, now.Add(30*time.Second)); err != nil {
		t.Fatalf("take another slot: %v", err)
	}
	if err := s.Take(ctx, "org#eu/production/2#0", "b", now, now.Add(30*time.Second)); err != nil {
		t.Fatalf("take another org's slot: %v", err)
	}
	// A lease that ended (a crashed run's) is taken, and is the new owner's.
	later := now.Add(30 * time.Second)
	if err := s.Take(ctx, "org#eu/production/1#0", "c", later, later.Add(30*time.Second)); err != nil {
		t.Fatalf("take an ended lease: %v", err)
	}
	if err := s.Release(ctx, "org#eu/production/1#0", "a"); err != nil {
		t.Fatalf("the first owner's late release: %v", err)
	}
	if err := s.Take(ctx, "org#eu/production/1#0", "d", later.Add(time.Second), later.Add(time.Minute)); !errors.Is(err, submission.ErrSlotTaken) {
		t.Fatalf("a late release freed the new owner's slot: %v", err)
	}
}

func slotRelease(t *testing.T, s submission.SlotStore) {
	now := time.Now().UTC()
	if err := s.Take(ctx, "org#x#0", "a", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "org#x#0", "b"); err != nil {
		t.Fatalf("another's release: %v", err)
	}
	if err := s.Take(ctx, "org#x#0", "b", now, now.Add(time.Minute)); !errors.Is(err, submission.ErrSlotTaken) {
		t.Fatalf("another's release freed the slot: %v", err)
	}
	if err := s.Release(ctx, "org#x#0", "a"); err != nil {
		t.Fatalf("the owner's release: %v", err)
	}
	if err := s.Take(ctx, "org#x#0", "b", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("take after the owner's release: %v", err)
	}
	if err := s.Release(ctx, "org#never#0", "a"); err != nil {
		t.Fatalf("release of a slot never taken: %v", err)
	}
}

func slotHold(t *testing.T, s submission.SlotStore) {
	now := time.Now().UTC()
	if err := s.Take(ctx, "org#h#0", "a", now, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	until := now.Add(10 * time.Minute)
	for _, slot := range []string{"org#h#0", "org#h#1"} { // one leased, one free
		if err := s.Hold(ctx, slot, until); err != nil {
			t.Fatalf("hold %s: %v", slot, err)
		}
	}
	if err := s.Release(ctx, "org#h#0", "a"); err != nil {
		t.Fatal(err)
	}
	for _, slot := range []string{"org#h#0", "org#h#1"} {
		// Held, and said so: a take need not try the org's other slots.
		if err := s.Take(ctx, slot, "b", now.Add(time.Minute), now.Add(2*time.Minute)); !errors.Is(err, submission.ErrSlotHeld) {
			t.Fatalf("take of held %s (its owner released it): %v, want ErrSlotHeld", slot, err)
		}
	}
	// A slot leased to a run is taken, not held.
	if err := s.Take(ctx, "org#h#2", "c", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "org#h#2", "b", now, now.Add(time.Minute)); !errors.Is(err, submission.ErrSlotTaken) || errors.Is(err, submission.ErrSlotHeld) {
		t.Fatalf("take of a leased slot: %v, want ErrSlotTaken only", err)
	}
	// A shorter hold does not shorten a longer one.
	if err := s.Hold(ctx, "org#h#0", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "org#h#0", "b", now.Add(2*time.Minute), now.Add(3*time.Minute)); !errors.Is(err, submission.ErrSlotTaken) {
		t.Fatalf("a shorter hold shortened the first: %v", err)
	}
	if err := s.Take(ctx, "org#h#0", "b", until, until.Add(time.Minute)); err != nil {
		t.Fatalf("take when the hold ended: %v", err)
	}
}

func slotRace(t *testing.T, s submission.SlotStore) {
	now := time.Now().UTC()
	const racers = 16
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			switch err := s.Take(ctx, "org#race#0", "r"+strconv.Itoa(i), now, now.Add(time.Minute)); {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, submission.ErrSlotTaken):
				t.Errorf("take: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d racers took one slot, want 1", won.Load())
	}
}
