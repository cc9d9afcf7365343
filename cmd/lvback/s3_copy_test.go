package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/engine"
)

// copyJSON runs lvback copy --json as host and returns what it copied.
func (e *s3Env) copyJSON(host string, args ...string) []engine.CopiedBackup {
	e.t.Helper()
	var res engine.CopyResult
	out := e.lv(host, exitOK, append([]string{"copy", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		e.t.Fatalf("copy --json: %v\n%s", err, out)
	}
	return res.Backups
}

// sumSizes adds up the sizes of objects.
func sumSizes(objects map[string]int64) int64 {
	var n int64
	for _, size := range objects {
		n += size
	}
	return n
}

// changeImage overwrites part of the image at path (and data, its
// content) at off with a marker.
func changeImage(t *testing.T, path string, data []byte, off int, marker string) {
	t.Helper()
	copy(data[off:], bytes.Repeat([]byte(marker), 1000))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A local repository copied to an s3: one and back: the first copy
// stores every chunk, the second nothing (the same chunk objects), the
// copy of a later backup only the chunk that changed; the copies verify
// and restore bit-identical from either side. A file-mode backup is
// refused for the s3: repository, which is left untouched.
func TestS3CopyLocalAndBack(t *testing.T) {
	e := newS3Env(t, "offsite")
	local := initRepo(t, filepath.Join(e.base, "local"))
	img := filepath.Join(e.base, "disk.img")
	const size = 64 << 20
	data := randomImage(t, img, size, 11)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", local, "--name", "vm", "--source", img, "-q")

	start := time.Now()
	c := e.copyJSON("host1", "--from", local, "--to", e.url)
	first := time.Since(start)
	chunks := e.objects("chunks/")
	if len(c) != 1 || c[0].Skipped || c[0].Stored != size/(2<<20) || len(chunks) != size/(2<<20) || c[0].Bytes != sumSizes(chunks) {
		t.Fatalf("first copy %+v, %d chunk objects of %d bytes; want all %d chunks stored", c, len(chunks), sumSizes(chunks), size/(2<<20))
	}
	start = time.Now()
	c = e.copyJSON("host2", "--from", local, "--to", e.url)
	second := time.Since(start)
	if len(c) != 1 || !c[0].Skipped {
		t.Errorf("second copy %+v, want it skipped", c)
	}
	if again := e.objects("chunks/"); !maps.Equal(again, chunks) {
		t.Errorf("the second copy changed the chunk objects: %d objects of %d bytes, were %d of %d",
			len(again), sumSizes(again), len(chunks), sumSizes(chunks))
	}
	t.Logf("copy of a %d MiB image local -> s3: %v; again (nothing to copy): %v", size>>20, first.Round(time.Millisecond), second.Round(time.Millisecond))

	changeImage(t, img, data, 33<<20, "changed")
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", local, "--name", "vm", "--source", img, "-q")
	c = e.copyJSON("host1", "--from", local, "--to", e.url, "--name", "vm")
	if len(c) != 2 || !c[0].Skipped || c[1].Skipped || c[1].Stored != 1 || c[1].Reused != size/(2<<20)-1 {
		t.Errorf("copy after a change %+v; want the first skipped, one chunk of the second stored", c)
	}
	if n := len(e.objects("chunks/")); n != len(chunks)+1 {
		t.Errorf("%d chunk objects, want %d", n, len(chunks)+1)
	}
	e.lv("host2", exitOK, "verify", "--repo", e.url, "-q")
	out := filepath.Join(e.base, "from-s3.img")
	e.lv("host2", exitOK, "restore", "--repo", e.url, "--name", "vm", "--target", out, "-q")
	sameContent(t, out, data)

	back := initRepo(t, filepath.Join(e.base, "back"))
	c = e.copyJSON("host2", "--from", e.url, "--to", back)
	if len(c) != 2 || c[0].Stored != size/(2<<20) || c[1].Stored != 1 {
		t.Errorf("copy back %+v; want every chunk of the first, one of the second", c)
	}
	e.lv("host2", exitOK, "verify", "--repo", back, "-q")
	out = filepath.Join(e.base, "back.img")
	e.lv("host2", exitOK, "restore", "--repo", back, "--name", "vm", "--target", out, "-q")
	sameContent(t, out, data)
	if c = e.copyJSON("host1", "--from", e.url, "--to", back); len(c) != 2 || !c[0].Skipped || !c[1].Skipped {
		t.Errorf("copying back again %+v, want both skipped", c)
	}

	etc := filepath.Join(e.base, "etc")
	mkTree(t, etc, "hosts")
	e.lv("host1", exitOK, "backup", "--repo", local, "--name", "etc", "--source", etc, "-q")
	before := e.objects("")
	p := e.start("host1", nil, "copy", "--from", local, "--to", e.url)
	if code := p.wait(t); code != exitUsage || !strings.Contains(p.stderr.String(), "file-mode backup") {
		t.Errorf("copy of a file-mode backup to s3: exit %d, %q; want %d saying why", code, p.stderr.String(), exitUsage)
	}
	if after := e.objects(""); !maps.Equal(after, before) {
		t.Errorf("a refused copy changed the store: %d objects, were %d", len(after), len(before))
	}
}

// A copy into an encrypted s3: repository (keyed chunk ids) restores
// bit-identical; copying a later backup reads only the chunk that
// changed (its ids pair with the first copy's), and copying back to a
// plain local repository restores bit-identical too.
func TestS3CopyEncrypted(t *testing.T) {
	t.Setenv("LVBACK_PASSWORD", "correct horse battery staple")
	e := newS3Env(t, "secret-copy", "--encrypt")
	local := initRepo(t, filepath.Join(e.base, "local"))
	img := filepath.Join(e.base, "disk.img")
	const size = 16 << 20
	data := randomImage(t, img, size, 12)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", local, "--name", "guest-vm", "--source", img, "-q")
	c := e.copyJSON("host1", "--from", local, "--to", e.url)
	if len(c) != 1 || c[0].Stored != size/(2<<20) {
		t.Fatalf("first copy %+v", c)
	}
	out := filepath.Join(e.base, "restored.img")
	e.lv("host2", exitOK, "restore", "--repo", e.url, "--name", "guest-vm", "--target", out, "-q")
	sameContent(t, out, data)
	for name := range e.objects("") {
		if strings.Contains(name, "guest-vm") || strings.Contains(name, "chunks") {
			t.Fatalf("object name %q shows a plaintext name", name)
		}
	}

	changeImage(t, img, data, 5<<20, "changed")
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", local, "--name", "guest-vm", "--source", img, "-q")
	c = e.copyJSON("host1", "--from", local, "--to", e.url)
	if len(c) != 2 || c[1].Stored != 1 || c[1].Read != c[1].Bytes {
		t.Errorf("copy of the second backup %+v; want the one changed chunk read and stored, nothing else read", c)
	}
	e.lv("host2", exitOK, "verify", "--repo", e.url, "-q")

	back := initRepo(t, filepath.Join(e.base, "back"))
	e.copyJSON("host2", "--from", e.url, "--to", back)
	out = filepath.Join(e.base, "back.img")
	e.lv("host2", exitOK, "restore", "--repo", back, "--name", "guest-vm", "--target", out, "-q")
	sameContent(t, out, data)
}
