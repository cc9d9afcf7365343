package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/mountinfo"
	"github.com/lvback/lvback/internal/testsys"
)

// mountChild is a `lvback mount` child process serving one file-mode
// backup of a file f holding "hello".
type mountChild struct {
	cmd    *exec.Cmd
	mnt    string
	file   string // f as the mount serves it
	stderr testsys.Buffer
	exited chan struct{}
	conn   uint32 // the mount's FUSE connection (minor device number)
}

// startMount backs up a one-file tree and runs the built lvback binary's
// mount of it until it has mounted, or skips t naming what is missing.
func startMount(t *testing.T) *mountChild {
	t.Helper()
	testsys.RequireRoot(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse (load the fuse module): %v", err)
	}
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mkTree(t, src, "f")
	testsys.Must(t, os.WriteFile(filepath.Join(src, "f"), []byte("hello"), 0o644))
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	if code, _, stderr := run(t, "backup", "--repo", repoPath, "--name", "home", "--source", src); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	m := &mountChild{mnt: filepath.Join(base, "mnt"), exited: make(chan struct{})}
	testsys.Must(t, os.Mkdir(m.mnt, 0o755))
	// -v: the "mounted" line says that go-fuse's mount is complete. The
	// kernel lists the mount earlier, while go-fuse still opens and
	// closes a file of its own in it (its poll hack): an umount then
	// fails with EBUSY.
	m.cmd = exec.Command(lvbackBinary(t), "mount", "-v", "--repo", repoPath, m.mnt)
	m.cmd.Stderr = &m.stderr
	testsys.Must(t, m.cmd.Start())
	go func() { m.cmd.Wait(); close(m.exited) }()
	t.Cleanup(func() { m.stop(t) })
	for deadline := time.Now().Add(10 * time.Second); !mounted(t, m.mnt) || !strings.Contains(m.stderr.String(), "msg=mounted"); {
		if time.Now().After(deadline) {
			t.Fatalf("lvback mount did not mount %s: %s", m.mnt, m.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var st unix.Stat_t
	testsys.Must(t, unix.Stat(m.mnt, &st))
	m.conn = unix.Minor(st.Dev) // the FUSE connection's number in fusectl
	ids, err := os.ReadDir(filepath.Join(m.mnt, "home"))
	if err != nil || len(ids) != 1 {
		t.Fatalf("the mount's home/ holds %v (%v), want one backup", ids, err)
	}
	m.file = filepath.Join(m.mnt, "home", ids[0].Name(), "f")
	if data, err := os.ReadFile(m.file); string(data) != "hello" {
		t.Fatalf("read %s through the mount: %q, %v", m.file, data, err)
	}
	return m
}

// stop ends a child the test left running, and never hangs: a FUSE
// server killed while one of its own threads waits on its mount (a close
// it makes there) stays a zombie until the connection is aborted, so
// after a grace period the connection is aborted through fusectl.
func (m *mountChild) stop(t *testing.T) {
	select {
	case <-m.exited:
		return
	default:
	}
	m.cmd.Process.Kill()
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		abortFUSE(t, m.conn)
		select {
		case <-m.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("lvback mount (pid %d) did not exit after SIGKILL and aborting FUSE connection %d", m.cmd.Process.Pid, m.conn)
		}
	}
	exec.Command("umount", "-l", m.mnt).Run()
}

// abortFUSE aborts FUSE connection conn (fusectl, mounted when missing).
func abortFUSE(t *testing.T, conn uint32) {
	const ctl = "/sys/fs/fuse/connections"
	abort := filepath.Join(ctl, strconv.Itoa(int(conn)), "abort")
	err := os.WriteFile(abort, []byte("1"), 0o200)
	if errors.Is(err, os.ErrNotExist) {
		exec.Command("mount", "-t", "fusectl", "none", ctl).Run()
		err = os.WriteFile(abort, []byte("1"), 0o200)
	}
	if err != nil {
		t.Logf("abort FUSE connection %d: %v", conn, err)
	}
}

// mounted reports whether /proc/self/mountinfo lists mnt.
func mounted(t *testing.T, mnt string) bool {
	ms, err := mountinfo.Read()
	testsys.Must(t, err)
	for _, m := range ms {
		if m.Point == mnt {
			return true
		}
	}
	return false
}

// wait waits for the child to exit and returns its exit code.
func (m *mountChild) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-m.exited:
		return m.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("lvback mount still running after %v: %s", within, m.stderr.String())
		return -1
	}
}

// `lvback mount` ends with exit code 0 and nothing left mounted when it
// gets SIGTERM or SIGINT, and when its mount is unmounted from outside.
func TestMountStops(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(m *mountChild) error
	}{
		{"SIGTERM", func(m *mountChild) error { return m.cmd.Process.Signal(syscall.SIGTERM) }},
		{"SIGINT", func(m *mountChild) error { return m.cmd.Process.Signal(syscall.SIGINT) }},
		{"umount", func(m *mountChild) error { return exec.Command("umount", m.mnt).Run() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := startMount(t)
			testsys.Must(t, tt.stop(m))
			if code := m.wait(t, 10*time.Second); code != exitOK {
				t.Errorf("exit code %d, want 0: %s", code, m.stderr.String())
			}
			if mounted(t, m.mnt) {
				t.Errorf("%s is still mounted", m.mnt)
			}
		})
	}
}

// A SIGTERM while a file in the mount is open leaves the mount served and
// says why; once the file is closed the retried unmount succeeds and the
// command exits 0.
func TestMountBusyOnSignal(t *testing.T) {
	m := startMount(t)
	f, err := os.Open(m.file)
	testsys.Must(t, err)
	testsys.Must(t, m.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-m.exited:
		t.Fatalf("lvback mount exited while its mount was busy: %s", m.stderr.String())
	default:
	}
	if !strings.Contains(m.stderr.String(), "still mounted") || !mounted(t, m.mnt) {
		t.Errorf("busy mount: mounted %v, stderr %q", mounted(t, m.mnt), m.stderr.String())
	}
	f.Close()
	if code := m.wait(t, 10*time.Second); code != exitOK {
		t.Errorf("exit code %d, want 0: %s", code, m.stderr.String())
	}
	if mounted(t, m.mnt) {
		t.Errorf("%s is still mounted", m.mnt)
	}
}

// Bad mount command lines are usage errors (exit 2) before anything is
// mounted, each naming what is wrong.
func TestMountUsageErrors(t *testing.T) {
	base := t.TempDir()
	repoPath := initRepo(t, filepath.Join(base, "repo"))
	mnt := filepath.Join(base, "mnt")
	testsys.Must(t, os.Mkdir(mnt, 0o755))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no repo", []string{"mount", mnt}, "needs --repo"},
		{"no mount point", []string{"mount", "--repo", repoPath}, "needs one MOUNTPOINT"},
		{"bad cache", []string{"mount", "--repo", repoPath, "--cache", "12x", mnt}, "--cache 12x"},
		{"bad name", []string{"mount", "--repo", repoPath, "--name", "../x", mnt}, "invalid volume name"},
		{"not a repository", []string{"mount", "--repo", filepath.Join(base, "none"), mnt}, "not an lvback repository"},
		{"no backups", []string{"mount", "--repo", repoPath, mnt}, "no complete backup"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
			if mounted(t, mnt) {
				t.Fatalf("%s was mounted", mnt)
			}
		})
	}
}
