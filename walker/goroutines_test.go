package walker_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/walker"
)

// TestWalkLeavesNoGoroutines: however Walk ends, no goroutine it started
// outlives it.
func TestWalkLeavesNoGoroutines(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Random(4, 2000))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		root string
		fn   func(calls int) error
	}{
		{"complete", context.Background(), root, func(int) error { return nil }},
		{"fn error", context.Background(), root, func(calls int) error {
			if calls == 300 {
				return errStop
			}
			return nil
		}},
		{"canceled before", canceled, root, func(int) error { return nil }},
		{"missing root", context.Background(), root + "/missing", func(int) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, jobs := range []int{1, 8} {
				before := runtime.NumGoroutine()
				calls := 0
				_ = walker.Walk(tc.ctx, tc.root, walker.Options{Jobs: jobs}, func(*walker.Entry) error {
					calls++
					return tc.fn(calls)
				})
				if n, leaked := leakedGoroutines(before); leaked {
					t.Errorf("Jobs=%d: %d goroutines after Walk, %d before", jobs, n, before)
				}
			}
		})
	}
}

// TestWalkPanicLeavesNoGoroutines: a panic in fn unwinds through Walk
// without leaving its readers running ("No goroutine outlives the call").
func TestWalkPanicLeavesNoGoroutines(t *testing.T) {
	root := t.TempDir()
	testtree.Create(t, root, testtree.Random(5, 200))
	before := runtime.NumGoroutine()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		_ = walker.Walk(context.Background(), root, walker.Options{Jobs: 4}, func(*walker.Entry) error {
			panic("fn failed")
		})
	}()
	if n, leaked := leakedGoroutines(before); leaked {
		t.Fatalf("%d goroutines after Walk panicked, %d before", n, before)
	}
}

// TestLeakCheckCanFail: leakedGoroutines does see a goroutine left behind.
func TestLeakCheckCanFail(t *testing.T) {
	before := runtime.NumGoroutine()
	release := make(chan struct{})
	go func() { <-release }()
	_, leaked := leakedGoroutines(before)
	close(release)
	if !leaked {
		t.Fatal("a blocked goroutine went unnoticed")
	}
	if _, leaked := leakedGoroutines(before); leaked {
		t.Fatal("the goroutine did not end")
	}
}

// leakedGoroutines waits up to a second for the number of goroutines to
// fall to before (exiting goroutines need a moment) and returns the last
// count and whether it stayed above.
func leakedGoroutines(before int) (int, bool) {
	deadline := time.Now().Add(time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return n, false
		}
		if time.Now().After(deadline) {
			return n, true
		}
		time.Sleep(10 * time.Millisecond)
	}
}
