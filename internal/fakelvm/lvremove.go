package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// lvremove implements `lvremove -f VG/LV...`. Like LVM it refuses a volume
// whose device is mounted. Removing a thin volume counts a transaction of
// its pool.
func (f *fake) lvremove(args []string) error {
	force := false
	var refs []string
	for _, a := range args {
		switch {
		case a == "-f" || a == "--force":
			force = true
		case strings.HasPrefix(a, "-"):
			return usage("lvremove: fakelvm does not take %s", a)
		default:
			refs = append(refs, a)
		}
	}
	if !force || len(refs) == 0 {
		return usage("lvremove: fakelvm needs -f VG/LV (lvremove would prompt)")
	}
	if err := f.sleep(state.SleepInLvremove); err != nil {
		return err
	}
	for _, ref := range refs {
		lv, err := f.lookup(ref)
		if err != nil {
			return err
		}
		if f.fault(state.FailLvremoveOnce, true) {
			return failed("Logical volume %s in use.", ref)
		}
		if lv.Loop != "" {
			mounted, err := isMounted(lv.Loop)
			if err != nil {
				return err
			}
			if mounted {
				return failed("Logical volume %s contains a filesystem in use.", ref)
			}
			if err := detach(lv.Loop, lv.Image); err != nil {
				return err
			}
		}
		if lv.Image != "" {
			if err := os.Remove(lv.Image); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if pool := f.st.PoolOf(lv); pool != nil {
			pool.Meta.Transaction++
		}
		f.st.Remove(lv.VG, lv.Name)
	}
	return nil
}
