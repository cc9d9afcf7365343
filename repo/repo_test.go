package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Open never creates a repository: a missing or empty path (a backup disk
// that is not mounted) is refused, saying so and how to create one, and is
// left as it was. Create makes one only where Open found a missing or
// empty path.
func TestOpenRefusesCreateMakes(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr error
	}{
		{"missing directory", func(t *testing.T, dir string) { os.Remove(dir) }, nil},
		{"empty directory", func(t *testing.T, dir string) {}, nil},
		{"new file system", func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "lost+found"), 0o700) }, nil},
		{"lost+found and more", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "lost+found"), 0o700)
			os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
		}, ErrNotRepo},
		{"foreign non-empty directory", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644)
		}, ErrNotRepo},
		{"bad marker", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, MarkerFile), []byte(`{"format":"other"}`), 0o644)
		}, ErrNotRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			os.Mkdir(dir, 0o755)
			tt.setup(t, dir)
			before, beforeErr := os.ReadDir(dir)
			_, err := Open(dir)
			if !errors.Is(err, ErrNotRepo) {
				t.Fatalf("open: %v, want ErrNotRepo", err)
			}
			if msg := err.Error(); tt.wantErr == nil && (!strings.Contains(msg, "may not be mounted") || !strings.Contains(msg, "lvback init")) {
				t.Fatalf("open of a missing or empty path: %q does not say the disk may not be mounted and how to init", err)
			}
			if after, afterErr := os.ReadDir(dir); len(after) != len(before) || (beforeErr == nil) != (afterErr == nil) {
				t.Fatalf("open changed the directory: %v %v -> %v %v", before, beforeErr, after, afterErr)
			}
			r, err := Create(dir, Settings{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				after, _ := os.ReadDir(dir)
				if len(after) != len(before) {
					t.Fatalf("refused repository was modified: %d entries before, %d after", len(before), len(after))
				}
				return
			}
			again, err := Open(dir)
			if err != nil || again.ID != r.ID {
				t.Fatalf("reopen: %v, id %q vs %q", err, again.ID, r.ID)
			}
		})
	}
}

