package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// lvcreate implements `lvcreate -s [-L SIZE | -l N%ORIGIN] -n NAME
// [--addtag TAG]... VG/LV`: a classic snapshot when a size is given, else a
// thin snapshot of a thin origin (inactive, with the activation skip flag,
// as LVM makes it, with a new thin id; its pool counts a transaction and
// its superblock time one up).
func (f *fake) lvcreate(args []string) error {
	var snapshot bool
	var size, extents, name, originRef string
	var tags []string
	for i := 0; i < len(args); i++ {
		var err error
		switch a := args[i]; a {
		case "-s", "--snapshot":
			snapshot = true
		case "-L", "--size":
			size, err = flagValue(args, &i)
		case "-l", "--extents":
			extents, err = flagValue(args, &i)
		case "-n", "--name":
			name, err = flagValue(args, &i)
		case "--addtag":
			var t string
			t, err = flagValue(args, &i)
			tags = append(tags, t)
		default:
			if strings.HasPrefix(a, "-") || originRef != "" {
				return usage("lvcreate: fakelvm does not take %s", a)
			}
			originRef = a
		}
		if err != nil {
			return err
		}
	}
	if err := checkCreateArgs(snapshot, size, extents, name, originRef); err != nil {
		return err
	}
	origin, err := f.lookup(originRef)
	if err != nil {
		return err
	}
	if f.fault(state.FailLvcreate, false) {
		return failed("Volume group %q has insufficient free space (3 extents): 26 required.", origin.VG)
	}
	if f.fault(state.FrozenOrigin, false) {
		f.st.LVs = append(f.st.LVs, state.LV{VG: origin.VG, Name: name, Tags: tags, Attr: "-wi-i-----", Segtype: "linear"})
		return failed("%s", strings.Join([]string{
			"device-mapper: suspend ioctl on  (254:0) failed: Device or resource busy",
			"Unable to suspend " + origin.VG + "-" + origin.Name + " (254:0)",
			"Failed to suspend logical volume " + originRef + ".",
			"Device " + origin.VG + "-" + origin.Name + "-real (254:1) is used by another device.",
			"Failed to revert logical volume " + originRef + ".",
			"Aborting. Manual intervention required."}, "\n  "))
	}
	if f.st.Find(origin.VG, name) != nil {
		return failed("Logical Volume %q already exists in volume group %q", name, origin.VG)
	}
	thin := size == "" && extents == ""
	if thin && origin.Segtype != "thin" {
		return usage("Please specify either size or extents with snapshots.")
	}
	lv := state.LV{VG: origin.VG, Name: name, Tags: tags, Origin: origin.Name,
		Image: filepath.Join(f.dir, state.ImageDir, origin.VG+"-"+name+".img")}
	if err := copySparse(lv.Image, origin.Image); err != nil {
		return err
	}
	if thin {
		lv.Attr, lv.Segtype, lv.Pool, lv.Percent = "Vwi---tz-k", "thin", origin.Pool, origin.Percent
		if pool := f.st.PoolOf(origin); pool != nil {
			lv.ThinID = pool.Meta.NewThinID()
			pool.Meta.Time++
		}
	} else {
		lv.Attr, lv.Segtype, lv.Percent = "swi-a-s---", "linear", "0.00"
		if f.fault(state.Overflow, true) {
			lv.Attr, lv.Percent = "swi-I-s---", "100.00"
		}
		if lv.Loop, err = attach(lv.Image, false); err != nil {
			return err
		}
	}
	f.st.LVs = append(f.st.LVs, lv)
	fmt.Printf("  Logical volume %q created.\n", name)
	return nil
}

// checkCreateArgs refuses what the fake does not do and what LVM refuses.
func checkCreateArgs(snapshot bool, size, extents, name, origin string) error {
	switch {
	case !snapshot:
		return usage("lvcreate: fakelvm only creates snapshots (-s)")
	case name == "" || origin == "":
		return usage("lvcreate: fakelvm needs -n NAME and VG/LV")
	case size != "" && extents != "":
		return usage("Please specify either size or extents (not both).")
	case size != "" && !sizeRE.MatchString(size):
		return usage("Invalid argument for --size: %s", size)
	case extents != "" && !extentsRE.MatchString(extents):
		return usage("Invalid argument for --extents: %s", extents)
	}
	return nil
}

var (
	sizeRE    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[bBsSkKmMgGtTpPeE]?$`)
	extentsRE = regexp.MustCompile(`^[0-9]+(%(ORIGIN|VG|FREE|PVS))?$`)
)
