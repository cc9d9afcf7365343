package blockdiff

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// ordered is a bounded three-stage pipeline over items 0..n-1:
//
//   - produce(i) runs in one goroutine, in item order (the sequential
//     reader of Backup);
//   - work(w, i) runs on up to workers goroutines in any order (w is the
//     worker's number, for per-worker scratch buffers);
//   - consume(i) runs in one goroutine, in item order (the image hash and
//     the index).
//
// At most window items are between produce and consume at any time, so
// when produce(i) is called, no other item in flight has the same slot
// i%window: callers keep per-item state in a slice of window slots. The
// first error cancels the context passed to the stages and is returned;
// run returns only when every goroutine it started has ended.
type ordered struct {
	n, workers, window int
	produce            func(ctx context.Context, i int) error // nil: nothing to do
	work               func(ctx context.Context, w, i int) error
	consume            func(i int) error
}

// run runs the pipeline to the end or to its first error.
func (o ordered) run(ctx context.Context) error {
	if o.n == 0 {
		return ctx.Err()
	}
	g, ctx := errgroup.WithContext(ctx)
	free := make(chan struct{}, o.window) // one token per free slot
	for range o.window {
		free <- struct{}{}
	}
	jobs := make(chan int, o.window)
	done := make(chan int, o.window)
	g.Go(func() error { return o.producer(ctx, free, jobs) })
	for w := range min(o.workers, o.n) { // never more workers than work
		g.Go(func() error {
			for i := range jobs {
				if err := o.work(ctx, w, i); err != nil {
					return err
				}
				done <- i // never blocks: at most window items are in flight
			}
			return nil
		})
	}
	g.Go(func() error { return o.consumer(ctx, free, done) })
	return g.Wait()
}

// producer hands items to the workers in order, each once a slot is free.
func (o ordered) producer(ctx context.Context, free <-chan struct{}, jobs chan<- int) error {
	defer close(jobs)
	for i := range o.n {
		select {
		case <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		if o.produce != nil {
			if err := o.produce(ctx, i); err != nil {
				return err
			}
		}
		jobs <- i // never blocks: len(jobs) <= in-flight items <= window
	}
	return nil
}

// consumer takes finished items back into order and frees their slots.
func (o ordered) consumer(ctx context.Context, free chan<- struct{}, done <-chan int) error {
	ready := make([]bool, o.window)
	for next := 0; next < o.n; {
		select {
		case i := <-done:
			ready[i%o.window] = true
		case <-ctx.Done():
			return ctx.Err()
		}
		for next < o.n && ready[next%o.window] {
			ready[next%o.window] = false
			if err := o.consume(next); err != nil {
				return err
			}
			next++
			free <- struct{}{} // never blocks: it has room for every token
		}
	}
	return nil
}
