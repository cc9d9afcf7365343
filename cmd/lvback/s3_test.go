package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/s3test"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/s3"
)

// s3Env is a SeaweedFS server, an s3: repository on it, and the lvback
// binary; each lvback it starts is a "host" with a cache of its own.
type s3Env struct {
	t    *testing.T
	srv  *s3test.Server
	url  string
	bin  string
	base string
}

func newS3Env(t *testing.T, prefix string, initArgs ...string) *s3Env {
	t.Helper()
	srv := s3test.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e := &s3Env{t: t, srv: srv, url: srv.URL(prefix), bin: lvbackBinary(t), base: t.TempDir()}
	t.Setenv("LVBACK_CACHE_DIR", filepath.Join(e.base, "cache-test"))
	if code, _, stderr := run(t, append([]string{"init", "--repo", e.url}, initArgs...)...); code != exitOK {
		t.Fatalf("init %s: exit %d: %s", e.url, code, stderr)
	}
	return e
}

// start runs lvback args as host (its own cache directory), extra
// environment variables added.
func (e *s3Env) start(host string, extra []string, args ...string) *proc {
	e.t.Helper()
	p := &proc{cmd: exec.Command(e.bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), append([]string{"LC_ALL=C", "LVBACK_CACHE_DIR=" + filepath.Join(e.base, "cache-"+host)}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// lv runs lvback args as host and fails t unless it exits with want.
func (e *s3Env) lv(host string, want int, args ...string) string {
	e.t.Helper()
	p := e.start(host, nil, args...)
	if code := p.wait(e.t); code != want {
		e.t.Fatalf("lvback %q on %s: exit %d, want %d; stderr:\n%s", args, host, code, want, p.stderr.Bytes())
	}
	return p.stdout.String()
}

// raw opens the bucket prefix the repository lives in, beneath lvback.
func (e *s3Env) raw() objstore.Store {
	e.t.Helper()
	u, err := s3.ParseURL(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := s3.Open(context.Background(), u, e.srv.Credentials())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// objects lists the repository's objects: name → size.
func (e *s3Env) objects(prefix string) map[string]int64 {
	e.t.Helper()
	out := map[string]int64{}
	if err := e.raw().List(context.Background(), prefix, func(fi objstore.Info) error {
		out[fi.Name] = fi.Size
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// backups returns list --json's items of name (as host).
func (e *s3Env) backups(host, name string) []map[string]any {
	e.t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(e.lv(host, exitOK, "list", "--repo", e.url, "--name", name, "--json")), &items); err != nil {
		e.t.Fatal(err)
	}
	return items
}

// randomImage writes size bytes of seeded random data (incompressible)
// to path.
func randomImage(t *testing.T, path string, size int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// sameContent fails t unless the file at path holds want.
func sameContent(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("%s differs from what was backed up (%d vs %d bytes)", path, len(got), len(want))
	}
}

// Two hosts back up two cloned guest images into one s3: repository at
// the same time: the clone stores almost nothing; both restore
// bit-identical; one volume is pruned while the other backs up; verify
// is clean, and no chunk is stored twice.
func TestS3TwoHostsOneRepository(t *testing.T) {
	e := newS3Env(t, "fleet")
	const size = 24 << 20
	imgA, imgB := filepath.Join(e.base, "a.img"), filepath.Join(e.base, "b.img")
	a := randomImage(t, imgA, size, 1)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm-a", "--source", imgA, "-q")

	// The clone differs in two chunks; vm-a changes in one meanwhile.
	b := bytes.Clone(a)
	copy(b[3<<20:], bytes.Repeat([]byte("clone"), 1000))
	copy(b[17<<20:], bytes.Repeat([]byte("other"), 1000))
	if err := os.WriteFile(imgB, b, 0o644); err != nil {
		t.Fatal(err)
	}
	copy(a[9<<20:], bytes.Repeat([]byte("changed"), 1000))
	if err := os.WriteFile(imgA, a, 0o644); err != nil {
		t.Fatal(err)
	}
	p1 := e.start("host1", nil, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm-a", "--source", imgA, "-q")
	p2 := e.start("host2", nil, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm-b", "--source", imgB, "-q")
	for _, p := range []*proc{p1, p2} {
		if code := p.wait(t); code != exitOK {
			t.Fatalf("concurrent backup %q: exit %d: %s", p.cmd.Args[1:], code, p.stderr.Bytes())
		}
	}
	vb := e.backups("host3", "vm-b")
	if len(vb) != 1 || vb[0]["added_bytes"].(float64) > size/5 {
		t.Errorf("the clone's backups %v: want one that stored almost nothing of %d bytes", vb, size)
	}

	for name, want := range map[string][]byte{"vm-a": a, "vm-b": b} {
		out := filepath.Join(e.base, "restored-"+name)
		e.lv("host3", exitOK, "restore", "--repo", e.url, "--name", name, "--target", out, "-q")
		sameContent(t, out, want)
	}

	// Prune vm-b while host1 backs up vm-a again.
	copy(a[20<<20:], bytes.Repeat([]byte("third"), 1000))
	if err := os.WriteFile(imgA, a, 0o644); err != nil {
		t.Fatal(err)
	}
	e.lv("host2", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm-b", "--source", imgB, "-q")
	backup := e.start("host1", nil, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm-a", "--source", imgA, "-q")
	prune := e.start("host2", nil, "prune", "--repo", e.url, "--name", "vm-b", "--keep-last", "1")
	for _, p := range []*proc{backup, prune} {
		if code := p.wait(t); code != exitOK {
			t.Fatalf("%q during the other: exit %d: %s", p.cmd.Args[1:], code, p.stderr.Bytes())
		}
	}
	if n := len(e.backups("host3", "vm-b")); n != 1 {
		t.Errorf("vm-b has %d backups after prune --keep-last 1", n)
	}
	e.lv("host3", exitOK, "prune", "--repo", e.url, "--keep-last", "1") // now the sweep runs
	e.lv("host3", exitOK, "verify", "--repo", e.url, "-q")
	for name, want := range map[string][]byte{"vm-a": a, "vm-b": b} {
		out := filepath.Join(e.base, "again-"+name)
		e.lv("host1", exitOK, "restore", "--repo", e.url, "--name", name, "--target", out, "-q")
		sameContent(t, out, want)
	}
	// Every chunk object is a distinct chunk of the two images: each 2 MiB
	// chunk of a and b, counted once.
	chunks := map[[32]byte]bool{}
	for _, img := range [][]byte{a, b} {
		for off := 0; off < len(img); off += 2 << 20 {
			chunks[sha256.Sum256(img[off:min(off+2<<20, len(img))])] = true
		}
	}
	if got := len(e.objects("chunks/")); got != len(chunks) {
		t.Errorf("%d chunk objects, want %d (the distinct chunks of the latest backups)", got, len(chunks))
	}
}

// Faults: the server killed mid-upload fails the backup cleanly, and the
// next run succeeds without storing again what reached the server; a
// restart during a backup is ridden out by retries; a deleted or altered
// chunk is named by verify; a stale lock of a dead host is taken over
// once it times out.
func TestS3Faults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: restarts SeaweedFS (15 s each)")
	}
	e := newS3Env(t, "faults")
	const size = 48 << 20
	img := filepath.Join(e.base, "disk.img")
	data := randomImage(t, img, size, 7)

	stopOnceUploading := func(p *proc) {
		p.waitFor(t, "a chunk uploaded", func() bool { return len(e.objects("chunks/")) >= 2 })
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	// Killed mid-upload.
	p := e.start("host1", nil, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "--jobs", "1", "-q")
	stopOnceUploading(p)
	stored := len(e.objects("chunks/"))
	e.srv.Stop()
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	if code := p.wait(t); code != exitFailed {
		t.Fatalf("backup with the server gone: exit %d, want %d; stderr:\n%s", code, exitFailed, p.stderr.Bytes())
	}
	if msg := strings.TrimSpace(p.stderr.String()); strings.Count(msg, "\n") > 0 || !strings.Contains(msg, "connection refused") {
		t.Errorf("the failure is not one line naming the cause: %q", msg)
	}
	e.srv.Restart()
	if n := len(e.backups("host2", "vm")); n != 0 {
		t.Fatalf("%d backups listed after the failed run", n)
	}
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "-q")
	items := e.backups("host2", "vm")
	if len(items) != 1 || int(items[0]["added_bytes"].(float64)) > size-stored*(2<<20)+(1<<20) {
		t.Errorf("the run after the failure: %v; what reached the server before (%d chunks) must not be stored again", items, stored)
	}

	// Restarted mid-backup: the retries carry the backup through.
	copy(data[5<<20:], bytes.Repeat([]byte("restart"), 200000))
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p = e.start("host1", nil, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "--jobs", "1", "--full-read", "-q")
	time.Sleep(200 * time.Millisecond)
	_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	restarted := make(chan struct{})
	go func() { e.srv.Restart(); close(restarted) }()
	time.Sleep(time.Second) // the server is down
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	if code := p.wait(t); code != exitOK {
		t.Fatalf("backup across a restart: exit %d; stderr:\n%s", code, p.stderr.Bytes())
	}
	<-restarted
	out := filepath.Join(e.base, "restored")
	e.lv("host2", exitOK, "restore", "--repo", e.url, "--name", "vm", "--target", out, "-q")
	sameContent(t, out, data)

	// A chunk deleted and one altered: verify names both.
	raw := e.raw()
	ctx := context.Background()
	var names []string
	for n := range e.objects("chunks/") {
		names = append(names, n)
	}
	if err := raw.Delete(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	if err := raw.Put(ctx, names[1], []byte("altered")); err != nil {
		t.Fatal(err)
	}
	p = e.start("host2", nil, "verify", "--repo", e.url)
	if code := p.wait(t); code != exitFailed {
		t.Fatalf("verify of a damaged store: exit %d", code)
	}
	report := p.stdout.String() + p.stderr.String()
	for _, n := range names[:2] {
		if id := filepath.Base(n); !strings.Contains(report, id) {
			t.Errorf("verify does not name chunk %s:\n%s", id, report)
		}
	}

	// The lock of a host that died backing vm up: refused until it is stale.
	dead := `{"kind":"shared","volume":"vm","host":"dead-host.example","pid":4242,"acquired":"2026-11-27T00:00:00Z"}`
	if err := raw.Put(ctx, "locks/shared-0000000000000000", []byte(dead)); err != nil {
		t.Fatal(err)
	}
	p = e.start("host1", []string{"LVBACK_LOCK_STALE_AFTER=3s"}, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "-q")
	if code := p.wait(t); code != exitLocked || !strings.Contains(p.stderr.String(), "dead-host.example") {
		t.Fatalf("backup under a live foreign lock: exit %d, want %d naming its host; stderr:\n%s", code, exitLocked, p.stderr.Bytes())
	}
	time.Sleep(4 * time.Second)
	p = e.start("host1", []string{"LVBACK_LOCK_STALE_AFTER=3s"}, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "-q")
	if code := p.wait(t); code != exitOK {
		t.Fatalf("backup after the lock went stale: exit %d; stderr:\n%s", code, p.stderr.Bytes())
	}
	if left := e.objects("locks/"); len(left) != 0 {
		t.Errorf("locks left: %v", left)
	}
}

// An encrypted s3: repository: no object holds a known part of the image
// or a plaintext name, a wrong password is one line and writes nothing, a
// tampered object fails authentication.
func TestS3Encrypted(t *testing.T) {
	t.Setenv("LVBACK_PASSWORD", "correct horse battery staple")
	e := newS3Env(t, "secret", "--encrypt")
	img := filepath.Join(e.base, "disk.img")
	data := randomImage(t, img, 6<<20, 3)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "guest-vm", "--source", img, "-q")

	raw, ctx := e.raw(), context.Background()
	before := e.objects("")
	for name := range before {
		for _, word := range []string{"guest-vm", "backups", "chunks", "index", "info", "lvback"} {
			if strings.Contains(name, word) {
				t.Errorf("object name %q shows %q", name, word)
			}
		}
		b, err := raw.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+64 <= len(data); off += 1 << 20 {
			if bytes.Contains(b, data[off:off+64]) {
				t.Fatalf("object %s holds plaintext of the image at %d", name, off)
			}
		}
		if bytes.Contains(b, []byte("guest-vm")) {
			t.Errorf("object %s holds the volume name", name)
		}
	}

	p := e.start("host2", []string{"LVBACK_PASSWORD=wrong"}, "list", "--repo", e.url)
	if code := p.wait(t); code != exitUsage {
		t.Errorf("wrong password: exit %d, want %d", code, exitUsage)
	}
	if msg := strings.TrimSpace(p.stderr.String()); strings.Count(msg, "\n") > 0 || !strings.Contains(msg, "wrong password") {
		t.Errorf("wrong password: %q, want one line saying so", msg)
	}
	after := e.objects("")
	if len(after) != len(before) {
		t.Errorf("a wrong password changed the store: %d objects before, %d after", len(before), len(after))
	}

	out := filepath.Join(e.base, "restored")
	e.lv("host2", exitOK, "restore", "--repo", e.url, "--name", "guest-vm", "--target", out, "-q")
	sameContent(t, out, data)

	// Tamper with the largest object (a chunk): authentication fails.
	var big string
	for n, size := range after {
		if big == "" || size > after[big] {
			big = n
		}
	}
	b, err := raw.Get(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := raw.Put(ctx, big, b); err != nil {
		t.Fatal(err)
	}
	p = e.start("host2", nil, "verify", "--repo", e.url)
	if code := p.wait(t); code != exitFailed || !strings.Contains(p.stdout.String()+p.stderr.String(), "authentication failed") {
		t.Errorf("verify of a tampered object: exit %d; output:\n%s%s", code, p.stdout.Bytes(), p.stderr.Bytes())
	}
}
