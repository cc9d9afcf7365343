package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/internal/testsys"
)

// TestManPagesKeepHelpText generates the man pages, renders each with
// man -l, and checks it against the command's --help (the oracle): every
// line of the description, every flag and its usage appear with their
// characters intact (* ** _ \ ' ` -), and each line --help indents stays
// a line of its own.
func TestManPagesKeepHelpText(t *testing.T) {
	testsys.RequireTools(t, "man")
	dir := t.TempDir()
	if code, _, stderr := run(t, "gen-docs", "--man", dir); code != exitOK {
		t.Fatalf("gen-docs: exit %d: %s", code, stderr)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.8"))
	if len(pages) < 20 {
		t.Fatalf("gen-docs wrote %d pages: %v", len(pages), pages)
	}
	for _, page := range pages {
		args := strings.Split(strings.TrimSuffix(filepath.Base(page), ".8"), "-")[1:]
		t.Run(strings.Join(append([]string{"lvback"}, args...), "-"), func(t *testing.T) {
			code, help, stderr := run(t, append(args, "--help")...)
			if code != exitOK {
				t.Fatalf("--help: exit %d: %s", code, stderr)
			}
			rendered := renderMan(t, page)
			checkHelpInPage(t, help, rendered)
		})
	}
}

// renderMan renders page as an operator reads it, wide enough that no
// line --help indents is wrapped.
func renderMan(t *testing.T, page string) string {
	t.Helper()
	cmd := exec.Command("man", "-l", page)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=250", "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s: %v", page, err)
	}
	return string(out)
}

// checkHelpInPage checks that the description and the flags of help (a
// --help output) are in rendered (a man page).
func checkHelpInPage(t *testing.T, help, rendered string) {
	t.Helper()
	flat := squash(rendered)
	lines := map[string]bool{}
	for _, l := range strings.Split(rendered, "\n") {
		lines[squash(l)] = true
	}
	long, usage, _ := strings.Cut(help, "\nUsage:\n")
	for _, l := range strings.Split(long, "\n") {
		switch {
		case !strings.Contains(flat, squash(l)):
			t.Errorf("help line %q is not in the page:\n%s", l, rendered)
		case strings.HasPrefix(l, "  ") && !lines[squash(l)]:
			t.Errorf("indented help line %q is not a line of its own in the page:\n%s", l, rendered)
		}
	}
	for _, l := range strings.Split(usage, "\n") {
		spec, text, ok := strings.Cut(strings.TrimSpace(l), "  ")
		if !ok || !strings.HasPrefix(spec, "-") {
			continue // not a flag line
		}
		for _, want := range []string{spec, text} {
			if !strings.Contains(flat, squash(want)) {
				t.Errorf("flag line %q: %q is not in the page:\n%s", l, squash(want), rendered)
			}
		}
	}
}

// squash collapses every run of white space in s into one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestManPageEscapes renders a command whose help holds every character
// roff or markdown would take as markup, with the same check.
func TestManPageEscapes(t *testing.T) {
	testsys.RequireTools(t, "man")
	cmd := &cobra.Command{
		Use:   "odd [PATH]",
		Short: `Odd *text* with __under__ and \back\slash`,
		Long: "Globs *.conf, etc/**/*.conf, snake_case_name, `code`, 'single' \"double\" \\e \\fB C:\\dir\\\n" +
			".a line starting with a dot\n'a line starting with a quote\n" +
			"  indented --xattrs-include='*' \\\n    deeper | ~user ^caret\n\nnext # paragraph <tag> [x](y)",
		Run: func(*cobra.Command, []string) {},
	}
	cmd.Flags().String("pattern", "*.tmp", "a `GLOB` like **/_x_ or \\d")
	page := filepath.Join(t.TempDir(), "odd.8")
	var b bytes.Buffer
	testsys.Must(t, writeManPage(&b, cmd, manHeader{section: "8", date: "Jan 2026", source: "test", manual: "test"}))
	testsys.Must(t, os.WriteFile(page, b.Bytes(), 0o644))
	var help bytes.Buffer
	cmd.SetOut(&help)
	testsys.Must(t, cmd.Help())
	rendered := renderMan(t, page)
	checkHelpInPage(t, help.String(), rendered)
	if !strings.Contains(squash(rendered), squash(cmd.Short)) {
		t.Errorf("NAME does not hold %q:\n%s", cmd.Short, rendered)
	}
}
