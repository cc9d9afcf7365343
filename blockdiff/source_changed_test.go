package blockdiff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testsys"
)

// editingStore is a memStore that runs edit once, at the first Put: after
// Backup opened the source and before it finished reading it (Backup
// waits for every Put before it looks at the source again).
type editingStore struct {
	*memStore
	edit func()
	done bool // guarded by memStore.mu
}

var _ ChunkStore = (*editingStore)(nil)

func (s *editingStore) Put(ctx context.Context, id ID, data []byte) error {
	s.memStore.mu.Lock()
	first := !s.done
	s.done = true
	s.memStore.mu.Unlock()
	if first && s.edit != nil {
		s.edit()
	}
	return s.memStore.Put(ctx, id, data)
}

// A regular file written while Backup reads it (grown, overwritten in
// place, touched, chmod-ed) is reported in Stats.SourceChanged, naming
// what moved; the index is still written. An untouched file is not.
func TestBackupNoticesSourceChange(t *testing.T) {
	const size = 8 * 64 * kib
	tests := []struct {
		name  string
		edit  func(t *testing.T, path string)
		moved []string // in SourceChanged; none: want it empty
	}{
		{"unchanged", nil, nil},
		{"grown", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			testsys.Must(t, err)
			defer f.Close()
			_, err = f.WriteString("appended")
			testsys.Must(t, err)
		}, []string{"size 524288 -> 524296 bytes", "mtime", "ctime"}},
		{"overwritten in place", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			testsys.Must(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte("new data"), 3*64*kib)
			testsys.Must(t, err)
		}, []string{"mtime", "ctime"}},
		{"mtime set back", func(t *testing.T, path string) {
			testsys.Must(t, os.Chtimes(path, time.Time{}, time.Unix(1_000_000_000, 0)))
		}, []string{"mtime", "2001-09-09T01:46:40Z", "ctime"}},
		{"chmod", func(t *testing.T, path string) {
			testsys.Must(t, os.Chmod(path, 0o600))
		}, []string{"ctime"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			writeImage(t, src, size, span{0, size, "random", 1})
			waitForNewCtime(t, src)
			store := &editingStore{memStore: newMemStore()}
			if tc.edit != nil {
				store.edit = func() { tc.edit(t, src) }
			}
			index := filepath.Join(dir, "index")
			_, st, err := Backup(context.Background(), src, store, index, Options{ChunkSize: 64 * kib, Workers: 2})
			testsys.Must(t, err)
			if _, err := os.Stat(index); err != nil {
				t.Errorf("index not written: %v", err)
			}
			if len(tc.moved) == 0 && st.SourceChanged != "" {
				t.Errorf("SourceChanged = %q for an untouched source", st.SourceChanged)
			}
			if len(tc.moved) > 0 && st.SourceChanged == "" {
				t.Fatal("the change went unnoticed")
			}
			for _, want := range tc.moved {
				if !strings.Contains(st.SourceChanged, want) {
					t.Errorf("SourceChanged = %q, want it to name %q", st.SourceChanged, want)
				}
			}
			if tc.name == "chmod" && strings.Contains(st.SourceChanged, "mtime") {
				t.Errorf("SourceChanged = %q: a chmod moves no mtime", st.SourceChanged)
			}
		})
	}
}

// waitForNewCtime waits until a change made now would give path a ctime
// other than its own: file systems stamp with a coarse clock (a jiffy),
// and an edit within the tick that wrote the image would move nothing.
func waitForNewCtime(t *testing.T, path string) {
	t.Helper()
	ctime := func(p string) syscall.Timespec {
		var st syscall.Stat_t
		testsys.Must(t, syscall.Stat(p, &st))
		return st.Ctim
	}
	was := ctime(path)
	probe := path + ".probe"
	defer os.Remove(probe)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		testsys.Must(t, os.WriteFile(probe, nil, 0o600))
		if ctime(probe) != was {
			return
		}
	}
	t.Fatal("the file system clock did not move in 5s")
}
