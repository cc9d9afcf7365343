package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
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

// Damaged chunks share the list with damaged inodes: one file, one lock,
// each kind kept when the other is recorded; ids sorted and distinct,
// concurrent updates all land, and the file goes when both are empty.
func TestRecordDamagedChunks(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "repo"), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("%064x", i) }
	if got, err := r.DamagedChunks(); err != nil || got != nil {
		t.Fatalf("new repository: %v, %v", got, err)
	}
	ino := DamagedInode{Name: "vol", Ino: 12, BLAKE3: strings.Repeat("a", 64), Size: 3, Paths: []string{"f"}}
	if err := r.RecordDamaged([]DamagedInode{ino}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordDamagedChunks([]string{id(2), id(1), id(2)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordDamagedChunks([]string{id(3)}, []string{id(2), id(9)}); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r2.DamagedChunks(); err != nil || !reflect.DeepEqual(got, []string{id(1), id(3)}) {
		t.Fatalf("chunks %v, %v; want %s and %s", got, err, id(1), id(3))
	}
	if got, _ := r2.Damaged(); !reflect.DeepEqual(got, []DamagedInode{ino}) {
		t.Fatalf("recording chunks changed the inodes: %+v", got)
	}
	if err := r.RecordDamaged(nil, ino.Same); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.DamagedChunks(); len(got) != 2 {
		t.Fatalf("dropping the inode changed the chunks: %v", got)
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := r.RecordDamagedChunks([]string{id(100 + i)}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := r.DamagedChunks()
	if err != nil || len(got) != 10 || !slices.IsSorted(got) {
		t.Fatalf("after 8 concurrent additions: %v, %v", got, err)
	}
	if err := r.RecordDamagedChunks(nil, got); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(r.Root, DamagedFile)); !os.IsNotExist(err) {
		t.Fatalf("empty list left its file: %v", err)
	}
	if err := r.RecordDamagedChunks([]string{"not an id"}, nil); err == nil {
		t.Fatal("an invalid chunk id was recorded")
	}
}

// A version 1 list (inodes only) reads as having no chunks, and the next
// rewrite keeps its inodes. A chunk id that is not one is an error.
func TestDamagedReadsVersion1(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "repo"), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Root, DamagedFile)
	h := strings.Repeat("c", 64)
	v1 := `{"format": "lvback-damaged", "version": 1, "inodes": [{"name": "vol", "ino": 7, "blake3": "` + h +
		`", "size": 1, "backup": "2026-11-25T031500Z", "paths": ["f"]}]}`
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []DamagedInode{{Name: "vol", Ino: 7, BLAKE3: h, Size: 1, Backup: "2026-11-25T031500Z", Paths: []string{"f"}}}
	if got, err := r.Damaged(); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1 inodes: %+v, %v", got, err)
	}
	if got, err := r.DamagedChunks(); err != nil || len(got) != 0 {
		t.Fatalf("version 1 chunks: %v, %v", got, err)
	}
	if err := r.RecordDamagedChunks([]string{h}, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"version": 2`) {
		t.Errorf("rewritten as %s, want version 2", data)
	}
	if got, _ := r.Damaged(); !reflect.DeepEqual(got, want) {
		t.Errorf("the rewrite lost the inodes: %+v", got)
	}

	bad := `{"format": "lvback-damaged", "version": 2, "inodes": [], "chunks": ["` + strings.Repeat("C", 64) + `"]}`
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DamagedChunks(); err == nil {
		t.Error("an invalid chunk id read as a list")
	}
}
