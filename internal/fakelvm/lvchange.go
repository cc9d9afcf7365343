package main

import "strings"

// lvchange implements `lvchange -ay [-K] VG/LV...`. Like LVM it leaves a
// volume with the activation skip flag (lv_attr 'k') inactive unless -K is
// given.
func (f *fake) lvchange(args []string) error {
	var activate, ignoreSkip bool
	var refs []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-ay", "--activate=y":
			activate = true
		case "-a", "--activate":
			v, err := flagValue(args, &i)
			if err != nil {
				return err
			}
			activate = v == "y"
		case "-K", "--ignoreactivationskip":
			ignoreSkip = true
		default:
			if strings.HasPrefix(a, "-") {
				return usage("lvchange: fakelvm does not take %s", a)
			}
			refs = append(refs, a)
		}
	}
	if !activate || len(refs) == 0 {
		return usage("lvchange: fakelvm only does -ay VG/LV")
	}
	for _, ref := range refs {
		lv, err := f.lookup(ref)
		if err != nil {
			return err
		}
		if len(lv.Attr) == 10 && lv.Attr[9] == 'k' && !ignoreSkip {
			continue
		}
		if lv.Loop == "" {
			if lv.Loop, err = attach(lv.Image); err != nil {
				return err
			}
		}
		lv.Attr = lv.Attr[:4] + "a" + lv.Attr[5:]
	}
	return nil
}
