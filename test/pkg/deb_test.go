package pkg

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/internal/testsys"
)

// commands are lvback's visible commands: each gets a man page.
var commands = []string{"init", "backup", "list", "verify", "restore", "prune", "diff", "run", "cleanup", "mount", "copy", "version", "completion"}

// debFiles are the paths the package must install, beside one man page
// per command.
var debFiles = []string{
	"./usr/sbin/lvback",
	"./usr/share/man/man8/lvback.8.gz",
	"./usr/share/bash-completion/completions/lvback",
	"./usr/share/zsh/vendor-completions/_lvback",
	"./usr/share/fish/vendor_completions.d/lvback.fish",
	"./usr/lib/systemd/system/lvback.service",
	"./usr/lib/systemd/system/lvback.timer",
	"./usr/share/doc/lvback/examples/lvback.toml",
	"./usr/share/doc/lvback/examples/lvback.cron",
	"./usr/share/doc/lvback/copyright",
}

// TestDeb builds the package with `make deb` into a temp dir, checks its
// control fields and file list, installs it into a throw-away root with
// dpkg --root, runs the installed binary and man page, removes it and
// checks that no file of it is left.
func TestDeb(t *testing.T) {
	testsys.RequireRoot(t, "dpkg-deb", "dpkg", "make", "man", "git")
	build := t.TempDir()
	mk := exec.Command("make", "-C", srcDir, "--no-print-directory", "deb", "BUILD="+build, "BIN="+filepath.Join(build, "lvback"))
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(build, "lvback_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v, want one lvback_VERSION_ARCH.deb", debs)
	}
	deb := debs[0]
	version := checkControl(t, deb)
	checkFileList(t, deb)

	root := dpkgRoot(t)
	testsys.Run(t, "dpkg", "--root", root, "--force-depends", "--force-script-chrootless", "-i", deb)
	if out := testsys.Run(t, filepath.Join(root, "usr/sbin/lvback"), "--version"); !strings.HasPrefix(out, "lvback "+version+" ") {
		t.Errorf("installed lvback --version = %q, want version %s", out, version)
	}
	checkManPage(t, filepath.Join(root, "usr/share/man/man8/lvback-backup.8.gz"), "lvback-backup", "--source")
	checkUnits(t, filepath.Join(root, "usr/lib/systemd/system"))

	testsys.Run(t, "dpkg", "--root", root, "--force-script-chrootless", "-r", "lvback")
	if left := leftovers(t, root); len(left) > 0 {
		t.Errorf("after dpkg -r lvback, left: %v", left)
	}
}

// checkControl checks the control fields the issue asks for and returns
// the package's version.
func checkControl(t *testing.T, deb string) string {
	t.Helper()
	fields := []string{"Package", "Version", "Architecture", "Depends", "Recommends", "Section", "Priority", "Installed-Size", "Maintainer", "Description"}
	lines := strings.Split(testsys.Run(t, append([]string{"dpkg-deb", "-f", deb}, fields...)...), "\n")
	got := map[string]string{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, " ") {
			got[k] = v
		}
	}
	want := map[string]string{"Package": "lvback", "Depends": "lvm2", "Recommends": "thin-provisioning-tools, btrfs-progs", "Section": "admin", "Priority": "optional"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("control %s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range fields {
		if got[k] == "" {
			t.Errorf("control has no %s", k)
		}
	}
	if filepath.Base(deb) != "lvback_"+got["Version"]+"_"+got["Architecture"]+".deb" {
		t.Errorf("%s: not named lvback_VERSION_ARCH.deb for %s %s", deb, got["Version"], got["Architecture"])
	}
	testsys.Run(t, "dpkg", "--validate-version", got["Version"])
	return got["Version"]
}

// checkFileList checks that dpkg-deb -c lists every path in debFiles and
// a man page per command, each owned by root.
func checkFileList(t *testing.T, deb string) {
	t.Helper()
	listed := map[string]string{}
	for _, l := range strings.Split(testsys.Run(t, "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 {
			listed[f[5]] = f[1]
		}
	}
	want := append([]string{}, debFiles...)
	for _, c := range commands {
		want = append(want, "./usr/share/man/man8/lvback-"+c+".8.gz")
	}
	for _, p := range want {
		owner, ok := listed[p]
		switch {
		case !ok:
			t.Errorf("dpkg-deb -c: no %s", p)
		case owner != "root/root":
			t.Errorf("dpkg-deb -c: %s owned by %s", p, owner)
		}
	}
	if _, ok := listed["./usr/share/man/man8/lvback-gen-docs.8.gz"]; ok {
		t.Error("dpkg-deb -c: the hidden gen-docs command has a man page")
	}
}

// dpkgRoot makes an empty root with the dpkg database dpkg --root needs.
func dpkgRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	db := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"info", "updates"} {
		testsys.Must(t, os.MkdirAll(filepath.Join(db, d), 0o755))
	}
	for _, f := range []string{"status", "available"} {
		testsys.Must(t, os.WriteFile(filepath.Join(db, f), nil, 0o644))
	}
	return root
}

// checkManPage renders page with man -l and checks it names want.
func checkManPage(t *testing.T, page string, want ...string) {
	t.Helper()
	cmd := exec.Command("man", "-l", page)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=100", "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s: %v", page, err)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("man -l %s: no %q in\n%s", page, w, out)
		}
	}
}

// checkUnits runs systemd-analyze verify on the installed units, when it
// is there, and fails on what it says about their syntax (a missing
// /usr/sbin/lvback or sysinit.target outside a booted system is fine).
func checkUnits(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: units not verified")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", "--man=no",
		filepath.Join(dir, "lvback.service"), filepath.Join(dir, "lvback.timer")).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "Unknown") || strings.Contains(l, "ignoring") || strings.Contains(l, "Failed to parse") || strings.Contains(l, "Invalid") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}

// leftovers lists what is left in root outside dpkg's database: files,
// links and any directory named for lvback.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var left []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "var" || rel == "var/lib" || strings.HasPrefix(rel, "var/lib/dpkg") {
			return nil
		}
		if !d.IsDir() || strings.Contains(d.Name(), "lvback") {
			left = append(left, rel)
		}
		return nil
	})
	testsys.Must(t, err)
	return left
}
