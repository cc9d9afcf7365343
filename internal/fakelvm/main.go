// Command fakelvm stands in for LVM's lvs, lvcreate, lvchange, lvrename
// and lvremove, for the dmsetup calls lvback makes (removing the "-real"
// device a failed lvcreate left; reserving and releasing a thin pool's
// metadata snapshot) and for thin_delta, in lvback's tests, on machines whose kernel has no device-mapper. Each
// logical volume is an image file attached to a loop device, and lv_path
// is that loop device, so the real blkid, mount and umount work on it; a
// snapshot is a copy of its origin's image. It acts as the tool it was
// installed as (the base name of argv[0]).
//
// The state directory, named by $FAKELVM_STATE, holds the volumes, a log
// of every call and the fault-injection files package state describes.
// Errors go to stderr indented like LVM's, with LVM's exit statuses: 3 for
// a usage error, 5 for a failed command; dmsetup and thin_delta exit 1.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// fake is one call: the state directory and the state it changes.
type fake struct {
	dir string
	st  *state.State
}

// tools are the commands the fake can act as.
var tools = map[string]func(*fake, []string) error{
	"lvs":        (*fake).lvs,
	"lvcreate":   (*fake).lvcreate,
	"lvchange":   (*fake).lvchange,
	"lvremove":   (*fake).lvremove,
	"lvrename":   (*fake).lvrename,
	"dmsetup":    (*fake).dmsetup,
	"thin_delta": (*fake).thinDelta,
}

// exitError is a failure with LVM's exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usage is a usage error (exit status 3); failed is a failed command (5).
func usage(format string, a ...any) error {
	return &exitError{3, fmt.Sprintf(format, a...)}
}

func failed(format string, a ...any) error {
	return &exitError{5, fmt.Sprintf(format, a...)}
}

// failed1 is a failure of dmsetup or thin_delta (exit status 1).
func failed1(format string, a ...any) error {
	return &exitError{1, fmt.Sprintf(format, a...)}
}

func main() {
	err := run(filepath.Base(os.Args[0]), os.Args[1:])
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "  %s\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(5)
}

// run performs one call under the state directory's lock: log it, load the
// state, act, save the state.
func run(tool string, args []string) error {
	dir := os.Getenv(state.EnvDir)
	if dir == "" {
		return usage("fakelvm: $%s is not set", state.EnvDir)
	}
	if os.Getenv("LC_ALL") != "C" {
		return usage("fakelvm: LC_ALL is %q; lvback must run LVM with LC_ALL=C", os.Getenv("LC_ALL"))
	}
	f, ok := tools[tool]
	if !ok {
		return usage("fakelvm: unknown tool %q", tool)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	if err := logCall(dir, tool, args); err != nil {
		return err
	}
	st, err := state.Load(dir)
	if err != nil {
		return err
	}
	st.Complete(time.Now())
	fk := &fake{dir: dir, st: st}
	err = f(fk, args)
	st.Complete(time.Now())
	if serr := st.Save(dir); serr != nil && err == nil {
		err = serr
	}
	if err == nil && tool == "lvcreate" {
		lock.Close() // the state is saved: other calls need not wait
		err = fk.sleep(state.SleepAfterLvcreate)
	}
	return err
}

// logCall appends the call to the log, one line.
func logCall(dir, tool string, args []string) error {
	f, err := os.OpenFile(filepath.Join(dir, state.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, strings.Join(append([]string{tool}, args...), " "))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fault reports whether the fault-injection file name exists; consume
// removes it.
func (f *fake) fault(name string, consume bool) bool {
	p := filepath.Join(f.dir, name)
	if _, err := os.Stat(p); err != nil {
		return false
	}
	if consume {
		os.Remove(p)
	}
	return true
}

// sleep pauses for the milliseconds the fault-injection file name holds,
// if it exists.
func (f *fake) sleep(name string) error {
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ms, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || ms < 0 {
		return usage("fakelvm: %s holds %q, not a number of milliseconds", name, b)
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return nil
}

// lookup finds the volume "VG/LV".
func (f *fake) lookup(ref string) (*state.LV, error) {
	vg, name, ok := strings.Cut(ref, "/")
	if lv := f.st.Find(vg, name); ok && lv != nil {
		return lv, nil
	}
	return nil, failed("Failed to find logical volume %q", ref)
}

// dmName is the device-mapper name of the volume vg/lv: both joined by
// '-', each '-' in them doubled.
func dmName(vg, lv string) string {
	dm := func(s string) string { return strings.ReplaceAll(s, "-", "--") }
	return dm(vg) + "-" + dm(lv)
}

// splitRef splits a volume's reference, VG/LV, /dev/VG/LV or
// /dev/mapper/VG-LV, into its VG and LV.
func splitRef(ref string) (vg, lv string, ok bool) {
	if dm, isDM := strings.CutPrefix(ref, "/dev/mapper/"); isDM {
		for i := 0; i < len(dm); i++ {
			if dm[i] != '-' {
				continue
			}
			if i+1 < len(dm) && dm[i+1] == '-' {
				i++
				continue
			}
			un := func(s string) string { return strings.ReplaceAll(s, "--", "-") }
			vg, lv = un(dm[:i]), un(dm[i+1:])
			return vg, lv, vg != "" && lv != ""
		}
		return "", "", false
	}
	vg, lv, ok = strings.Cut(strings.TrimPrefix(ref, "/dev/"), "/")
	if !ok || vg == "" || lv == "" || strings.Contains(lv, "/") {
		return "", "", false
	}
	return vg, lv, true
}

// flagValue returns the value of the flag at args[i], advancing i.
func flagValue(args []string, i *int) (string, error) {
	if *i+1 >= len(args) {
		return "", usage("Option %s needs an argument.", args[*i])
	}
	*i++
	return args[*i], nil
}
