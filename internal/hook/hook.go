// Package hook runs an operator's hook command (before_snapshot,
// after_snapshot, on_success, on_failure): without a shell unless the
// command needs one, with a timeout that kills its whole process group, with
// lvback's LVBACK_* variables in its environment and its output logged line
// by line. It never decides when a hook runs or what a failure means; its
// callers do.
package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/lvback/lvback/internal/toolpath"
)

// DefaultTimeout bounds a hook whose Timeout is zero: five minutes is far
// more than a guest agent's fsfreeze or a healthcheck ping takes, yet a hung
// hook cannot hold a night's run (and a frozen guest) for long.
const DefaultTimeout = 5 * time.Minute

// killWait bounds how long Run waits, after killing a timed-out hook's
// process group, for the output pipes to close: a grandchild that left the
// group may hold them open forever.
const killWait = 5 * time.Second

// Hook is one command to run.
type Hook struct {
	// Name says which hook this is ("before_snapshot"); it is in every log
	// line (attribute hook) and in the error.
	Name string
	// Command is the operator's command line. Without shell metacharacters
	// (see NeedsShell) it is split at blanks and its program is found like
	// lvback's own tools (toolpath.Find: PATH, then the sbin directories);
	// else it runs as /bin/sh -c Command with that search path as PATH.
	Command string
	// Timeout bounds the hook; zero means DefaultTimeout. A hook still
	// running then is killed with its process group.
	Timeout time.Duration
	// Env is added to lvback's own environment (KEY=VALUE; a later value
	// of a key wins).
	Env []string
	// Stdin is the hook's standard input; nil gives it /dev/null.
	Stdin []byte
}

// Run runs h and waits for it to end. Every line the hook writes to stdout
// or stderr is logged at level Info with the attributes hook and stream as
// it arrives. The hook runs in a process group of its own, so a Ctrl-C on
// lvback's terminal does not reach it: it ends when it exits, when its
// timeout passes or when ctx is cancelled (then its group is killed). The
// error names the hook and its command and says why: the program was not
// found, the exit status (with the last line the hook wrote to stderr), the
// timeout, or ctx's error.
func Run(ctx context.Context, h Hook, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With("hook", h.Name)
	start := time.Now()
	err := h.run(ctx, log)
	if err != nil {
		log.Error("hook failed", "err", err, "seconds", time.Since(start).Seconds())
		return err
	}
	log.Info("hook finished", "seconds", time.Since(start).Seconds())
	return nil
}

func (h Hook) run(ctx context.Context, log *slog.Logger) error {
	argv, err := commandArgs(h.Command)
	if err != nil {
		return h.errorf("%w", err)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = killWait
	cmd.Env = append(os.Environ(), "PATH="+toolpath.SearchPath())
	cmd.Env = append(cmd.Env, h.Env...)
	if h.Stdin != nil {
		cmd.Stdin = bytes.NewReader(h.Stdin)
	}
	stdout := &lineLogger{log: log, stream: "stdout"}
	stderr := &lineLogger{log: log, stream: "stderr"}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	log.Info("hook started", "cmd", h.Command, "path", argv[0])
	err = cmd.Run()
	stdout.flush()
	stderr.flush()
	switch {
	case err == nil:
		return nil
	case errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return h.errorf("timed out after %v; its process group was killed", timeout)
	case ctx.Err() != nil:
		return h.errorf("stopped: %w", ctx.Err())
	}
	if last := stderr.lastLine(); last != "" {
		return h.errorf("%w: %s", err, last)
	}
	return h.errorf("%w", err)
}

// errorf is an error about h: "before_snapshot hook \"cmd\": ...".
func (h Hook) errorf(format string, a ...any) error {
	return fmt.Errorf("%s hook %q: %w", h.Name, h.Command, fmt.Errorf(format, a...))
}

// commandArgs is the argv that runs command: its words, the program found
// by toolpath.Find, or /bin/sh -c command when it needs a shell.
func commandArgs(command string) ([]string, error) {
	if NeedsShell(command) {
		return []string{"/bin/sh", "-c", command}, nil
	}
	words := Words(command)
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	path, err := toolpath.Find(words[0])
	if err != nil {
		return nil, err
	}
	return append([]string{path}, words[1:]...), nil
}
