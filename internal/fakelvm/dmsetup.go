package main

import "fmt"

// dmsetup implements the two calls lvback makes to remove the "-real"
// device a failed lvcreate left: `dmsetup info -c --noheadings -o open
// NAME` prints 0 (the device is unused) and `dmsetup remove NAME` succeeds.
// The fake has no device-mapper devices; the call log records both.
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
	}
	return usage("dmsetup: fakelvm does not take %s", args[0])
}
