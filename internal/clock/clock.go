// Package clock holds the small rules of time the services share: a source
// of now that tests can set, defaults for settings left at zero, and
// doubling backoff.
package clock

import "time"

// Func is a source of now; the zero value is the wall clock.
type Func func() time.Time

// Now is f's time, or time.Now when f is nil.
func (f Func) Now() time.Time {
	if f != nil {
		return f()
	}
	return time.Now()
}

// OrDefault is v when it is set (above zero), else def.
func OrDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Doubling is the wait before the n-th try (n >= 1; less counts as 1):
// base, doubling each time, at most max.
func Doubling(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
