//go:build !linux

package weed

import (
	"os"
	"syscall"
)

// sysProcAttr starts weed as a plain child.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p alone.
func killGroup(p *os.Process) error { return p.Kill() }
