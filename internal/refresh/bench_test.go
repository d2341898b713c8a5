package refresh

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// go test -run '^$' -bench . ./internal/refresh
//
// BenchmarkFanOut: 400 due connections, Zoho at 20 ms per token request,
// pacing lifted (the fakes): one process with one pool of 8 (a run
// before the fan-out), against 16 shard workers with a pool of 8 each (as
// the Lambda workers run). It reports connections refreshed per second.
func BenchmarkFanOut(b *testing.B) {
	const n = 400
	for _, mode := range []string{"one pool of 8", "16 workers of 8"} {
		b.Run(mode, func(b *testing.B) {
			var refreshed int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				f := newFixture(b)
				f.zoho.latency = 20 * time.Millisecond
				f.svc.Workers = 8
				for i := range n {
					f.add(fmt.Sprintf("ok-%d", i), time.Minute)
				}
				b.StartTimer()
				start := time.Now()
				if mode == "one pool of 8" {
					sum, err := f.svc.Run(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					refreshed += sum.Refreshed
				} else {
					var mu sync.Mutex
					var wg sync.WaitGroup
					for _, shard := range Shards() {
						wg.Go(func() {
							sum, err := f.svc.RunShard(context.Background(), ShardRequest{Shard: shard})
							if err != nil {
								panic(err)
							}
							mu.Lock()
							refreshed += sum.Refreshed
							mu.Unlock()
						})
					}
					wg.Wait()
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(refreshed)/elapsed.Seconds(), "conns/s")
		})
	}
}

// BenchmarkIdleDay: 500 connections over four days of 10-minute runs on
// a moved clock, a tenth of them submitting every hour (sync's RecordUse)
// and the rest not at all, with IdleAfterHours 24 and 0 (every connection
// kept fresh). It reports, for the last three days (the steady state), Zoho
// token requests per connection per day and due-index items read per
// run.
func BenchmarkIdleDay(b *testing.B) {
	for _, idleAfter := range []time.Duration{24 * time.Hour, 0} {
		b.Run(fmt.Sprintf("IdleAfter=%v", idleAfter), func(b *testing.B) {
			var calls, reads, runs int
			var active, idle int
			for b.Loop() {
				b.StopTimer()
				f := newFixture(b)
				now := f.now
				clk := func() time.Time { return now }
				f.svc.Now, f.svc.IdleAfter = clk, idleAfter
				f.svc.OAuth.(staticOAuth).conf.Now = clk
				counting := &countingReads{fakeStore: f.store}
				f.svc.Connections = counting
				var used []string
				for i := range 500 {
					lastUse := now.Add(-48 * time.Hour)
					if i%10 == 0 {
						lastUse = now
					}
					id := f.add(fmt.Sprintf("ok-%d", i), time.Duration(i%60)*time.Minute, func(c *connection.Connection) { c.LastUsedAt = lastUse })
					if i%10 == 0 {
						used = append(used, id)
					}
				}
				b.StartTimer()
				start := now
				firstDay := map[int]int{}
				for step := 1; step <= 4*144; step++ {
					if step == 145 {
						for i := range 500 {
							firstDay[i] = f.zoho.callsFor(fmt.Sprintf("ok-%d", i))
						}
						counting.mu.Lock()
						counting.items = 0
						counting.mu.Unlock()
					}
					now = start.Add(time.Duration(step) * 10 * time.Minute)
					if step%6 == 0 {
						for _, id := range used {
							_, _ = f.store.RecordUse(context.Background(), id, now)
						}
					}
					if _, err := f.svc.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
					if step > 144 {
						runs++
					}
				}
				reads += counting.items
				for i := range 500 {
					c := f.zoho.callsFor(fmt.Sprintf("ok-%d", i)) - firstDay[i]
					calls += c
					if i%10 == 0 {
						active += c
					} else {
						idle += c
					}
				}
			}
			days := float64(runs) / 144
			b.ReportMetric(float64(calls)/days/500, "zoho/conn/day")
			b.ReportMetric(float64(active)/days/50, "zoho/active/day")
			b.ReportMetric(float64(idle)/days/450, "zoho/idle/day")
			b.ReportMetric(float64(reads)/float64(runs), "index-items/run")
		})
	}
}

// countingReads counts the items the due index answered.
type countingReads struct {
	*fakeStore
	mu    sync.Mutex
	items int
}

func (c *countingReads) DuePage(ctx context.Context, part string, before time.Time, limit int, after connection.DueKey) ([]*connection.Connection, bool, error) {
	cs, more, err := c.fakeStore.DuePage(ctx, part, before, limit, after)
	c.mu.Lock()
	c.items += len(cs)
	c.mu.Unlock()
	return cs, more, err
}
