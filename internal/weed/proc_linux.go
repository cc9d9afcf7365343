package weed

import (
	"os"
	"syscall"
)

// sysProcAttr puts weed in a process group of its own, so that Stop
// kills whatever it forks too, and has the kernel kill it when the test
// binary dies before its cleanup runs (a panic, a -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to p's process group.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
