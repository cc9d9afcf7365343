package main

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// thinChunk is the repository's block chunk size, which the thin tests
// count reads in.
const thinChunk = repo.DefaultBlockChunkSize

// thinEnv is a fake VG with a thin pool of 64 KiB blocks and a 16 MiB thin
// LV "thin" of random data (holes at its end): its image file is what
// tests write to between backups.
func thinEnv(t *testing.T) (*lvmEnv, string) {
	e := newLVMEnv(t)
	img := filepath.Join(t.TempDir(), "thin.img")
	data := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data[:12<<20] {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.vg.AddThinPool("pool", 128)
	e.vg.AddThin("thin", "pool", img)
	return e, img
}

// writeAt writes n bytes of seed's random data at off into the file img.
func writeAt(t *testing.T, img string, off int64, n int, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// thinBackup backs up the thin LV in block mode with extra flags,
// checks that the restored image equals the LV's content at backup
// time (sha256), and returns the new backup's info.
func (e *lvmEnv) thinBackup(img string, flags ...string) *repo.Info {
	e.t.Helper()
	want, err := os.ReadFile(img)
	if err != nil {
		e.t.Fatal(err)
	}
	// Snapshot names have a resolution of one second: a kept snapshot
	// and the next one made within its second would collide (the new
	// one is then not kept, and the run after reads everything).
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	args := append([]string{"backup", "--repo", e.repo, "--name", "thin", "--mode", "blocks", "--lv", lv("thin")}, flags...)
	code, stdout, stderr := e.lvback(args...)
	if code != exitOK {
		e.t.Fatalf("backup: exit %d: %s %s", code, stdout, stderr)
	}
	bs := e.backups("thin")
	info := bs[len(bs)-1].Info
	out := filepath.Join(e.t.TempDir(), "restored.img")
	if code, _, stderr := e.lvback("restore", "--repo", e.repo, "--name", "thin", "--target", out); code != exitOK {
		e.t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
		e.t.Fatalf("backup %s (%s read, %d bytes read) restores another image than the LV held (%v)", info.ID, info.ReadMode, info.ReadBytes, err)
	}
	return info
}

var keptRE = regexp.MustCompile(`^thin-lvback-kept-[0-9]{8}T[0-9]{6}$`)

// kept returns the names of the volumes of testVG other than the pool and
// the origin, failing t unless each is a kept snapshot (tagged, inactive,
// read-only, skipped at activation) of thin.
func (e *lvmEnv) kept() []string {
	e.t.Helper()
	s, err := state.Load(e.vg.State)
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, v := range s.LVs {
		if v.Name == "pool" || v.Name == "thin" {
			continue
		}
		names = append(names, v.Name)
		if !keptRE.MatchString(v.Name) || !slices.Contains(v.Tags, "lvback-kept") || v.Origin != "thin" ||
			len(v.Attr) < 10 || v.Attr[1] != 'r' || v.Attr[4] == 'a' || v.Attr[9] != 'k' {
			e.t.Errorf("volume %s (attr %s, tags %v, origin %s) is not a kept snapshot of thin", v.Name, v.Attr, v.Tags, v.Origin)
		}
	}
	return names
}

// A block backup of a thin LV reads everything once, keeps its snapshot,
// and from then on reads only the chunks thin_delta says changed: writes
// inside a chunk, across a chunk boundary, none at all. Every backup
// restores the LV's content at its time.
func TestThinDeltaReadsOnlyChangedChunks(t *testing.T) {
	e, img := thinEnv(t)
	info := e.thinBackup(img)
	if info.ReadMode != repo.ReadFull || info.FullReadReason != "no previous backup" || info.Thin == nil {
		t.Fatalf("first backup: read mode %q (%q), thin %+v", info.ReadMode, info.FullReadReason, info.Thin)
	}
	k1 := e.kept()
	if len(k1) != 1 {
		t.Fatalf("kept snapshots after the first backup: %q", k1)
	}

	writeAt(t, img, thinChunk+100, 5000, 1)    // inside chunk 1
	writeAt(t, img, 4*thinChunk-4096, 8192, 2) // across chunks 3 and 4
	writeAt(t, img, 14<<20, 4096, 3)           // a hole (chunk 7) gets data
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadThinDelta || info.ReadBytes != 4*thinChunk || info.ChangedBytes != 4*thinChunk {
		t.Errorf("incremental: read mode %q (%q), read %d bytes, changed %d; want thin_delta and the %d bytes of 4 chunks",
			info.ReadMode, info.FullReadReason, info.ReadBytes, info.ChangedBytes, 4*thinChunk)
	}
	if info.KeptSnapshotBytes != 4*64<<10 {
		t.Errorf("kept snapshot held %d bytes alone; thin_delta saw 4 blocks of 64 KiB change", info.KeptSnapshotBytes)
	}
	k2 := e.kept()
	if len(k2) != 1 || k2[0] == k1[0] && len(e.calls("lvrename")) == 0 {
		t.Errorf("kept snapshots after the second backup: %q (before: %q)", k2, k1)
	}

	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadThinDelta || info.ReadBytes != 0 {
		t.Errorf("no change: read mode %q (%q), read %d bytes; want thin_delta and nothing", info.ReadMode, info.FullReadReason, info.ReadBytes)
	}

	// cleanup leaves the kept snapshot; --full-read reads everything.
	if code, out, stderr := e.lvback("cleanup"); code != exitOK || len(e.kept()) != 1 {
		t.Fatalf("cleanup: exit %d, %s %s; kept: %q", code, out, stderr, e.kept())
	}
	writeAt(t, img, 0, 100, 4)
	info = e.thinBackup(img, "--full-read")
	if info.ReadMode != repo.ReadFull || info.FullReadReason != "--full-read" || info.ReadBytes < 12<<20 {
		t.Errorf("--full-read: read mode %q (%q), %d bytes", info.ReadMode, info.FullReadReason, info.ReadBytes)
	}
	if code, out, stderr := e.lvback("cleanup", "--kept"); code != exitOK || !strings.Contains(out, "kept snapshot") || len(e.kept()) != 0 {
		t.Fatalf("cleanup --kept: exit %d, %s %s; kept: %q", code, out, stderr, e.kept())
	}
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadFull || info.FullReadReason != "no kept snapshot" {
		t.Errorf("after cleanup --kept: read mode %q (%q)", info.ReadMode, info.FullReadReason)
	}
}

// Anything that makes thin_delta's answer doubtful is a full read, and
// says why: thin_delta failing, a kept snapshot that is not the one the
// previous backup read (a run died between committing and keeping), an
// origin that grew. A chunk the store lost is read again, not carried.
func TestThinDeltaFallsBackToFullRead(t *testing.T) {
	e, img := thinEnv(t)
	e.thinBackup(img)

	e.vg.Fault(state.FailThinDeltaOnce, "1")
	writeAt(t, img, 100, 100, 5)
	info := e.thinBackup(img)
	if info.ReadMode != repo.ReadFull || !strings.Contains(info.FullReadReason, "thin_delta") {
		t.Errorf("thin_delta failing: read mode %q (%q)", info.ReadMode, info.FullReadReason)
	}

	// A run that dies after its commit, before keeping its snapshot: here
	// lvrename fails, so the new snapshot is removed and the old one stays.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "lvrename"), []byte("#!/bin/sh\necho '  lvrename: injected failure' >&2\nexit 5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	writeAt(t, img, 2*thinChunk, 100, 6)
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadThinDelta {
		t.Errorf("before the failed keep: read mode %q (%q)", info.ReadMode, info.FullReadReason)
	}
	if k := e.kept(); len(k) != 1 {
		t.Errorf("after the failed keep: kept %q, want the older one", k)
	}
	t.Setenv("PATH", strings.TrimPrefix(os.Getenv("PATH"), bin+":"))
	writeAt(t, img, 5*thinChunk, 100, 7)
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadFull || !strings.Contains(info.FullReadReason, "no kept snapshot is the one backup") {
		t.Errorf("kept snapshot of an older backup: read mode %q (%q)", info.ReadMode, info.FullReadReason)
	}

	// The store lost a chunk that did not change: it is read and stored again.
	bs := e.backups("thin")
	chunks, _ := filepath.Glob(filepath.Join(e.repo, "chunks", "*", "*"))
	if len(chunks) == 0 {
		t.Fatal("no chunk files found")
	}
	for _, c := range chunks {
		os.Remove(c)
	}
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadThinDelta || info.ReadBytes < 12<<20 {
		t.Errorf("store emptied after %s: read mode %q, read %d bytes; want every data chunk read again", bs[len(bs)-1].ID, info.ReadMode, info.ReadBytes)
	}

	// The origin grew.
	if err := os.Truncate(img, 18<<20); err != nil {
		t.Fatal(err)
	}
	e.vg.Edit(func(s *state.State) {
		for i := range s.LVs {
			if s.LVs[i].Name == "thin" {
				s.LVs[i].Size = 18 << 20
			}
		}
	})
	testsys.Run(t, "losetup", "-c", e.vg.LV("thin").Loop) // the loop device sees the new size
	info = e.thinBackup(img)
	if info.ReadMode != repo.ReadFull || !strings.Contains(info.FullReadReason, "size changed") {
		t.Errorf("after the origin grew: read mode %q (%q)", info.ReadMode, info.FullReadReason)
	}
	if !bytes.Contains([]byte(info.FullReadReason), []byte("18874368")) {
		t.Errorf("reason %q does not name the new size", info.FullReadReason)
	}
}

// `run` keeps a thin LV's snapshot while the LV is a block-mode volume
// of the config (full_read_every accepted), and removes it once the
// volume left the config; a kept snapshot of an LV this repository
// never backed up is someone else's and stays.
func TestRunDropsKeptSnapshotOfVolumeLeftConfig(t *testing.T) {
	e, _ := thinEnv(t)
	vol := "[[volume]]\nname = \"thin\"\nmode = \"blocks\"\nlv = \"" + lv("thin") + "\"\nfull_read_every = \"30d\"\n"
	dir := t.TempDir()
	mkTree(t, dir, "file")
	other := "[[volume]]\nname = \"etc\"\npath = \"" + dir + "\"\n"
	for i, cfg := range []string{vol + other, vol + other} {
		if code, out, stderr := e.lvback("run", "--config", e.config(cfg)); code != exitOK {
			t.Fatalf("run %d: exit %d: %s %s", i, code, out, stderr)
		}
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	}
	bs := e.backups("thin")
	if len(bs) != 2 || bs[1].Info.ReadMode != repo.ReadThinDelta || len(e.kept()) != 1 {
		t.Fatalf("after two runs: %d backups, the second read %q (%q); kept %q", len(bs), bs[len(bs)-1].Info.ReadMode, bs[len(bs)-1].Info.FullReadReason, e.kept())
	}
	// A kept snapshot of another LV, which this repository never backed up.
	e.vg.Edit(func(s *state.State) {
		k := *s.Find(testVG, e.kept()[0])
		k.Name, k.Origin, k.UUID, k.ThinID, k.Image, k.Loop = "guest-lvback-kept-20260101T000000", "guest", "other-uuid", 99, "", ""
		s.LVs = append(s.LVs, k)
	})
	if code, out, stderr := e.lvback("run", "--config", e.config(other)); code != exitOK {
		t.Fatalf("run without the thin volume: exit %d: %s %s", code, out, stderr)
	}
	var left []string
	for _, n := range e.vg.Names() {
		if strings.Contains(n, "-lvback-kept-") {
			left = append(left, n)
		}
	}
	if !slices.Equal(left, []string{testVG + "/guest-lvback-kept-20260101T000000"}) {
		t.Errorf("kept snapshots after the volume left the config: %q, want only the other LV's", left)
	}
}
