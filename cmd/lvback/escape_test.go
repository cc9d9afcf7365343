package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path":      "plain/path",
		"a\\nb":           `a\\nb`,
		"a\nb":            `a\nb`,
		"t\tc\rr":         `t\tc\rr`,
		"esc\x1b[31m":     `esc\x1b[31m`,
		"nul\x00del\x7f":  `nul\x00del\x7f`,
		"bad\xff\xfe":     `bad\xff\xfe`,
		"csi\u009b2J":     `csi\u009b2J`,
		"grüße/日本":        "grüße/日本",
		"back\\slash\xff": `back\\slash\xff`,
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %s, want %s", in, got, want)
		}
	}
}

// ls prints every name unambiguously and without control characters; its
// JSON gives back the bytes of names that are not UTF-8.
func TestLsEscapesNames(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	names := []string{"a\\nb", "a\nb", "esc\x1b[31m", "bad\xff", "tab\tcr\r"}
	must(t, os.MkdirAll(filepath.Join(src, "n"), 0o755))
	for _, n := range names {
		must(t, os.WriteFile(filepath.Join(src, "n", n), nil, 0o644))
	}
	must(t, os.Symlink("to\xfe", filepath.Join(src, "n/link")))
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	browseBackup(t, repoPath, src)
	r := []string{"--repo", repoPath, "--name", "vol"}
	code, out, e := run(t, append([]string{"ls", "-l", "/n"}, r...)...)
	if code != exitOK {
		t.Fatalf("ls -l: exit %d: %s", code, e)
	}
	for _, want := range []string{` /n/a\\nb` + "\n", ` /n/a\nb` + "\n", ` /n/esc\x1b[31m` + "\n", ` /n/bad\xff` + "\n",
		` /n/tab\tcr\r` + "\n", ` /n/link -> to\xfe` + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls -l: no %q in\n%s", want, out)
		}
	}
	if strings.ContainsFunc(out, func(r rune) bool { return r < 0x20 && r != '\n' }) || strings.Count(out, "\n") != len(names)+1 {
		t.Errorf("ls -l: control characters or extra lines:\n%q", out)
	}
	raw := map[string]string{}
	for _, be := range lsJSON(t, append(r, "/n")...) {
		if be.PathRaw != nil {
			raw[string(be.PathRaw)] = "path"
		}
		if be.TargetRaw != nil {
			raw[string(be.TargetRaw)] = "target"
		}
		if (be.PathRaw == nil) != !bytes.ContainsRune([]byte(be.Path), 0xfffd) {
			t.Errorf("%q: path_raw %q", be.Path, be.PathRaw)
		}
	}
	if len(raw) != 2 || raw["/n/bad\xff"] != "path" || raw["to\xfe"] != "target" {
		t.Errorf("ls --json raw fields: %q", raw)
	}
}
