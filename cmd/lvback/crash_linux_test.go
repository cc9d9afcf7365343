package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/btrfs"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/internal/testtree"
	"github.com/lvback/lvback/repo"
)

// The crash matrix SIGKILLs the lvback binary during a file-mode backup, a
// block-mode backup, a prune, a file-mode restore and a block-mode restore,
// at kill points of two kinds:
//
//   - time offsets spread evenly over a run of the same operation measured
//     just before (crashTimeKills per operation), which land wherever the
//     run happens to be: walking, copying, writing chunks, removing trees;
//   - the entry of one exact system call, killed by strace's syscall
//     injection (the first syncfs, fsync, rename, unlink...), which hits
//     the short commit windows a time offset almost never does. These
//     points skip when strace is missing or cannot trace.
//
// After every kill: every complete backup verifies, no backup the killed
// run did not finish is listed as complete, a restore target is either
// complete or flagged incomplete. Then the same operation runs again
// uninterrupted: it must succeed, produce the right result (checked with
// rsync or byte comparison) and leave no leftovers (ID.partial and
// ID.deleting directories, chunk temp files, a lock holder's pid).

// crashTimeKills is how many time-offset kills each operation gets: fewer
// when strace adds its exact kill points, so that the matrix always has
// at least 30 and stays within about a minute.
func crashTimeKills(withStrace bool) int {
	if withStrace {
		return 4
	}
	return 6
}

// crashEnv is one operation's repository, sources and restore targets.
type crashEnv struct {
	t        *testing.T
	bin      string
	src      string // directory source: a random tree, churn/ and big/
	img      string // block-mode source image
	repo     string
	target   string // file-mode restore target
	imgOut   string // block-mode restore target
	rng      *rand.Rand
	complete map[string]int // complete backups per name before the kill
	newest   map[string]string
}

const (
	crashBigFiles   = 12      // files of 1 MiB in big/
	crashChurnFiles = 200     // small files in churn/, rewritten every cycle
	crashImgChunks  = 8       // 2 MiB chunks in the image
	crashChunk      = 2 << 20 // blockdiff's default chunk size
)

func newCrashEnv(t *testing.T) *crashEnv {
	base := crashScratch(t)
	e := &crashEnv{t: t, bin: lvbackBinary(t), src: filepath.Join(base, "src"), img: filepath.Join(base, "disk.img"),
		repo: initRepo(t, filepath.Join(base, "repo")), target: filepath.Join(base, "restored"), imgOut: filepath.Join(base, "out", "disk.img"),
		rng: rand.New(rand.NewPCG(uint64(len(t.Name())), 7))}
	if err := os.MkdirAll(e.src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(e.imgOut), 0o755)
	testtree.Create(t, e.src, testtree.Random(11, 800))
	os.MkdirAll(filepath.Join(e.src, "big"), 0o755)
	os.MkdirAll(filepath.Join(e.src, "churn"), 0o755)
	e.churn(crashBigFiles)
	e.writeRandom(e.img, 0, crashImgChunks*crashChunk)
	return e
}

// crashScratch returns the directory a crash environment lives in: as
// root a tmpfs of its own (a SIGKILL leaves the page cache as it is, so
// the outcome is the same as on a disk, and syncfs does not wait for other
// processes' writes), else a temporary directory; and a temporary
// directory when TMPDIR is on btrfs (make test-btrfs), so that the matrix
// kills subvolume-layout runs.
func crashScratch(t *testing.T) string {
	if onBtrfs, _ := btrfs.IsBtrfs(os.TempDir()); os.Geteuid() != 0 || onBtrfs {
		return t.TempDir()
	}
	return testsys.MountTmpfs(t, 1<<30)
}

// churn rewrites every churn/ file and the first nBig files of big/.
func (e *crashEnv) churn(nBig int) {
	for i := range crashChurnFiles {
		e.writeRandom(filepath.Join(e.src, "churn", "c"+strconv.Itoa(i)), 0, 100+e.rng.IntN(4000))
	}
	for i := range nBig {
		e.writeRandom(filepath.Join(e.src, "big", "b"+strconv.Itoa(i)), 0, 1<<20)
	}
}

// churnImage rewrites n random chunks of the image.
func (e *crashEnv) churnImage(n int) {
	for range n {
		e.writeRandom(e.img, int64(e.rng.IntN(crashImgChunks))*crashChunk, crashChunk)
	}
}

