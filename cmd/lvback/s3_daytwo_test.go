package main

import (
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The day-2 commands work on an s3: repository as on a local one: ls
// lists the image, dump writes it bit-identical, stats counts every
// chunk object once at its stored size (the objects' sizes in the
// bucket), and a protected backup survives a prune whose rules would
// delete it, seen from a second host's cache.
func TestS3DayTwoCommands(t *testing.T) {
	e := newS3Env(t, "daytwo")
	img := filepath.Join(e.base, "disk.img")
	data := randomImage(t, img, 8<<20, 7)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "--tag", "first", "-q")
	changeImage(t, img, data, 3<<20, "second")
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "-q")

	if out := e.lv("host2", exitOK, "ls", "--repo", e.url, "--name", "vm", "-l"); !strings.Contains(out, "/vm.img") || !strings.Contains(out, "8388608") {
		t.Errorf("ls of the block backup: %q", out)
	}
	if got := e.lv("host2", exitOK, "dump", "--repo", e.url, "--name", "vm"); sha256.Sum256([]byte(got)) != sha256.Sum256(data) {
		t.Errorf("dump of the latest image differs from the source (%d bytes)", len(got))
	}

	var st struct {
		Total struct {
			Backups     int     `json:"backups_count"`
			ChunkStored int64   `json:"chunk_stored_bytes"`
			Dedup       float64 `json:"dedup_ratio"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(e.lv("host2", exitOK, "stats", "--repo", e.url, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if want := sumSizes(e.objects("chunks/")); st.Total.Backups != 2 || st.Total.ChunkStored != want || st.Total.Dedup <= 1 {
		t.Errorf("stats: %+v; want 2 backups, %d chunk bytes stored (the chunk objects), dedup > 1", st.Total, want)
	}

	first := e.backups("host2", "vm")[0]["id"].(string)
	e.lv("host2", exitOK, "protect", "--repo", e.url, "--name", "vm", first)
	e.backups("host1", "vm") // host1's cache now holds the protected labels
	staleLabels(t, filepath.Join(e.base, "cache-host1"), first)
	e.lv("host1", exitOK, "prune", "--repo", e.url, "--name", "vm", "--keep-last", "1")
	items := e.backups("host1", "vm")
	if len(items) != 2 || items[0]["id"] != first || items[0]["protected"] != true {
		t.Fatalf("after prune --keep-last 1 with the first backup protected (by another host): %v", items)
	}
	e.lv("host1", exitOK, "unprotect", "--repo", e.url, "--name", "vm", first)
	e.lv("host2", exitOK, "prune", "--repo", e.url, "--name", "vm", "--keep-last", "1")
	if items := e.backups("host1", "vm"); len(items) != 1 || items[0]["id"] == first {
		t.Errorf("after unprotect and prune: %v", items)
	}
}

// staleLabels makes the cached labels of backup id under cache say "not
// protected" with the same size and time as the store's object, as a
// cache that missed a same-size change within one second of the store's
// clock would: the size-and-time check of a cache sync does not see it.
func staleLabels(t *testing.T, cache, id string) {
	t.Helper()
	found := false
	err := filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "labels.json" || filepath.Base(filepath.Dir(p)) != id {
			return err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		fake := []byte(`{"tags":["x"]}`)
		if int64(len(fake)) >= fi.Size() {
			t.Fatalf("labels %s: %d bytes, too short to fake", p, fi.Size())
		}
		fake = append(fake, []byte(strings.Repeat(" ", int(fi.Size())-len(fake)-1)+"\n")...)
		if err := os.WriteFile(p, fake, 0o644); err != nil {
			return err
		}
		found = true
		return os.Chtimes(p, fi.ModTime(), fi.ModTime())
	})
	if err != nil || !found {
		t.Fatalf("no cached labels of %s under %s (%v)", id, cache, err)
	}
}
