package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// dmsetup implements the calls lvback makes to dmsetup:
//   - `dmsetup info -c --noheadings -o open NAME` prints 0 (the device is
//     unused) and `dmsetup remove NAME` succeeds: the fake has no
//     device-mapper devices; the call log records both;
//   - `dmsetup message VG-POOL-tpool 0 reserve_metadata_snap` and
//     `... release_metadata_snap` take and drop the metadata snapshot of
//     an active thin pool (state.ThinPool.Reserved). Like the kernel,
//     reserving while one is held fails with EEXIST ("File exists") and
//     releasing none with EINVAL; dmsetup exits 1 then.
func (f *fake) dmsetup(args []string) error {
	if len(args) == 0 {
		return usage("dmsetup: no command")
	}
	switch args[0] {
	case "info":
		fmt.Println("  0")
		return nil
	case "remove":
		return nil
	case "message":
		return f.dmMessage(args[1:])
	}
	return usage("dmsetup: fakelvm does not take %s", args[0])
}

// dmMessage implements `dmsetup message DEVICE SECTOR MESSAGE`.
func (f *fake) dmMessage(args []string) error {
	if len(args) != 3 {
		return failed1("Usage: dmsetup message <device> <sector> <message>\nCommand failed.")
	}
	dev, msg := args[0], args[2]
	if _, err := strconv.ParseUint(args[1], 10, 64); err != nil {
		return failed1("message: invalid sector %q\nCommand failed.", args[1])
	}
	pool := f.poolByDM(strings.TrimPrefix(dev, "/dev/mapper/"), "-tpool")
	if pool == nil {
		return failed1("Device does not exist.\nCommand failed.")
	}
	ioctlErr := func(errno string) error {
		return failed1("device-mapper: message ioctl on %s  failed: %s\nCommand failed.", dev, errno)
	}
	meta := pool.Meta
	switch msg {
	case "reserve_metadata_snap":
		if meta.Reserved != nil {
			return ioctlErr("File exists")
		}
		meta.Reserved = &state.MetadataSnap{Transaction: meta.Transaction, Time: meta.Time,
			ThinIDs: f.st.ThinIDs(pool)}
		return nil
	case "release_metadata_snap":
		if meta.Reserved == nil {
			return ioctlErr("Invalid argument")
		}
		meta.Reserved = nil
		return nil
	}
	return ioctlErr("Invalid argument")
}

// poolByDM returns the active thin pool whose device-mapper name plus
// suffix ("-tpool", "_tmeta") is name, or nil.
func (f *fake) poolByDM(name, suffix string) *state.LV {
	for i := range f.st.LVs {
		lv := &f.st.LVs[i]
		if lv.Segtype == "thin-pool" && attrAt(lv, 4) == 'a' && dmName(lv.VG, lv.Name)+suffix == name {
			return lv
		}
	}
	return nil
}