func (e *crashEnv) writeRandom(path string, off int64, n int) {
	buf := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := e.rng.Uint64()
		for j := range 8 {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteAt(buf, off)
		f.Close()
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// lvback runs the binary to its end and fails t unless it exits with want.
func (e *crashEnv) lvback(want int, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != want {
		e.t.Fatalf("lvback %q: exit %d, want %d; stderr: %s", args, code, want, errb.String())
	}
	return out.String() + errb.String()
}

// listing returns `list --json`.
func (e *crashEnv) listing() []listItem {
	e.t.Helper()
	var items []listItem
	if err := json.Unmarshal([]byte(e.lvback(0, "list", "--repo", e.repo, "--json", "-q")), &items); err != nil {
		e.t.Fatal(err)
	}
	return items
}

// snapshotListing records how many complete backups each name has, and
// the newest one, before a kill.
func (e *crashEnv) snapshotListing() {
	e.complete, e.newest = map[string]int{}, map[string]string{}
	if _, err := os.Stat(e.repo); err != nil {
		return
	}
	for _, it := range e.listing() {
		if it.Complete {
			e.complete[it.Name]++
			e.newest[it.Name] = it.ID
		}
	}
}

// killPoint is where a run is killed: after a delay, or on entry to the
// when-th call (per thread) of a system call set, by strace.
type killPoint struct {
	after   time.Duration
	syscall string // e.g. "syncfs" or "rename,renameat,renameat2"
	when    int
}

func (k killPoint) String() string {
	if k.syscall != "" {
		return fmt.Sprintf("at %s #%d", k.syscall, k.when)
	}
	return "after " + k.after.Round(time.Millisecond).String()
}

// runKilled runs lvback with args and kills it at k. It returns whether
// the kill happened (false: the run ended first) and the run's stderr.
func (e *crashEnv) runKilled(k killPoint, args []string) (bool, string) {
	e.t.Helper()
	var cmd *exec.Cmd
	if k.syscall != "" {
		inject := fmt.Sprintf("inject=%s:signal=KILL:when=%d", k.syscall, k.when)
		cmd = exec.Command("strace", append([]string{"-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", inject, e.bin}, args...)...)
	} else {
		cmd = exec.Command(e.bin, args...)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	if k.syscall == "" {
		time.Sleep(k.after)
		cmd.Process.Kill()
	}
	cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() && ws.ExitStatus() != 0 && !(k.syscall != "" && ws.ExitStatus() == 128+int(syscall.SIGKILL)) {
		e.t.Fatalf("lvback %q failed on its own (%v): %s", args, cmd.ProcessState, errb.String())
	}
	killed := ws.Signaled() || ws.ExitStatus() == 128+int(syscall.SIGKILL)
	return killed, errb.String()
}

// crashOp is one operation of the matrix.
type crashOp struct {
	name    string
	setup   func(e *crashEnv)          // once: backups the operation needs
	prepare func(e *crashEnv)          // before every run: give it work
	args    func(e *crashEnv) []string // the command that is killed
	points  []killPoint                // strace kill points
	// subvolPoints replace points for a subvolume-layout repository,
	// whose runs make other system calls (ioctls, no links).
	subvolPoints []killPoint
	check        func(e *crashEnv) // after a kill, besides verify
	finish       func(e *crashEnv) // the uninterrupted next run and its checks
}

// pointsFor returns op's strace kill points for e's repository layout.
func (op crashOp) pointsFor(e *crashEnv) []killPoint {
	if r, err := repo.Open(e.repo); err == nil && r.Layout == repo.LayoutSubvolume && op.subvolPoints != nil {
		return op.subvolPoints
	}
	return op.points
}

func TestCrashMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the crash matrix SIGKILLs lvback about 50 times (a minute)")
	}
	strace := straceWorks()
	if strace != nil {
		t.Logf("syscall kill points skipped: %v", strace)
	}
	kills := 0
	for _, op := range crashOps() {
		t.Run(op.name, func(t *testing.T) {
			e := newCrashEnv(t)
			op.setup(e)
			// Calibrate: one uninterrupted run, timed, then its checks.
			op.prepare(e)
			start := time.Now()
			e.lvback(0, op.args(e)...)
			d := time.Since(start)
			op.finish(e)
			e.noLeftovers()
			t.Logf("uninterrupted run: %v", d.Round(time.Millisecond))
			var points []killPoint
			n := crashTimeKills(strace == nil)
			for i := range n {
				points = append(points, killPoint{after: d * time.Duration(2*i+1) / time.Duration(2*n)})
			}
			if strace == nil {
				points = append(points, op.pointsFor(e)...)
			}
			hit := 0
			for _, k := range points {
				op.prepare(e)
				e.snapshotListing()
				killed, stderr := e.runKilled(k, op.args(e))
				if k.syscall != "" && !killed {
					t.Fatalf("kill point %v was never reached; stderr: %s", k, stderr)
				}
				t.Logf("kill %v: killed=%v, %s", k, killed, e.describe())
				if killed {
					hit++
				}
				e.lvback(0, "verify", "--repo", e.repo, "-q")
				op.check(e)
				op.finish(e)
				e.noLeftovers()
			}
			if hit == 0 {
				t.Fatal("every run ended before its kill: nothing was tested")
			}
			kills += hit
		})
	}
	t.Logf("%d runs killed in all", kills)
}

// straceWorks returns why strace cannot kill on a system call here, or nil.
func straceWorks() error {
	if _, err := exec.LookPath("strace"); err != nil {
		return fmt.Errorf("strace not installed (scripts/deps.sh installs it): %w", err)
	}
	out, err := exec.Command("strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", "inject=getppid:signal=KILL", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("strace cannot trace here: %v: %s", err, out)
	}
	return nil
}

const renames = "rename,renameat,renameat2"

func crashOps() []crashOp {
	backupFiles := func(e *crashEnv) []string {
		return []string{"backup", "--repo", e.repo, "--name", "files", "--source", e.src, "-q"}
	}
	backupBlocks := func(e *crashEnv) []string {
		return []string{"backup", "--repo", e.repo, "--name", "vm", "--mode", "blocks", "--source", e.img, "-q"}
	}
	return []crashOp{{
		name:    "backup-files",
		setup:   func(e *crashEnv) { e.lvback(0, backupFiles(e)...) },
		prepare: func(e *crashEnv) { e.churn(6) },
		args:    backupFiles,
		points: []killPoint{
			{syscall: "mkdir,mkdirat", when: 1}, // before ID.partial exists
			{syscall: "linkat", when: 1},        // first link to the previous backup
			{syscall: "syncfs", when: 1},        // data written, nothing committed
			{syscall: "fsync", when: 1},         // the manifest's data
			{syscall: renames, when: 1},         // the manifest's rename
		},
		// strace counts calls per thread, so only the first of each is
		// exact; engine's TestSealedPartialIsRemoved covers a run that
		// died between sealing its tree and committing.
		subvolPoints: []killPoint{
			{syscall: "mkdir,mkdirat", when: 1}, // before ID.partial exists
			{syscall: "ioctl", when: 1},         // the snapshot of the previous tree
			{syscall: "syncfs", when: 1},        // changes applied in place, nothing committed
			{syscall: renames, when: 1},         // the manifest's rename, before the seal
		},
		check:  func(e *crashEnv) { e.checkBackupAfterKill("files") },
		finish: func(e *crashEnv) { e.lvback(0, backupFiles(e)...); e.checkNewestTree() },
	}, {
		name:    "backup-blocks",
		setup:   func(e *crashEnv) { e.lvback(0, backupBlocks(e)...) },
		prepare: func(e *crashEnv) { e.churnImage(4) },
		args:    backupBlocks,
		points: []killPoint{
			{syscall: "mkdir,mkdirat", when: 1}, // before ID.partial exists
			{syscall: "fsync", when: 1},         // the first chunk's data
			{syscall: renames, when: 1},         // the first chunk's name
		},
		check:  func(e *crashEnv) { e.checkBackupAfterKill("vm") },
		finish: func(e *crashEnv) { e.lvback(0, backupBlocks(e)...); e.checkNewestImage() },
	}, {
		name:  "prune",
		setup: func(*crashEnv) {},
		prepare: func(e *crashEnv) { // one backup of each name to remove
			e.churn(2)
			e.lvback(0, backupFiles(e)...)
			e.churnImage(3)
			e.lvback(0, backupBlocks(e)...)
		},
		args: func(e *crashEnv) []string { return []string{"prune", "--repo", e.repo, "--keep-last", "1", "-q"} },
		points: []killPoint{
			{syscall: renames, when: 1},    // retiring the first backup
			{syscall: "unlinkat", when: 1}, // the first removal
			{syscall: "unlinkat", when: 100},
		},
		subvolPoints: []killPoint{
			{syscall: renames, when: 1},    // retiring the first backup
			{syscall: "ioctl", when: 1},    // deleting its tree's subvolume
			{syscall: "unlinkat", when: 1}, // the first removal after it
		},
		check: func(e *crashEnv) { e.checkPruneAfterKill() },
		finish: func(e *crashEnv) {
			e.lvback(0, "prune", "--repo", e.repo, "--keep-last", "1", "-q")
			e.snapshotListing()
			if e.complete["files"] != 1 || e.complete["vm"] != 1 {
				e.t.Fatalf("after prune --keep-last 1: %v complete backups", e.complete)
			}
			e.checkNewestTree()
			e.checkNewestImage()
		},
	}, {
		name: "restore-files",
		setup: func(e *crashEnv) {
			e.lvback(0, backupFiles(e)...)
		},
		prepare: func(e *crashEnv) { os.RemoveAll(e.target) },
		args: func(e *crashEnv) []string {
			return []string{"restore", "--repo", e.repo, "--name", "files", "--target", e.target, "-q"}
		},
		points: []killPoint{
			{syscall: "openat2", when: 200}, // amid the copies (tree and target are opened beneath their roots with openat2)
			{syscall: "syncfs", when: 1},    // all written, not yet synced
			{syscall: "unlinkat", when: 1},  // removing the marker
		},
		check: func(e *crashEnv) { e.checkRestoreAfterKill() },
		finish: func(e *crashEnv) {
			// --root-metadata: a kill after the marker's removal leaves
			// no marker, and the target then keeps its own times on a
			// forced restore unless the root is restored onto it on purpose.
			e.lvback(0, "restore", "--repo", e.repo, "--name", "files", "--target", e.target, "--force", "--root-metadata", "-q")
			if _, err := os.Lstat(filepath.Join(e.target, engine.RestoreMarker)); err == nil {
				e.t.Fatal("a finished restore left its marker")
			}
			if d := testtree.RsyncDiff(e.t, e.src, e.target); d != "" {
				e.t.Fatalf("restored tree differs:\n%s", d)
			}
		},
	}, {
		name:    "restore-blocks",
		setup:   func(e *crashEnv) { e.lvback(0, backupBlocks(e)...) },
		prepare: func(e *crashEnv) { os.Remove(e.imgOut) },
		args: func(e *crashEnv) []string {
			return []string{"restore", "--repo", e.repo, "--name", "vm", "--target", e.imgOut, "-q"}
		},
		points: []killPoint{
			{syscall: "fsync", when: 1}, // the image's data
			{syscall: renames, when: 1}, // the temporary file's rename
		},
		check: func(e *crashEnv) {
			if _, err := os.Lstat(e.imgOut); err == nil {
				e.sameImage(e.imgOut) // the rename happened: it must be whole
			}
		},
		finish: func(e *crashEnv) {
			e.lvback(0, "restore", "--repo", e.repo, "--name", "vm", "--target", e.imgOut, "-q")
			e.sameImage(e.imgOut)
		},
	}}
}

// checkBackupAfterKill: the killed backup is either complete (and then the
// next checks compare it with the source) or not listed as complete.
func (e *crashEnv) checkBackupAfterKill(name string) {
	e.t.Helper()
	before := e.complete[name]
	e.snapshotListing()
	switch e.complete[name] {
	case before:
	case before + 1: // killed after the commit: it must be whole
		if name == "files" {
			e.checkNewestTree()
		} else {
			e.checkNewestImage()
		}
	default:
		e.t.Fatalf("%d complete backups of %s after the kill, %d before", e.complete[name], name, before)
	}
}

// checkPruneAfterKill: no complete backup appeared, and the newest of
// every name is still there.
func (e *crashEnv) checkPruneAfterKill() {
	e.t.Helper()
	before, newest := e.complete, e.newest
	e.snapshotListing()
	for name, n := range e.complete {
		if n > before[name] || n < 1 || e.newest[name] != newest[name] {
			e.t.Fatalf("%s after the killed prune: %d complete, newest %s; before: %d, newest %s",
				name, n, e.newest[name], before[name], newest[name])
		}
	}
}

// checkRestoreAfterKill: the target is flagged incomplete, refused
// without --force, or it is whole.
func (e *crashEnv) checkRestoreAfterKill() {
	e.t.Helper()
	if _, err := os.Stat(e.target); err != nil {
		return // killed before the target was made
	}
	if _, err := os.Lstat(filepath.Join(e.target, engine.RestoreMarker)); err != nil {
		// A kill between the marker's removal and the target's own mtime
		// (removing the marker changes it) leaves only that mtime, as
		// engine.Restore documents.
		if d := testtree.RsyncDiff(e.t, e.src, e.target); d != "" && !onlyRootMtime(d) {
			e.t.Fatalf("killed restore left a partial target without the marker:\n%s", d)
		}
		return
	}
	out := e.lvback(exitFailed, "restore", "--repo", e.repo, "--name", "files", "--target", e.target)
	if !strings.Contains(out, "interrupted restore") {
		e.t.Fatalf("restore into a flagged target: %s", out)
	}
}

// onlyRootMtime reports whether an RsyncDiff result names nothing but the
// top directory's modification time.
func onlyRootMtime(diff string) bool {
	for _, line := range strings.Split(strings.TrimSpace(diff), "\n") {
		if strings.HasPrefix(line, "rsync ") {
			continue // the header of one direction
		}
		f := strings.Fields(line)
		if len(f) != 2 || f[1] != "./" || !strings.HasPrefix(f[0], ".d") || strings.Trim(f[0][2:], ".t") != "" {
			return false
		}
	}
	return true
}

// checkNewestTree compares the newest complete file-mode backup with the
// source.
func (e *crashEnv) checkNewestTree() {
	e.t.Helper()
	items := e.listing()
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].Name == "files" && items[i].Complete {
			if d := testtree.RsyncDiff(e.t, e.src, items[i].Path); d != "" {
				e.t.Fatalf("backup %s differs from the source:\n%s", items[i].ID, d)
			}
			return
		}
	}
	e.t.Fatal("no complete file-mode backup")
}

