package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// diff of two block backups compares their indexes chunk by chunk; a
// block and a file backup cannot be compared: a usage error (exit 2), not
// a missing manifest.
func TestDiffBlockBackups(t *testing.T) {
	base := t.TempDir()
	repoPath := filepath.Join(base, "repo")
	if code, _, e := run(t, "init", "--repo", repoPath, "--chunk-size", "64K"); code != exitOK {
		t.Fatal(e)
	}
	img, src := filepath.Join(base, "disk.img"), filepath.Join(base, "src")
	data := make([]byte, 1<<20) // 16 chunks of 64 KiB
	for i := range data {
		data[i] = byte(i * 7)
	}
	write := func() {
		if err := os.WriteFile(img, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	backup := func(args ...string) {
		t.Helper()
		if code, _, e := run(t, append([]string{"backup", "--repo", repoPath, "--name", "vm"}, args...)...); code != exitOK {
			t.Fatal(e)
		}
	}
	write()
	backup("--mode", "blocks", "--source", img)
	backup("--mode", "blocks", "--source", img)
	data[0], data[5<<16] = ^data[0], ^data[5<<16] // two chunks change
	write()
	backup("--mode", "blocks", "--source", img)
	items := listIDs(t, repoPath)

	if code, out, e := run(t, "diff", "--repo", repoPath, "--name", "vm", items[0], items[1]); code != exitOK || out != "" {
		t.Errorf("diff of equal images: exit %d, %q, %s; want exit 0, no output", code, out, e)
	}
	code, out, e := run(t, "diff", "--repo", repoPath, "--name", "vm", items[1], items[2])
	if want := "M image bytes 0-65535 (64.0 KiB)\nM image bytes 327680-393215 (64.0 KiB)\nM image (2 of 16 chunks differ, 128.0 KiB)\n"; code != exitOK || out != want {
		t.Errorf("diff: exit %d, %q, %s; want %q", code, out, e, want)
	}
	code, out, _ = run(t, "diff", "--repo", repoPath, "--name", "vm", "--json", items[0], "latest")
	var changes []diffItem
	if err := json.Unmarshal([]byte(out), &changes); code != exitOK || err != nil || len(changes) != 3 || changes[2].Path != "image" {
		t.Errorf("diff --json: exit %d, %v, %s", code, err, out)
	}

	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	backup("--source", src) // a file backup of the same name
	code, out, e = run(t, "diff", "--repo", repoPath, "--name", "vm", items[2], "latest")
	if code != exitUsage || out != "" || !strings.Contains(e, "two file trees or two block images") || strings.Contains(e, "manifest") {
		t.Errorf("diff of a block and a file backup: exit %d, %q, %s; want exit %d and why", code, out, e, exitUsage)
	}
}

func listIDs(t *testing.T, repoPath string) []string {
	t.Helper()
	_, out, _ := run(t, "list", "--repo", repoPath, "--json")
	var items []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

// diff of two block backups prints each run of differing chunks as the
// byte range it covers, whole chunks, merged across chunk boundaries,
// then the totals; a size change shows as the grown tail's range, or with
// no range when the image was cut at a chunk boundary; --json has the
// ranges as offset and length and the totals as numbers.
func TestDiffBlockRanges(t *testing.T) {
	base := t.TempDir()
	repoPath := filepath.Join(base, "repo")
	if code, _, e := run(t, "init", "--repo", repoPath, "--chunk-size", "64K"); code != exitOK {
		t.Fatal(e)
	}
	img := filepath.Join(base, "disk.img")
	data := make([]byte, 1<<20) // 16 chunks of 64 KiB
	for i := range data {
		data[i] = byte(i * 7)
	}
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"first", func() {}, ""},
		{"unchanged", func() {}, ""},
		{"across chunks 2 to 4", func() {
			for i := 3<<16 - 10; i < 4<<16+10; i++ {
				data[i] = ^data[i]
			}
		}, "M image bytes 131072-327679 (192.0 KiB)\nM image (3 of 16 chunks differ, 192.0 KiB)\n"},
		{"two runs", func() { data[1<<16], data[1<<16+1], data[15<<16] = 1, 2, 3 },
			"M image bytes 65536-131071 (64.0 KiB)\nM image bytes 983040-1048575 (64.0 KiB)\nM image (2 of 16 chunks differ, 128.0 KiB)\n"},
		{"grown by 100 bytes", func() { data = append(data, make([]byte, 99)...); data = append(data, 1) },
			"M image bytes 1048576-1048675 (100 B)\nM image (size, 1 of 17 chunks differ, 100 B)\n"},
		{"cut at a chunk boundary", func() { data = data[:15<<16] }, "M image (size, 0 of 15 chunks differ, 0 B)\n"},
	}
	for _, st := range steps {
		st.change()
		if err := os.WriteFile(img, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vm", "--mode", "blocks", "--source", img); code != exitOK {
			t.Fatalf("%s: backup: %s", st.name, e)
		}
	}
	ids := listIDs(t, repoPath)
	for i, st := range steps[1:] {
		code, out, e := run(t, "diff", "--repo", repoPath, "--name", "vm", ids[i], ids[i+1])
		if code != exitOK || out != st.want {
			t.Errorf("%s: diff: exit %d, %s\n%s\nwant\n%s", st.name, code, e, out, st.want)
		}
	}
	_, out, _ := run(t, "diff", "--repo", repoPath, "--name", "vm", "--json", ids[2], ids[3])
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 3 {
		t.Fatalf("diff --json: %v\n%s", err, out)
	}
	r0, r1, total := got[0], got[1], got[2]
	if r0["kind"] != "range" || r0["offset"] != float64(65536) || r0["length"] != float64(65536) || r1["offset"] != float64(983040) {
		t.Errorf("diff --json ranges: %v %v", r0, r1)
	}
	if total["kind"] != "changed" || total["chunks"] != float64(2) || total["of_chunks"] != float64(16) || total["bytes"] != float64(128<<10) {
		t.Errorf("diff --json totals: %v", total)
	}
}
