package repo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The damaged list is one entry per inode, merges paths, survives a new
// Open (it is a file), drops what drop says, and vanishes when empty.
func TestRecordDamaged(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "repo"), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	a := DamagedInode{Name: "vol", Ino: 12, BLAKE3: h1, Size: 3, Backup: "2026-11-25T031500Z", Paths: []string{"x/f"}}
	aAgain := a
	aAgain.Paths = []string{"x/g", "x/f"} // a hard link of the same inode, found again
	reused := DamagedInode{Name: "vol", Ino: 12, BLAKE3: h2, Size: 3, Paths: []string{"y"}}
	other := DamagedInode{Name: "etc", Ino: 99, BLAKE3: h1, Size: 3, Paths: []string{"z"}}

	if got, err := r.Damaged(); err != nil || got != nil {
		t.Fatalf("new repository: %v, %v", got, err)
	}
	if err := r.RecordDamaged([]DamagedInode{a, other}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordDamaged([]DamagedInode{aAgain, reused}, nil); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r2.Damaged()
	if err != nil {
		t.Fatal(err)
	}
	wantA := a
	wantA.Paths = []string{"x/f", "x/g"}
	want := []DamagedInode{other, wantA, reused}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("list\n%+v\nwant\n%+v", got, want)
	}

	if err := r.RecordDamaged(nil, a.Same); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Damaged(); !reflect.DeepEqual(got, []DamagedInode{other, reused}) {
		t.Fatalf("after dropping one: %+v", got)
	}
	if err := r.RecordDamaged(nil, func(DamagedInode) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(r.Root, DamagedFile)); !os.IsNotExist(err) {
		t.Fatalf("empty list left its file: %v", err)
	}
}

// A list that is not lvback's is an error, never an empty list: the next
// backup would link damaged files again.
func TestDamagedUnreadable(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "repo"), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Root, DamagedFile), []byte("{"), 0o644)
	if _, err := r.Damaged(); err == nil {
		t.Fatal("a broken list read as empty")
	}
	if err := r.RecordDamaged([]DamagedInode{{Name: "v", Ino: 1}}, nil); err == nil {
		t.Fatal("a broken list was overwritten")
	}
}
