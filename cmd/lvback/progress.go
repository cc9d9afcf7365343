package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/lvback/lvback/engine"
)

// startProgress shows a progress bar (done, rate, ETA) on stderr while an
// operation runs, only when stderr is a terminal and --quiet is not set, so
// cron mails stay clean. Pass the returned Progress (nil when no bar is
// shown) to the operation and call stop when it returns.
func (g *globals) startProgress(what string) (*engine.Progress, func()) {
	f, ok := g.stderr.(*os.File)
	if g.quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	p := &engine.Progress{}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if total := p.TotalBytes.Load(); total > 0 && bar.GetMax64() != total {
				bar.ChangeMax64(total)
			}
			bar.Describe(fmt.Sprintf("%s %d entries", what, p.Entries.Load()))
			_ = bar.Set64(min(p.Bytes.Load(), max(bar.GetMax64(), p.Bytes.Load())))
			select {
			case <-done:
				_ = bar.Finish()
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return p, func() { once.Do(func() { close(done); <-finished }) }
}