// checkNewestImage restores the newest block-mode backup and compares it
// with the image.
func (e *crashEnv) checkNewestImage() {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "check.img")
	e.lvback(0, "restore", "--repo", e.repo, "--name", "vm", "--target", out, "-q")
	e.sameImage(out)
	os.Remove(out)
}

func (e *crashEnv) sameImage(path string) {
	e.t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	want, _ := os.ReadFile(e.img)
	if !bytes.Equal(got, want) {
		e.t.Fatalf("%s differs from the image (%d bytes, want %d)", path, len(got), len(want))
	}
}

// noLeftovers fails t if the repository holds an ID.partial or ID.deleting
// directory, any backup `list` shows as incomplete, a chunk temporary file,
// or a lock holder's pid.
func (e *crashEnv) noLeftovers() {
	e.t.Helper()
	var left []string
	dirs, _ := filepath.Glob(filepath.Join(e.repo, "backups", "*", "*"))
	for _, d := range dirs {
		if strings.HasSuffix(d, ".partial") || strings.HasSuffix(d, ".deleting") {
			left = append(left, d)
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(e.repo, "chunks", "*", ".*.tmp"))
	left = append(left, tmps...)
	if data, err := os.ReadFile(filepath.Join(e.repo, "lock")); err == nil && len(data) > 0 {
		left = append(left, "lock holds "+strings.TrimSpace(string(data)))
	}
	for _, it := range e.listing() {
		if !it.Complete {
			left = append(left, "incomplete backup "+it.Name+"/"+it.ID)
		}
	}
	if len(left) > 0 {
		e.t.Fatalf("leftovers after the next run: %q", left)
	}
	r, err := repo.Open(e.repo)
	if err != nil {
		e.t.Fatal(err)
	}
	l, err := r.Lock()
	if err != nil {
		e.t.Fatalf("lock still held after the next run: %v", err)
	}
	l.Unlock()
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(e.imgOut), ".*.tmp")); len(tmps) > 0 {
		e.t.Fatalf("temporary files of killed block restores are still there after the next restore: %q", tmps)
	}
}

