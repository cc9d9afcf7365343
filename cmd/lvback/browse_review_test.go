package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refused checks that a command line is a usage error: exit 2, nothing on
// stdout, one line on stderr.
func refused(t *testing.T, args ...string) {
	t.Helper()
	if code, out, e := run(t, args...); code != exitUsage || out != "" || strings.Count(e, "\n") != 1 {
		t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, e)
	}
}

// An empty backup id (a script's unset $ID) is refused by every command,
// positional or --id, and changes nothing.
func TestEmptyIDRefused(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	browseSource(t, src)
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	id := mustList(t, repoPath)[0].ID
	r := []string{"--repo", repoPath, "--name", "vol"}
	target := filepath.Join(base, "target")
	for _, args := range [][]string{
		{"protect", ""}, {"unprotect", ""}, {"tag", "--add", "zz", ""}, {"tag", "--add", "zz", id, ""},
		{"dump", "--id", "", "/etc/fstab"}, {"dump", "--id=", "/etc/fstab"}, {"ls", "--id", ""},
		{"restore", "--id", "", "--target", target}, {"diff", "", id}, {"diff", id, ""}, {"verify", "--id", ""},
	} {
		refused(t, append(args[:1:1], append(r, args[1:]...)...)...)
	}
	refused(t, "copy", "--from", repoPath, "--to", initRepo(t, filepath.Join(base, "other")), "--id", "")
	if it := mustList(t, repoPath)[0]; len(it.Tags) != 0 || it.Protected {
		t.Errorf("labels changed: %+v", it)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("restore --id '' made %s", target)
	}
	if code, _, e := run(t, append([]string{"ls", "--id", "latest"}, r...)...); code != exitOK {
		t.Errorf("ls --id latest: exit %d: %s", code, e)
	}
}
