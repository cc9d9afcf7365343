package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// lvrename implements `lvrename VG OLD NEW` and `lvrename VG/OLD VG/NEW`
// (OLD also as /dev/VG/OLD or /dev/mapper/VG-OLD, NEW also as a bare name).
// The volume keeps its UUID, thin id, tags and device; volumes naming it
// as their origin or pool follow it, and an image the fake made follows
// its name. Like LVM it refuses (exit 5) an existing NEW.
func (f *fake) lvrename(args []string) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return usage("lvrename: fakelvm does not take %s", a)
		}
	}
	vg, oldName, newName, err := renameArgs(args)
	if err != nil {
		return err
	}
	if !lvNameRE.MatchString(newName) || reservedName(newName) {
		return usage("New logical volume name %q is invalid.", newName)
	}
	if oldName == newName {
		return usage("Old and new logical volume names must differ.")
	}
	lv := f.st.Find(vg, oldName)
	if lv == nil {
		return failed("Existing logical volume %q not found in volume group %q", oldName, vg)
	}
	if f.st.Find(vg, newName) != nil {
		return failed("Logical Volume %q already exists in volume group %q", newName, vg)
	}
	if err := f.moveImage(lv, newName); err != nil {
		return err
	}
	for i := range f.st.LVs {
		other := &f.st.LVs[i]
		if other.VG != vg {
			continue
		}
		if other.Origin == oldName {
			other.Origin = newName
		}
		if other.Pool == oldName {
			other.Pool = newName
		}
	}
	lv.Name = newName
	fmt.Printf("  Renamed %q to %q in volume group %q\n", oldName, newName, vg)
	return nil
}

// renameArgs parses lvrename's two or three arguments.
func renameArgs(args []string) (vg, oldName, newName string, err error) {
	switch len(args) {
	case 3:
		return args[0], args[1], args[2], nil
	case 2:
		vg, oldName, ok := splitRef(args[0])
		if !ok {
			return "", "", "", usage("Logical volume name %q is invalid.", args[0])
		}
		newName := args[1]
		if strings.Contains(newName, "/") {
			newVG, n, ok := splitRef(newName)
			if !ok {
				return "", "", "", usage("Logical volume name %q is invalid.", args[1])
			}
			if newVG != vg {
				return "", "", "", usage("Logical volume names must have the same volume group (%q or %q).", vg, newVG)
			}
			newName = n
		}
		return vg, oldName, newName, nil
	}
	return "", "", "", usage("Old and new logical volume names required")
}

// lvNameRE is a volume name LVM accepts; reservedName rules out the rest.
var lvNameRE = regexp.MustCompile(`^[A-Za-z0-9+_.][A-Za-z0-9+_.\-]{0,126}$`)

// reservedName reports whether LVM keeps name for itself.
func reservedName(name string) bool {
	if name == "." || name == ".." || strings.HasPrefix(name, "snapshot") || strings.HasPrefix(name, "pvmove") {
		return true
	}
	for _, s := range []string{"_cdata", "_cmeta", "_corig", "_mlog", "_mimage", "_pmspare",
		"_rimage", "_rmeta", "_tdata", "_tmeta", "_vorigin", "_vdata"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// moveImage renames lv's image, if the fake made it, after newName. A loop
// device attached to it stays attached.
func (f *fake) moveImage(lv *state.LV, newName string) error {
	dir := filepath.Join(f.dir, state.ImageDir)
	if lv.Image == "" || filepath.Dir(lv.Image) != dir {
		return nil
	}
	to := filepath.Join(dir, lv.VG+"-"+newName+".img")
	if _, err := os.Lstat(to); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lvrename: image %s exists (%v)", to, err)
	}
	if err := os.Rename(lv.Image, to); err != nil {
		return err
	}
	lv.Image = to
	return nil
}
