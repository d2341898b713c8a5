package clock

import (
	"testing"
	"time"
)

func TestDoubling(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{-1, time.Minute}, {0, time.Minute}, {1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute},
		{5, 16 * time.Minute}, {6, 30 * time.Minute}, {60, 30 * time.Minute},
	} {
		if got := Doubling(time.Minute, 30*time.Minute, tc.n); got != tc.want {
			t.Errorf("Doubling(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestOrDefaultAndNow(t *testing.T) {
	if OrDefault(0, 5) != 5 || OrDefault(-1, 5) != 5 || OrDefault(3, 5) != 3 {
		t.Fatal("OrDefault")
	}
	if OrDefault(time.Duration(0), time.Second) != time.Second {
		t.Fatal("OrDefault duration")
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Func(func() time.Time { return at }).Now(); !got.Equal(at) {
		t.Fatalf("set clock: %v", got)
	}
	if got := Func(nil).Now(); time.Since(got) > time.Minute || time.Since(got) < 0 {
		t.Fatalf("wall clock: %v", got)
	}
}
