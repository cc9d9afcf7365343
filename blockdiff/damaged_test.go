package blockdiff

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestDamagedList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "damaged")
	ids, err := ReadDamaged(path)
	if err != nil || len(ids) != 0 {
		t.Fatalf("missing list: %v %v", ids, err)
	}
	a, b, c := sumID([]byte("a")), sumID([]byte("b")), sumID([]byte("c"))
	must(t, UpdateDamaged(path, []ID{b, a}, nil))
	must(t, UpdateDamaged(path, []ID{c}, []ID{b}))
	data, err := os.ReadFile(path)
	must(t, err)
	want := []string{a.String(), c.String()}
	if a.String() > c.String() {
		want = []string{c.String(), a.String()}
	}
	if string(data) != strings.Join(want, "\n")+"\n" {
		t.Errorf("list holds %q, want %q", data, want)
	}
	// Concurrent updates all land (they serialize on the lock).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { must(t, UpdateDamaged(path, []ID{sumID([]byte{byte(i)})}, nil)) })
	}
	wg.Wait()
	ids, err = ReadDamaged(path)
	if err != nil || len(ids) != 10 {
		t.Errorf("after 8 concurrent additions: %d ids, %v", len(ids), err)
	}
	must(t, os.WriteFile(path, []byte("not an id\n"), 0o600))
	if _, err := ReadDamaged(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("garbage list: %v", err)
	}
}