// describe says what the repository and targets look like after a kill.
func (e *crashEnv) describe() string {
	var parts []string
	dirs, _ := filepath.Glob(filepath.Join(e.repo, "backups", "*", "*"))
	n := map[string]int{}
	for _, d := range dirs {
		switch {
		case strings.HasSuffix(d, ".partial"):
			n["partial"]++
		case strings.HasSuffix(d, ".deleting"):
			n["deleting"]++
		default:
			n["final"]++
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(e.repo, "chunks", "*", ".*.tmp"))
	parts = append(parts, fmt.Sprintf("backups %v, chunk temp files %d", n, len(tmps)))
	if _, err := os.Lstat(filepath.Join(e.target, engine.RestoreMarker)); err == nil {
		parts = append(parts, "restore target flagged incomplete")
	}
	return strings.Join(parts, "; ")
}

func TestOnlyRootMtime(t *testing.T) {
	for diff, want := range map[string]bool{
		"rsync a/ b/:\n.d..t...... ./\n":                                         true,
		"rsync a/ b/:\n.d..t...... ./\nrsync b/ a/ (reverse):\n.d..t...... ./\n": true,
		"rsync a/ b/:\n.d..t...... sub/\n":                                       false,
		"rsync a/ b/:\n.d..t...... ./\n>f+++++++++ lost\n":                       false,
		"rsync a/ b/:\n.d...p..... ./\n":                                         false,
	} {
		if got := onlyRootMtime(diff); got != want {
			t.Errorf("onlyRootMtime(%q) = %v, want %v", diff, got, want)
		}
	}
}
