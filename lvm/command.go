package lvm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvback/lvback/internal/toolpath"
)

// run runs one command without a shell, found by toolpath.Find (PATH, then
// the sbin directories cron's PATH lacks), with LC_ALL=C so that LVM prints
// numbers and messages the same way everywhere, and returns its stdout. A
// failure's error holds the command line, the exit status and the trimmed
// stderr: `lvcreate -s ...: exit status 5: Volume group "vg" has
// insufficient free space`.
func run(ctx context.Context, log *slog.Logger, name string, args ...string) ([]byte, error) {
	return runIn(ctx, log, false, name, args...)
}

// runIn is run; with ownGroup the command gets its own process group, so
// a Ctrl-C on lvback's terminal (SIGINT to the foreground group) does not
// kill it halfway: lvback itself decides when and how to stop.
func runIn(ctx context.Context, log *slog.Logger, ownGroup bool, name string, args ...string) ([]byte, error) {
	line := commandLine(name, args)
	path, err := toolpath.Find(name)
	if err != nil {
		return nil, err
	}
	log.Debug("run", "cmd", line, "path", path)
	cmd := exec.CommandContext(ctx, path, args...)
	if ownGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C") // the last value of a key wins
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	msg := trimStderr(stderr.Bytes())
	if err != nil {
		if msg == "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w", line, err)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", line, err, msg)
	}
	if msg != "" {
		log.Debug("stderr", "cmd", line, "stderr", msg)
	}
	return stdout.Bytes(), nil
}

// runChange runs a command that changes volume metadata (lvcreate,
// lvchange, lvremove, btrfs subvolume) in its own process group. Neither
// the caller's cancellation nor a terminal's Ctrl-C kills it (see
// changeTimeout): the caller checks ctx after it finished and undoes it. An error of a command killed after
// changeTimeout wraps context.DeadlineExceeded.
func runChange(ctx context.Context, log *slog.Logger, name string, args ...string) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), changeTimeout)
	defer cancel()
	_, err := runIn(cctx, log, true, name, args...)
	if err != nil && cctx.Err() != nil {
		return fmt.Errorf("%w (killed: %w)", err, cctx.Err())
	}
	return err
}

// retryOnce runs f and, if it fails, once more after retryDelay; it gives
// up without the retry when ctx ends during the pause. what names f in the
// log.
func retryOnce(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	err := f()
	if err == nil {
		return nil
	}
	log.Warn("retrying", "what", what, "err", err)
	select {
	case <-ctx.Done():
		return err
	case <-time.After(retryDelay):
	}
	return f()
}

// commandLine shows a command as a user could type it.
func commandLine(name string, args []string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, a := range args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`;&|<>*?") {
			a = strconv.Quote(a)
		}
		b.WriteString(a)
	}
	return b.String()
}

// trimStderr makes a command's stderr fit an error message: LVM indents
// every line with two spaces and may print several, so trim each line and
// join them with "; ", capped at maxStderr bytes.
func trimStderr(b []byte) string {
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, "; ")
	if len(s) > maxStderr {
		s = s[:maxStderr] + "..."
	}
	return s
}
