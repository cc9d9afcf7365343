package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuffer is a JSON log whose records a test can read back.
type logBuffer struct {
	mu  sync.Mutex // guards buf: hooks log from exec's copying goroutines
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo})), b
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNeedsShell(t *testing.T) {
	tests := []struct {
		cmd   string
		shell bool
		words []string
	}{
		{"curl -fsS -m 10 https://hc-ping.com/abc", false, []string{"curl", "-fsS", "-m", "10", "https://hc-ping.com/abc"}},
		{"  virsh\tdomfsfreeze  guest1 ", false, []string{"virsh", "domfsfreeze", "guest1"}},
		{"qm guest cmd 101 fsfreeze-freeze", false, []string{"qm", "guest", "cmd", "101", "fsfreeze-freeze"}},
		{"/usr/local/bin/hook --a=b", false, []string{"/usr/local/bin/hook", "--a=b"}},
		{"mail -s 'lvback failed' root", true, nil},
		{"cat > /tmp/x", true, nil},
		{"a | b", true, nil},
		{"a && b", true, nil},
		{"a; b", true, nil},
		{"echo $HOME", true, nil},
		{"echo `id`", true, nil},
		{`echo "x"`, true, nil},
		{`echo a\ b`, true, nil},
		{"ls *.txt", true, nil},
		{"ls ?", true, nil},
		{"ls [ab]", true, nil},
		{"echo x # comment", true, nil},
		{"ls ~", true, nil},
		{"(a)", true, nil},
		{"a\nb", true, nil},
		{"FOO=1 cmd", true, nil},
	}
	for _, tt := range tests {
		if got := NeedsShell(tt.cmd); got != tt.shell {
			t.Errorf("NeedsShell(%q) = %v, want %v", tt.cmd, got, tt.shell)
		}
		if !tt.shell && !slices.Equal(Words(tt.cmd), tt.words) {
			t.Errorf("Words(%q) = %q, want %q", tt.cmd, Words(tt.cmd), tt.words)
		}
	}
}

// A command without metacharacters runs without a shell: its words reach
// the program as they are (a shell would expand nothing here either, but
// the process tree shows no sh), and the program is found in the fallback
// directories when PATH lacks it.
func TestRunWithoutShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// The script prints its parent's command name: lvback's test binary,
	// not sh, when no shell runs in between.
	p := script(t, dir, "hook", `printf '%s\n' "$@" > `+out+`
tr '\0' ' ' < /proc/$PPID/cmdline >> `+out+`
`)
	log, _ := newLog()
	if err := Run(t.Context(), Hook{Name: "test", Command: p + " one  two\t-x=y"}, log); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 4 || strings.Join(lines[:3], ",") != "one,two,-x=y" {
		t.Fatalf("arguments: %q", lines)
	}
	if strings.HasPrefix(lines[3], "/bin/sh") || strings.HasPrefix(lines[3], "sh ") {
		t.Fatalf("a shell ran the hook: parent %q", lines[3])
	}
}

// A command with metacharacters runs through /bin/sh -c, with PATH
// extended by the sbin directories.
func TestRunThroughShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	t.Setenv("PATH", "/usr/bin:/bin") // cron's
	log, _ := newLog()
	cmd := "echo \"$PATH\" | tr : '\\n' > " + out + " && echo done >> " + out
	if err := Run(t.Context(), Hook{Name: "test", Command: cmd}, log); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	lines := strings.Fields(string(got))
	if !slices.Contains(lines, "/usr/sbin") || !slices.Contains(lines, "/sbin") || lines[len(lines)-1] != "done" {
		t.Fatalf("the shell did not run the pipeline with the sbin directories on PATH: %q", lines)
	}
}

func TestRunEnvAndStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p := script(t, dir, "hook", `env | grep -E '^LVBACK_(VOLUME|STATUS|BACKUP_ID)=' | sort > `+out+`
cat >> `+out+`
`)
	log, _ := newLog()
	h := Hook{Name: "test", Command: p, Env: []string{"LVBACK_VOLUME=data", "LVBACK_STATUS=ok", "LVBACK_BACKUP_ID="},
		Stdin: []byte("{\"ok\": true}\n")}
	if err := Run(t.Context(), h, log); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want := "LVBACK_BACKUP_ID=\nLVBACK_STATUS=ok\nLVBACK_VOLUME=data\n{\"ok\": true}\n"
	if string(got) != want {
		t.Fatalf("hook saw:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunLogsOutputLines(t *testing.T) {
	log, buf := newLog()
	cmd := "echo first; echo second >&2; printf 'no newline'"
	if err := Run(t.Context(), Hook{Name: "on_success", Command: cmd}, log); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`hook=on_success stream=stdout line=first`,
		`hook=on_success stream=stderr line=second`,
		`hook=on_success stream=stdout line="no newline"`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf)
		}
	}
}

func TestRunFailures(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
	tests := []struct {
		name, cmd string
		want      []string
	}{
		{"exit status with stderr", "echo oops >&2; exit 3", []string{`test hook "echo oops >&2; exit 3"`, "exit status 3", "oops"}},
		{"missing program", "no-such-hook-program --flag", []string{`test hook "no-such-hook-program --flag"`, "program no-such-hook-program not found", "/usr/sbin"}},
		{"missing program in a shell", "no-such-hook-program > /dev/null", []string{"exit status 127", "not found"}},
		{"empty", "  ", []string{"empty command"}},
		{"not executable", "/etc/passwd", []string{"not an executable file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := newLog()
			err := Run(t.Context(), Hook{Name: "test", Command: tt.cmd}, log)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(buf.String(), "hook failed") || !strings.Contains(buf.String(), "hook=test") {
				t.Errorf("the failure is not in the log: %s", buf)
			}
		})
	}
}

// A hook that outlives its timeout is killed with its whole process group:
// a child it started in the background is gone too.
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	log, _ := newLog()
	cmd := "sleep 60 & echo $! > " + pidFile + "; wait"
	start := time.Now()
	err := Run(t.Context(), Hook{Name: "test", Command: cmd, Timeout: 300 * time.Millisecond}, log)
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run returned after %v", d)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the hook's child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie counts as gone: it was killed
// and only waits for its parent).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// A cancelled context stops a running hook; the error says so.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	log, _ := newLog()
	err := Run(ctx, Hook{Name: "test", Command: "sleep 60"}, log)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// A very long output line is cut, not kept whole.
func TestRunCutsLongLines(t *testing.T) {
	log, buf := newLog()
	if err := Run(t.Context(), Hook{Name: "test", Command: "head -c 100000 /dev/zero | tr '\\0' x"}, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "[line cut]") || len(buf.String()) > 3*maxLine {
		t.Fatalf("log of %d bytes: %.200s", len(buf.String()), buf)
	}
}
