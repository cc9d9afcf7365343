// Package pkg tests what lvback ships besides its code: the version a
// binary reports (stamped by the linker, or read from Go's build info),
// the shell completions, and the Debian package `make deb` builds,
// installed into and removed from a throw-away root. The package tests
// skip, naming what is missing, without root, dpkg, make or man.
package pkg

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// srcDir is the module's root, where the Makefile is.
const srcDir = "../.."

const buildinfoPkg = "github.com/lvback/lvback/internal/buildinfo"

// versionJSON is `lvback version --json`'s object.
type versionJSON struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	GoOS      string `json:"go_os"`
	GoArch    string `json:"go_arch"`
}

// goBuild builds ./cmd/lvback of the module in dir into a temp file with
// extra go build flags and returns the binary's path.
func goBuild(t *testing.T, dir string, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lvback")
	args := append([]string{"build", "-trimpath", "-o", bin}, flags...)
	cmd := exec.Command("go", append(args, "./cmd/lvback")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", flags, err, out)
	}
	return bin
}

// readVersion runs `bin version --json` and `bin --version`.
func readVersion(t *testing.T, bin string) (versionJSON, string) {
	t.Helper()
	var v versionJSON
	if err := json.Unmarshal([]byte(testsys.Run(t, bin, "version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v, testsys.Run(t, bin, "--version")
}

func TestVersionStamped(t *testing.T) {
	want := versionJSON{Version: "9.8.7~git20261127.c0ffee1", Commit: "c0ffee1c0ffee1c0ffee1c0ffee1c0ffee1c0ffe", Date: "2026-11-27T01:30:00Z"}
	bin := goBuild(t, srcDir, "-ldflags", "-X "+buildinfoPkg+".version="+want.Version+
		" -X "+buildinfoPkg+".commit="+want.Commit+" -X "+buildinfoPkg+".date="+want.Date)
	got, line := readVersion(t, bin)
	if got.Version != want.Version || got.Commit != want.Commit || got.Date != want.Date {
		t.Errorf("version --json = %+v, want %+v", got, want)
	}
	if got.GoVersion == "" || got.GoOS != "linux" || got.GoArch == "" {
		t.Errorf("version --json = %+v: Go fields missing", got)
	}
	for _, s := range []string{"lvback " + want.Version, want.Commit, want.Date} {
		if !strings.Contains(line, s) {
			t.Errorf("--version = %q, lacks %q", line, s)
		}
	}
}

// TestVersionBuildInfo builds an unstamped binary (a plain go build, as
// `go install` makes) in a clone of the checkout holding the work tree's
// files, and checks that version --json reports the commit (with -dirty
// when the work tree differs from it) and the commit's time as git does.
func TestVersionBuildInfo(t *testing.T) {
	testsys.RequireTools(t, "git", "go")
	clone := cloneWorkTree(t)
	bin := goBuild(t, clone, "-buildvcs=true")
	got, line := readVersion(t, bin)
	commit := testsys.Run(t, "git", "-C", clone, "rev-parse", "HEAD")
	if testsys.Run(t, "git", "-C", clone, "status", "--porcelain") != "" {
		commit += "-dirty"
	}
	cmd := exec.Command("git", "-C", clone, "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	date, err := cmd.Output()
	testsys.Must(t, err)
	if got.Commit != commit || got.Date != strings.TrimSpace(string(date)) {
		t.Errorf("version --json = %+v, want commit %s date %s", got, commit, date)
	}
	if got.Version == "" || got.Version == "devel" {
		t.Errorf("version --json = %+v: no version", got)
	}
	if !strings.Contains(line, commit) {
		t.Errorf("--version = %q, lacks the commit %s", line, commit)
	}
}

// cloneWorkTree clones srcDir's HEAD into a temp dir (a git worktree
// gives go build no VCS information, a clone does) and copies the work
// tree's files over it, so that what is built is what is being tested.
func cloneWorkTree(t *testing.T) string {
	t.Helper()
	clone := filepath.Join(t.TempDir(), "src")
	testsys.Run(t, "git", "clone", "-q", "--shared", srcDir, clone)
	testsys.Run(t, "git", "-C", clone, "checkout", "-q", "--detach", testsys.Run(t, "git", "-C", srcDir, "rev-parse", "HEAD"))
	files := testsys.Run(t, "git", "-C", srcDir, "ls-files", "-c", "-o", "--exclude-standard")
	for _, f := range strings.Split(files, "\n") {
		src, dst := filepath.Join(srcDir, f), filepath.Join(clone, f)
		fi, err := os.Stat(src)
		switch {
		case errors.Is(err, fs.ErrNotExist): // deleted in the work tree
			testsys.Must(t, os.RemoveAll(dst))
			continue
		case err != nil:
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		testsys.Must(t, err)
		testsys.Must(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		testsys.Must(t, os.WriteFile(dst, data, fi.Mode().Perm()))
		testsys.Must(t, os.Chmod(dst, fi.Mode().Perm())) // the clone's umask may have cut it
	}
	return clone
}

// TestCompletionBash loads the completion bash asks cobra for, as
// bash-completion does, and checks it registers lvback.
func TestCompletionBash(t *testing.T) {
	testsys.RequireTools(t, "bash", "go")
	bin := goBuild(t, srcDir)
	out := testsys.Run(t, "bash", "-c", `source <("$0" completion bash) && complete -p lvback`, bin)
	if !strings.Contains(out, "__start_lvback") || !strings.HasSuffix(out, " lvback") {
		t.Errorf("complete -p lvback = %q, want the __start_lvback function bound to lvback", out)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if !strings.Contains(testsys.Run(t, bin, "completion", shell), "lvback") {
			t.Errorf("completion %s: no script for lvback", shell)
		}
	}
}
