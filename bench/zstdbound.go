package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// zstdBoundArg is the hidden first argument that makes the harness's own
// binary compute a zstd bound (see zstdBoundMain).
const zstdBoundArg = "__zstd-bound"

// boundResult is what zstdBoundMain prints.
type boundResult struct {
	Sample Sample  `json:"sample"`
	Ratio  float64 `json:"ratio"`
}

// zstdBound measures the compression limit of a block-mode backup of the
// image at path, in a child process so that holding the image in memory
// does not raise the harness's peak RSS (which the tools it starts would
// inherit, see timeCmd). The sample's Wall is the compression time; its
// rate over the whole image is the bound. It also returns the compression
// ratio.
func zstdBound(ctx context.Context, path string) (Sample, float64, error) {
	self, err := os.Executable()
	if err != nil {
		return Sample{}, 0, err
	}
	out, err := output(ctx, self, zstdBoundArg, path)
	if err != nil {
		return Sample{}, 0, err
	}
	var r boundResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return Sample{}, 0, fmt.Errorf("zstd bound of %s: %w", path, err)
	}
	return r.Sample, r.Ratio, nil
}

// zstdBoundMain reads the image at path into memory, then times the
// compression of its non-zero chunks (all-zero ones are holes lvback does
// not store) with zstd SpeedFastest on GOMAXPROCS goroutines, and prints a
// boundResult.
func zstdBoundMain(path string) int {
	r, err := compressChunks(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

func compressChunks(ctx context.Context, path string) (boundResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return boundResult{}, err
	}
	zero := make([]byte, chunkSize)
	var chunks [][]byte
	for off := 0; off < len(data); off += chunkSize {
		c := data[off:min(off+chunkSize, len(data))]
		if !bytes.Equal(c, zero[:len(c)]) {
			chunks = append(chunks, c)
		}
	}
	var in, out atomic.Int64
	cpu0 := selfCPU()
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan []byte)
	g.Go(func() error {
		defer close(work)
		for _, c := range chunks {
			select {
			case work <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(runtime.GOMAXPROCS(0), max(1, len(chunks))) {
		g.Go(func() error {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err != nil {
				return err
			}
			defer enc.Close()
			var dst []byte
			for c := range work {
				dst = enc.EncodeAll(c, dst[:0])
				in.Add(int64(len(c)))
				out.Add(int64(len(dst)))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return boundResult{}, fmt.Errorf("zstd bound of %s: %w", path, err)
	}
	r := boundResult{Sample: Sample{Wall: time.Since(start), CPU: selfCPU() - cpu0, Written: -1}}
	if out.Load() > 0 {
		r.Ratio = float64(in.Load()) / float64(out.Load())
	}
	return r, nil
}

// selfCPU is the harness's own user+sys time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
