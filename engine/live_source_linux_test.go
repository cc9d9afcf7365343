package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// A block-mode source that is not a snapshot lvback made: an image file
// written during the read (troubleFS's hot file, whose mtime moves at
// every stat) and a writable loop device are backed up with a warning,
// logged and recorded in info.json, or refused with RequireSnapshot
// (nothing kept); an untouched image file and a read-only loop device
// pass silently, also with RequireSnapshot; a directory in file mode is
// refused with RequireSnapshot.
func TestLiveBlockSource(t *testing.T) {
	if !isRoot() {
		t.Skip("not root: needs FUSE and loop devices")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup not installed")
	}
	fuse := mountTroubleFS(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	makeImage(t, img)
	rw := losetup(t, img)
	ro := losetup(t, "-r", img)
	const (
		changed   = "source changed while it was read (mtime"
		notSnap   = "is a block device that is not a snapshot lvback made"
		noWarning = ""
	)
	tests := []struct {
		name    string
		src     string
		files   bool // file mode
		require bool
		warn    string // in SourceWarning and the log; "" for none
		err     error  // refused with it: nothing kept
	}{
		{"image written while read", filepath.Join(fuse, "hot"), false, false, changed, nil},
		{"image written while read, snapshot required", filepath.Join(fuse, "hot"), false, true, noWarning, ErrSourceChanged},
		{"untouched image", img, false, false, noWarning, nil},
		{"untouched image, snapshot required", img, false, true, noWarning, nil},
		{"untouched FUSE file", filepath.Join(fuse, "good"), false, false, noWarning, nil},
		{"writable device", rw, false, false, notSnap, nil},
		{"writable device, snapshot required", rw, false, true, noWarning, ErrNotSnapshot},
		{"read-only device", ro, false, false, noWarning, nil},
		{"read-only device, snapshot required", ro, false, true, noWarning, nil},
		{"directory, snapshot required", dir, true, true, noWarning, ErrNotSnapshot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repoPath := newRepo(t, filepath.Join(t.TempDir(), "repo"))
			var log bytes.Buffer
			res, err := BackupVolume(context.Background(), VolumeOptions{Path: tc.src, Blocks: !tc.files,
				RequireSnapshot: tc.require, Backup: BackupOptions{Repo: repoPath, Name: "vm",
					Log: slog.New(slog.NewTextHandler(&log, nil))}})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("backup: %v, want %v", err, tc.err)
				}
				if bs := backupsOf(t, repoPath, "vm"); len(bs) != 0 {
					t.Errorf("refused backup left %+v", bs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				Warning string `json:"source_warning"`
				Changed bool   `json:"source_changed"`
			}
			data, err := os.ReadFile(filepath.Join(res.Dir, "info.json"))
			testsys.Must(t, err)
			testsys.Must(t, json.Unmarshal(data, &info))
			if tc.warn == noWarning {
				if info.Warning != "" || info.Changed || strings.Contains(log.String(), "level=WARN") {
					t.Errorf("warned about a stable source: info %+v, log %s", info, log.String())
				}
				return
			}
			if !strings.Contains(info.Warning, tc.warn) || res.Info.SourceWarning != info.Warning {
				t.Errorf("source_warning %q (result: %q), want %q", info.Warning, res.Info.SourceWarning, tc.warn)
			}
			if info.Changed != (tc.warn == changed) {
				t.Errorf("source_changed = %v", info.Changed)
			}
			if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), tc.warn) {
				t.Errorf("warning not logged: %s", log.String())
			}
		})
	}
}

// losetup attaches a loop device (with the given losetup options and
// file, last) until t ends.
func losetup(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("losetup", append([]string{"-f", "--show"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup %v: %v\n%s", args, err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v\n%s", dev, err, out)
		}
	})
	return dev
}
