package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testtree"
)

// hostileNames are volume names that would do harm if lvback ever built a
// shell command or a path from them.
func hostileNames(pwned string) []string {
	return []string{"a b", "a'b", `a"b`, "a;b", "$(touch " + pwned + ")", "`touch " + pwned + "`",
		"a\nb", "-rf", "--help", "..", ".hidden", "a/b", "../x", strings.Repeat("n", 129)}
}

// Volume names with spaces, quotes, ;, $(), backquotes, newlines, a
// leading dash or a slash are refused by every command with a one-line
// usage error (exit 2) before anything is read or written.
func TestHostileNamesAreRefused(t *testing.T) {
	base := t.TempDir()
	src, repoPath, pwned := filepath.Join(base, "src"), initRepo(t, filepath.Join(base, "repo")), filepath.Join(base, "PWNED")
	mkTree(t, src, "f")
	newRepo := filepath.Join(base, "new-repo")
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "ok", "--source", src); code != 0 {
		t.Fatal(e)
	}
	for _, name := range hostileNames(pwned) {
		for _, args := range [][]string{
			{"backup", "--repo", newRepo, "--source", src},
			{"backup", "--repo", newRepo, "--mode", "blocks", "--source", filepath.Join(src, "f")},
			{"list", "--repo", repoPath},
			{"verify", "--repo", repoPath},
			{"restore", "--repo", repoPath, "--target", filepath.Join(base, "target")},
			{"prune", "--repo", repoPath, "--keep-last", "1"},
			{"diff", "--repo", repoPath, "x", "y"},
		} {
			args := append(args, "--name="+name)
			code, _, stderr := run(t, args...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "invalid volume name") {
				t.Errorf("%s --name=%q: exit %d, stderr %q; want %d and a one-line error", args[0], name, code, stderr, exitUsage)
			}
		}
	}
	for _, p := range []string{newRepo, filepath.Join(base, "target"), pwned} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: a refused command wrote something", p)
		}
	}
	if n := completeBackups(t, repoPath, "ok"); n != 1 {
		t.Errorf("%d backups after the refused commands, want 1", n)
	}
}

// A config whose volume name is hostile is refused with a one-line
// file:line error (exit 2) before anything runs.
func TestHostileNamesInConfig(t *testing.T) {
	base := t.TempDir()
	src, pwned := filepath.Join(base, "src"), filepath.Join(base, "PWNED")
	mkTree(t, src, "f")
	for _, name := range hostileNames(pwned) {
		quoted, _ := json.Marshal(name) // a TOML basic string: same escapes as JSON here
		cfg := writeConfig(t, base, "repo = \""+base+"/repo\"\n\n[[volume]]\nname = "+string(quoted)+"\npath = \""+src+"\"\n")
		code, _, stderr := run(t, "run", "--config", cfg)
		if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, cfg+":3:") {
			t.Errorf("name %q: exit %d, stderr %q; want %d and a one-line error at %s:3", name, code, stderr, exitUsage, cfg)
		}
	}
	for _, p := range []string{filepath.Join(base, "repo"), pwned} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: a refused config ran", p)
		}
	}
}

// Paths with spaces, quotes, ;, $(), a newline and a leading dash are
// taken literally as sources, repositories and restore targets, and backup
// IDs that look like commands or paths are just unknown IDs.
func TestHostilePathsAreLiteral(t *testing.T) {
	base := t.TempDir()
	pwned := filepath.Join(base, "PWNED")
	weird := "-we;ird $(touch " + pwned + ") 'q' \"dq\" `touch " + pwned + "`\nline"
	src, repoPath, target := filepath.Join(base, "src "+weird), initRepo(t, filepath.Join(base, "repo "+weird)), filepath.Join(base, "target "+weird)
	mkTree(t, src, "f", weird+"/inner")
	if code, _, e := run(t, "backup", "--repo", repoPath, "--name", "vol", "--source", src); code != 0 {
		t.Fatalf("backup: %s", e)
	}
	if code, _, e := run(t, "verify", "--repo", repoPath); code != 0 {
		t.Fatalf("verify: %s", e)
	}
	if code, _, e := run(t, "restore", "--repo", repoPath, "--name", "vol", "--target", target); code != 0 {
		t.Fatalf("restore: %s", e)
	}
	if d := testtree.RsyncDiff(t, src, target); d != "" {
		t.Fatalf("restored tree differs:\n%s", d)
	}
	for _, id := range []string{"$(touch " + pwned + ")", "../../etc", "/etc/passwd", "-rf", "latest;rm"} {
		code, _, stderr := run(t, "restore", "--repo", repoPath, "--name", "vol", "--id", id, "--target", filepath.Join(base, "t2"))
		if code == exitOK || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("restore --id %q: exit %d, stderr %q; want a one-line refusal", id, code, stderr)
		}
	}
	if _, err := os.Lstat(pwned); err == nil {
		t.Fatal("a path or id was run as a command")
	}
}

// The repository, its backups directory and its chunk store are created
// mode 0700, so no other user can read backed-up files through them; an
// existing empty directory keeps its mode but backups/ inside is 0700.
func TestRepositoryIsPrivate(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "f")
	img := filepath.Join(base, "disk.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	repoPath, premade := filepath.Join(base, "repo"), filepath.Join(base, "premade")
	if err := os.Mkdir(premade, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{repoPath, premade} {
		initRepo(t, r)
		if code, _, e := run(t, "backup", "--repo", r, "--name", "vol", "--source", src); code != 0 {
			t.Fatal(e)
		}
		if code, _, e := run(t, "backup", "--repo", r, "--name", "img", "--mode", "blocks", "--source", img); code != 0 {
			t.Fatal(e)
		}
	}
	for p, want := range map[string]os.FileMode{
		repoPath: 0o700, filepath.Join(repoPath, "backups"): 0o700, filepath.Join(repoPath, "chunks"): 0o700,
		premade: 0o755, filepath.Join(premade, "backups"): 0o700, filepath.Join(premade, "chunks"): 0o700,
	} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
}
