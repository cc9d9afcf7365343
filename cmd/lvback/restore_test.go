package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dirStamp is what the restore rule is about: a directory's permission
// bits and mtime.
type dirStamp struct {
	mode  os.FileMode
	mtime time.Time
}

func stampOf(t *testing.T, dir string) dirStamp {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dirStamp{fi.Mode().Perm(), fi.ModTime()}
}

// existingTarget makes a non-empty directory of mode 0700 with an old
// mtime, the kind an operator restores into with --force.
func existingTarget(t *testing.T, dir string) dirStamp {
	t.Helper()
	mkTree(t, dir, "mine")
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	return stampOf(t, dir)
}

// TestRestoreForceTargetMetadata checks the rule restore --help states
// for an existing, non-empty target restored into with --force: it keeps
// its own mode and mtime, for the whole backup (as tar -x -C does with an
// archive of the root's entries and no "." entry) and for --path, unless
// --root-metadata makes it the backup's root on purpose (mode and mtime
// applied, as rsync -a src/ dst/ does). The oracles run on a copy of the
// same target.
func TestRestoreForceTargetMetadata(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "a/f", "g")
	rootTime := time.Date(2020, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := os.Chmod(src, 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, rootTime, rootTime); err != nil {
		t.Fatal(err)
	}
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src, "-q"); code != exitOK {
		t.Fatalf("backup: %s", stderr)
	}
	tests := []struct {
		name   string
		path   string   // --path; "" restores the whole backup
		extra  []string // more restore flags
		oracle []string // the same onto a copy of the target, %s is the copy
		apply  bool     // the target takes the backup root's mode and mtime
		// oracleMtime: the oracle's mtime is comparable (tar's is not: it
		// leaves the mtime its new entries gave the target, which restore
		// sets back)
		oracleMtime bool
	}{
		{"whole backup keeps the target's own", "", nil, []string{"sh", "-c", "tar -C " + src + " -cf - a g | tar -x -C %s"}, false, false},
		{"--root-metadata applies the root", "", []string{"--root-metadata"}, []string{"rsync", "-a", src + "/", "%s/"}, true, true},
		{"--path keeps the target's own", "a", nil, []string{"sh", "-c", "tar -C " + src + " -cf - a | tar -x -C %s"}, false, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(base, "target", string(rune('0'+i)))
			before := existingTarget(t, target)
			args := []string{"restore", "--repo", repoPath, "--name", "v", "--target", target, "--force", "-q"}
			if tc.path != "" {
				args = append(args, "--path", tc.path)
			}
			args = append(args, tc.extra...)
			if code, _, stderr := run(t, args...); code != exitOK {
				t.Fatalf("restore: exit %d: %s", code, stderr)
			}
			got := stampOf(t, target)
			want := before
			if tc.apply {
				want = dirStamp{0o751, rootTime}
			}
			if got.mode != want.mode || !got.mtime.Equal(want.mtime) {
				t.Fatalf("target is %v %v, want %v %v", got.mode, got.mtime, want.mode, want.mtime)
			}
			oracle := filepath.Join(base, "oracle", string(rune('0'+i)))
			existingTarget(t, oracle)
			cmd := make([]string, len(tc.oracle))
			for j, a := range tc.oracle {
				cmd[j] = strings.ReplaceAll(a, "%s", oracle)
			}
			if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
				t.Skipf("oracle %v: %v %s", cmd, err, out)
			}
			if o := stampOf(t, oracle); o.mode != got.mode || tc.oracleMtime && !o.mtime.Equal(got.mtime) {
				t.Fatalf("%s leaves %v %v, restore %v %v", cmd[0], o.mode, o.mtime, got.mode, got.mtime)
			}
		})
	}
}

func TestRestoreToStdoutRefused(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "f")
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "v", "--source", src, "-q"); code != exitOK {
		t.Fatalf("backup: %s", stderr)
	}
	t.Chdir(base) // a target "-" would be made here
	code, stdout, stderr := run(t, "restore", "--repo", repoPath, "--name", "v", "--target", "-")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "lvback dump") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("restore --target -: exit %d, stdout %q, stderr %q; want exit 2 and one line naming lvback dump", code, stdout, stderr)
	}
	if _, err := os.Lstat(filepath.Join(base, "-")); err == nil {
		t.Fatal("restore --target - wrote a file named -")
	}
}
