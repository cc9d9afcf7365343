package config

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwnership refuses a configuration that anyone but root (or the
// user running lvback) could have written: it names a command to run
// (on_failure), so, like cron and sudo, trust it only when it is safe.
func checkOwnership(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s: owned by uid %d; the config must belong to root or the user running lvback", path, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s: writable by group or others (mode %04o); chmod go-w it", path, fi.Mode().Perm())
	}
	return nil
}
