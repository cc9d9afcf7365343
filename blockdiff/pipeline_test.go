package blockdiff

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrderedKeepsOrderAndBound(t *testing.T) {
	for _, tc := range []struct{ n, workers, window int }{
		{0, 2, 4}, {1, 4, 8}, {100, 3, 6}, {57, 1, 2}, {200, 8, 16},
	} {
		var inFlight, maxInFlight atomic.Int64
		var consumed []int
		err := ordered{
			n: tc.n, workers: tc.workers, window: tc.window,
			produce: func(_ context.Context, i int) error {
				if v := inFlight.Add(1); v > maxInFlight.Load() {
					maxInFlight.Store(v)
				}
				return nil
			},
			work: func(_ context.Context, _, i int) error {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				return nil
			},
			consume: func(i int) error {
				consumed = append(consumed, i)
				inFlight.Add(-1)
				return nil
			},
		}.run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range consumed {
			if v != i {
				t.Fatalf("%+v: consumed %v", tc, consumed)
			}
		}
		if len(consumed) != tc.n || maxInFlight.Load() > int64(tc.window) {
			t.Errorf("%+v: consumed %d, at most %d in flight", tc, len(consumed), maxInFlight.Load())
		}
	}
}

func TestOrderedStopsAtFirstError(t *testing.T) {
	before := runtime.NumGoroutine()
	boom := errors.New("boom")
	for stage := range 3 {
		var consumed atomic.Int64
		fail := func(i int) error {
			if i == 30 {
				return boom
			}
			return nil
		}
		o := ordered{n: 1000, workers: 4, window: 8,
			produce: func(context.Context, int) error { return nil },
			work:    func(context.Context, int, int) error { return nil },
			consume: func(int) error { consumed.Add(1); return nil },
		}
		switch stage {
		case 0:
			o.produce = func(_ context.Context, i int) error { return fail(i) }
		case 1:
			o.work = func(_ context.Context, _, i int) error { return fail(i) }
		case 2:
			o.consume = func(i int) error { consumed.Add(1); return fail(i) }
		}
		if err := o.run(context.Background()); !errors.Is(err, boom) {
			t.Errorf("stage %d: error %v", stage, err)
		}
		if consumed.Load() > 31 {
			t.Errorf("stage %d: consumed %d items past the failure", stage, consumed.Load())
		}
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}
