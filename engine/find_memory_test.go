package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
)

// findMemoryLimit is issue 14's bound for find over 30 backups of
// 1,000,000 entries each.
const findMemoryLimit = 100 << 20

// TestFindMemoryBounded runs Find's merge over 30 manifests of many
// entries (200,000 each; LVBACK_TEST_FIND_ENTRIES=1000000 for the
// issue's size) and checks that the peak heap stays under 100 MB and that
// every match is reported. The 30 backups share one manifest file (hard
// links): memory is per reader, whatever the file.
func TestFindMemoryBounded(t *testing.T) {
	n := 200_000
	if s := os.Getenv("LVBACK_TEST_FIND_ENTRIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	mpath := filepath.Join(dir, "manifest.zst")
	writeBigManifest(t, mpath, n)
	var bs []repo.Backup
	for i := range backupsN() {
		b := repo.Backup{Name: "vol", ID: fmt.Sprintf("2026-01-%02dT000000Z", i+1), Complete: true,
			Dir: filepath.Join(dir, strconv.Itoa(i)), Info: &repo.Info{Mode: repo.ModeFiles}}
		if err := os.Mkdir(b.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(mpath, b.ManifestPath()); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	m, err := exclude.NewMatcher("f7*7")
	if err != nil {
		t.Fatal(err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(FindMemoryLimit)) // as lvback find runs it
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // samples the heap while Find runs
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	groups, versions := 0, 0
	err = findBatches(context.Background(), bs, []*exclude.Matcher{m}, func(g []FindMatch) error {
		groups++
		versions += len(g)
		return nil
	})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := range n {
		if s := strconv.Itoa(i); len(s) >= 2 && s[0] == '7' && s[len(s)-1] == '7' {
			want++
		}
	}
	if groups != want || versions != backupsN()*want {
		t.Errorf("%d paths in %d versions, want %d in %d", groups, versions, want, backupsN()*want)
	}
	used := peak.Load() - min(peak.Load(), base.HeapInuse)
	t.Logf("find over 30 manifests of %d entries: peak heap in use %d MiB above the start", n, used>>20)
	if used > findMemoryLimit {
		t.Errorf("peak heap %d MiB, over %d MiB", used>>20, findMemoryLimit>>20)
	}
}

// writeBigManifest writes a manifest of a root and n files d/fI in
// dir "d" (paths in Compare order).
func writeBigManifest(t *testing.T, path string, n int) {
	t.Helper()
	w, err := manifest.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	add := func(e *manifest.Entry) {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	add(&manifest.Entry{Path: "", Type: manifest.TypeDir, Mode: 0o755})
	add(&manifest.Entry{Path: "d", Type: manifest.TypeDir, Mode: 0o755})
	names := make([]string, n)
	for i := range n {
		names[i] = "d/f" + strconv.Itoa(i)
	}
	slices.SortFunc(names, manifest.Compare)
	for i, p := range names {
		e := &manifest.Entry{Path: p, Type: manifest.TypeFile, Mode: 0o644, Size: int64(i), Inode: uint64(i + 2)}
		e.Hash[0], e.Hash[1] = byte(i), byte(i>>8)
		add(e)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func backupsN() int {
	if n, err := strconv.Atoi(os.Getenv("LVBACK_TEST_FIND_BACKUPS")); err == nil {
		return n
	}
	return 30
}

// TestFindManyBackupsOneGroup runs Find's merge over more backups than it
// reads side by side (maxMerged): each path is still one group holding
// every backup's version in order, a change is marked where it happens
// also when it falls on a batch's first backup, and a path that is not
// UTF-8 comes back as it is.
func TestFindManyBackupsOneGroup(t *testing.T) {
	const n = 2*maxMerged + 6
	changes := map[int]bool{10: true, maxMerged: true, 2 * maxMerged: true} // two of them a batch's first
	odd := "etc/\xffodd"
	dir := t.TempDir()
	var bs []repo.Backup
	content := byte(0)
	for i := range n {
		if changes[i] {
			content++
		}
		b := repo.Backup{Name: "vol", ID: fmt.Sprintf("2026-01-01T%06dZ", i), Complete: true,
			Dir: filepath.Join(dir, strconv.Itoa(i)), Info: &repo.Info{Mode: repo.ModeFiles}}
		if err := os.Mkdir(b.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		w, err := manifest.Create(b.ManifestPath())
		if err != nil {
			t.Fatal(err)
		}
		fstab := &manifest.Entry{Path: "etc/fstab", Type: manifest.TypeFile, Mode: 0o644, Size: 10, Inode: 3}
		fstab.Hash[0] = content
		for _, e := range []*manifest.Entry{
			{Path: "", Type: manifest.TypeDir, Mode: 0o755},
			{Path: "etc", Type: manifest.TypeDir, Mode: 0o755},
			fstab,
			{Path: odd, Type: manifest.TypeFile, Mode: 0o644, Inode: 4},
		} {
			if err := w.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	ms, err := findMatchers([]string{"fstab", "*odd"})
	if err != nil {
		t.Fatal(err)
	}
	var groups [][]FindMatch
	if err := findBatches(context.Background(), bs, ms, func(g []FindMatch) error {
		groups = append(groups, g)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0][0].Path != "/etc/fstab" || groups[1][0].Path != "/"+odd {
		t.Fatalf("%d groups, want /etc/fstab then /%q, one each", len(groups), odd)
	}
	for gi, g := range groups {
		if len(g) != n {
			t.Fatalf("group %s holds %d versions, want %d", g[0].Path, len(g), n)
		}
		for i, m := range g {
			if m.ID != bs[i].ID || m.Path != g[0].Path {
				t.Fatalf("version %d of %q is %s %q, want %s", i, g[0].Path, m.ID, m.Path, bs[i].ID)
			}
			if want := gi == 0 && changes[i]; m.Changed != want {
				t.Errorf("version %d of %q: changed %v, want %v", i, g[0].Path, m.Changed, want)
			}
		}
	}
}
