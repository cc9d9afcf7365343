// Package scale runs lvback on a generated tree of 1,000,000 files: a full
// backup, an incremental after 1% of the files changed, a verify and a
// prune, printing the wall time and peak RSS of each and failing when a
// step fails or its peak RSS reaches maxRSS. It skips unless
// LVBACK_SCALE=1, so `go test ./...` stays fast; `make test-scale` runs it.
// Wall times are reported, never asserted.
package scale

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/testsys"
)

const (
	// maxRSS is issue 7's ceiling for every step's peak resident memory.
	maxRSS = 300 << 20
	// defaultFiles is the tree's size; LVBACK_SCALE_FILES overrides it for
	// a quicker look.
	defaultFiles = 1_000_000
	// scratchSize is the sparse ext4 image the tree and repository live in
	// when root: about 1 KiB a file twice, plus room for the inode tables.
	scratchSize = 16 << 30
)

func TestScale(t *testing.T) {
	if os.Getenv("LVBACK_SCALE") != "1" {
		t.Skip("set LVBACK_SCALE=1 (make test-scale) to back up a 1,000,000-file tree (about 10 minutes, 3 GB of disk)")
	}
	files := defaultFiles
	if s := os.Getenv("LVBACK_SCALE_FILES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("LVBACK_SCALE_FILES=%q: %v", s, err)
		}
		files = n
	}
	bin := t.TempDir()
	lvback, gentree := filepath.Join(bin, "lvback"), filepath.Join(bin, "gentree")
	for out, pkg := range map[string]string{lvback: "github.com/lvback/lvback/cmd/lvback", gentree: "github.com/lvback/lvback/bench/gentree"} {
		if err := fakelvmtest.GoBuild(out, pkg); err != nil {
			t.Fatal(err)
		}
	}
	base := scratch(t)
	src, repo := filepath.Join(base, "src"), filepath.Join(base, "repo")
	dirs := strconv.Itoa(max(files/100, 1))

	// Small files (16 B - 4 KiB, log-uniform, about 1 KiB on average), so
	// the run measures per-file work, not disk bandwidth.
	backup := []string{lvback, "backup", "--repo", repo, "--name", "scale", "--source", src, "-q"}
	steps := []step{
		{"generate", []string{gentree, "-files", strconv.Itoa(files), "-dirs", dirs, "-min", "16", "-max", "4096", "-seed", "1", src}, true},
		{"init", []string{lvback, "init", "--repo", repo, "-q"}, true},
		{"full backup", backup, false},
		{"change 1%", []string{gentree, "-change", "1", "-min", "16", "-max", "4096", "-seed", "2", src}, true},
		{"incremental backup", backup, false},
		{"verify", []string{lvback, "verify", "--repo", repo, "-q"}, false},
		{"prune", []string{lvback, "prune", "--repo", repo, "--keep-last", "1", "-q"}, false},
	}
	report := fmt.Sprintf("%d files, scratch %s\n%-20s %10s %12s\n", files, base, "step", "wall", "peak RSS")
	for _, s := range steps {
		wall, rss := s.run(t)
		report += fmt.Sprintf("%-20s %10s %9.1f MB\n", s.name, wall.Round(10*time.Millisecond), float64(rss)/(1<<20))
		if !s.helper && rss >= maxRSS {
			t.Errorf("%s: peak RSS %.1f MB, limit %d MB", s.name, float64(rss)/(1<<20), maxRSS>>20)
		}
	}
	t.Log("\n" + report)
}

// step is one command of the scale run; helper steps (tree generation)
// are timed but not held to maxRSS.
type step struct {
	name   string
	args   []string
	helper bool
}

// run runs the step to its end, failing t unless it exits 0, and returns
// its wall time and the peak RSS wait4 reports for it.
func (s step) run(t *testing.T) (time.Duration, int64) {
	t.Helper()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout (prune's keep/remove list) is not needed
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\n%s", s.name, err, stderr.Bytes())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, ru.Maxrss << 10 // Linux reports KiB
}

// scratch returns the directory the run works in: as root, a fresh sparse
// ext4 image loop-mounted until t ends (unmounting is the fast way to drop
// millions of files); otherwise a temporary directory.
func scratch(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Log("not root: working in a temporary directory on the disk (removing it takes a while)")
		return t.TempDir()
	}
	return testsys.MountImage(t, []string{"mkfs.ext4", "-q", "-F", "-N", "3000000", "-E", "nodiscard"}, scratchSize)
}