func TestBeginCommitIDs(t *testing.T) {
	r, err := Create(t.TempDir(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 3, 15, 0, 500, time.UTC)
	var ids []string
	for i := 0; i < 12; i++ { // many runs in the same second
		p, err := r.Begin("vol", now)
		if err != nil {
			t.Fatal(err)
		}
		if bs, _ := r.Backups("vol"); bs[len(bs)-1].Complete || !bs[len(bs)-1].Partial {
			t.Fatalf("a pending backup is listed as complete: %+v", bs[len(bs)-1])
		}
		if err := p.Commit(&Info{Started: now}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if ids[0] != "2026-11-25T031500Z" || ids[1] != "2026-11-25T031500Z-2" || ids[11] != "2026-11-25T031500Z-12" {
		t.Fatalf("ids = %v", ids)
	}
	bs, err := r.Backups("vol")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bs {
		if b.ID != ids[i] || !b.Complete {
			t.Fatalf("backup %d = %s complete=%v, want %s complete", i, b.ID, b.Complete, ids[i])
		}
	}
	latest, _ := r.Latest("vol")
	if latest.ID != ids[11] {
		t.Fatalf("latest = %s, want %s", latest.ID, ids[11])
	}
}

func TestForeignAndDamagedDirsAreNotBackups(t *testing.T) {
	r, err := Create(t.TempDir(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Begin("vol", time.Now())
	if err := p.Commit(&Info{}); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(r.Root, "backups", "vol")
	os.Mkdir(filepath.Join(base, "not-an-id"), 0o755)
	os.Mkdir(filepath.Join(base, "2020-01-01T000000Z"), 0o755) // final name, no info
	os.WriteFile(filepath.Join(base, "2020-01-02T000000Z.partial"), nil, 0o644)
	bs, _ := r.Backups("vol")
	if len(bs) != 2 || bs[0].Complete || bs[0].Partial || !bs[1].Complete {
		t.Fatalf("backups = %+v", bs)
	}
	ps, _ := r.Partials("vol")
	if len(ps) != 0 {
		t.Fatalf("a directory without the .partial suffix is listed for removal: %+v", ps)
	}
}

func TestLockExcludes(t *testing.T) {
	r, err := Create(t.TempDir(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	l.Unlock()
	l.Unlock()
	l2, err := r.Lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"vol", "xen-disk0", "db_1.data"} {
		if ValidName(n) != nil {
			t.Errorf("%q rejected", n)
		}
	}
	for _, n := range []string{"", ".", "..", "-rf", "a/b", "a b", "x;rm", "$(id)", "a\nb", string(make([]byte, 200))} {
		if ValidName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestRefusesWritableMarker(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, Settings{}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, MarkerFile), 0o666)
	if _, err := Open(dir); err == nil {
		t.Fatal("a world-writable marker was accepted")
	}
	os.Chmod(filepath.Join(dir, MarkerFile), 0o644)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
}

// Create records the block chunk size; a marker without one (written
// before the setting existed) means the default; Create refuses an
// existing repository.
func TestCreateSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Create(dir, Settings{BlockChunkSize: 1 << 20})
	if err != nil || r.BlockChunkSize != 1<<20 {
		t.Fatalf("Create: %v, chunk size %d", err, r.BlockChunkSize)
	}
	if r, err = Open(dir); err != nil || r.BlockChunkSize != 1<<20 {
		t.Fatalf("Open: %v, chunk size %d", err, r.BlockChunkSize)
	}
	if _, err := Create(dir, Settings{}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("Create over a repository: %v", err)
	}
	marker := filepath.Join(dir, MarkerFile)
	old := `{"format": "lvback-repository", "version": 1, "id": "00ff"}`
	if err := os.WriteFile(marker, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err = Open(dir); err != nil || r.BlockChunkSize != DefaultBlockChunkSize {
		t.Errorf("Open of an older marker: %v, chunk size %d", err, r.BlockChunkSize)
	}
	bad := `{"format": "lvback-repository", "version": 1, "id": "00ff", "block_chunk_size": -5}`
	if err := os.WriteFile(marker, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = Open(dir); !errors.Is(err, ErrNotRepo) {
		t.Errorf("Open with a negative chunk size: %v", err)
	}
}

// After the last sequence number of a second, the next ID moves on to the
// next second: it is listed, latest and parseable (a "-1000000" suffix once
// made a backup that nothing could list, restore or prune).
func TestBeginAfterLastSequence(t *testing.T) {
	r, err := Create(t.TempDir(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 3, 15, 0, 0, time.UTC)
	last := "2026-11-25T031500Z-999999"
	dir := filepath.Join(r.Root, "backups", "vol", last)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dir, InfoFile), &Info{Name: "vol", ID: last}); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.Latest("vol"); l == nil || l.ID != last {
		t.Fatalf("latest %+v, want %s", l, last)
	}
	p, err := r.Begin("vol", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(&Info{Started: now}); err != nil {
		t.Fatal(err)
	}
	if p.ID != "2026-11-25T031501Z" {
		t.Fatalf("id after %s = %s", last, p.ID)
	}
	l, err := r.Latest("vol")
	if err != nil || l == nil || l.ID != p.ID {
		t.Fatalf("latest %+v %v, want %s", l, err, p.ID)
	}
}

// Only the IDs lvback makes are backups: a sequence number with a leading
// zero, 0, 1 or more than six digits would give one backup two names or
// sort wrongly, so such directories are ignored like any foreign one.
func TestNonCanonicalIDsAreNotBackups(t *testing.T) {
	for _, id := range []string{"2026-11-25T031500Z-0", "2026-11-25T031500Z-1", "2026-11-25T031500Z-02",
		"2026-11-25T031500Z-1000000", "2026-11-25T031500Z-"} {
		if _, _, ok := parseID(id); ok {
			t.Errorf("%s parsed as an ID", id)
		}
	}
	for _, id := range []string{"2026-11-25T031500Z", "2026-11-25T031500Z-2", "2026-11-25T031500Z-10", "2026-11-25T031500Z-999999"} {
		if _, _, ok := parseID(id); !ok {
			t.Errorf("%s not parsed", id)
		}
	}
}

// A repository in a remote syntax other than s3: is refused, never
// created as a local directory of that name; local names with a colon
// after a slash pass.
func TestRemoteRepositoryRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, p := range []string{"sftp:backup@host:/srv/repo", "host:/srv/repo", "rclone:remote:path", "b2:bucket"} {
		if _, err := Open(p); !errors.Is(err, ErrNotLocal) {
			t.Errorf("%s: %v, want ErrNotLocal", p, err)
		}
		if _, err := Create(p, Settings{}); !errors.Is(err, ErrNotLocal) {
			t.Errorf("create %s: %v, want ErrNotLocal", p, err)
		}
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Fatalf("remote names created local entries: %v", ents)
	}
	if _, err := Create("./repo:2026", Settings{}); err != nil {
		t.Fatalf("a local name with a colon: %v", err)
	}
}

// BeginID starts a backup with the ID it is given, even one older than
// the newest; it refuses an ID the name has, partial or complete, and an
// ID Begin could not make. Begin goes on after the newest ID.
func TestBeginID(t *testing.T) {
	r, err := Create(t.TempDir(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)
	p, err := r.Begin("vol", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(&Info{Started: now}); err != nil {
		t.Fatal(err)
	}
	older := "2026-11-26T031500Z-3"
	q, err := r.BeginID("vol", older)
	if err != nil || q.ID != older {
		t.Fatalf("BeginID(%s) = %v, %v", older, q, err)
	}
	if _, err := r.BeginID("vol", older); !errors.Is(err, ErrBackupExists) {
		t.Errorf("BeginID of a partial backup's ID: %v, want ErrBackupExists", err)
	}
	if err := q.Commit(&Info{Started: now}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{older, p.ID} {
		if _, err := r.BeginID("vol", id); !errors.Is(err, ErrBackupExists) {
			t.Errorf("BeginID of complete backup %s: %v, want ErrBackupExists", id, err)
		}
	}
	for _, id := range []string{"", "latest", "2026-11-27T031500Z-1", "2026-11-27T031500Z-01", "../x"} {
		if _, err := r.BeginID("vol", id); err == nil {
			t.Errorf("BeginID(%q) accepted", id)
		}
	}
	if got, err := r.BeginID("other", p.ID); err != nil || got.ID != p.ID {
		t.Errorf("BeginID of another name's ID: %v, %v", got, err)
	}
	next, err := r.Begin("vol", now)
	if err != nil || next.ID != "2026-11-27T031500Z-2" {
		t.Errorf("Begin after BeginID = %v, %v; want the ID after the newest", next, err)
	}
}
