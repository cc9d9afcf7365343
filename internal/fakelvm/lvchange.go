package main

import (
	"regexp"
	"slices"
	"strings"

	"github.com/lvback/lvback/internal/fakelvm/state"
)

// change is what one lvchange call asks of each of its volumes.
type change struct {
	activate   string // "y", "n" or "" (-a)
	ignoreSkip bool   // -K
	skip       string // "y", "n" or "" (-k, --setactivationskip)
	perm       string // "r", "rw" or "" (-p, --permission)
	addTags    []string
	delTags    []string
	refs       []string
}

// lvchange implements `lvchange [-ay|-an] [-K] [-ky|-kn] [-pr|-prw]
// [--addtag TAG]... [--deltag TAG]... VG/LV...`. For each volume it changes
// the tags, the activation skip flag (lv_attr 'k'), the permission (lv_attr
// 'r'/'w') and then the activation: -an detaches the loop device, -ay
// attaches one (read-only for a read-only volume). Like LVM it leaves a
// volume with the activation skip flag inactive on -ay unless -K is given,
// and refuses (exit 5) to deactivate a mounted volume or to set the
// permission a volume already has.
func (f *fake) lvchange(args []string) error {
	c, err := parseChange(args)
	if err != nil {
		return err
	}
	for _, ref := range c.refs {
		lv, err := f.lookup(ref)
		if err != nil {
			return err
		}
		if err := f.changeLV(lv, ref, c); err != nil {
			return err
		}
	}
	return nil
}

// parseChange parses lvchange's arguments.
func parseChange(args []string) (*change, error) {
	c := &change{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, val, hasVal := strings.Cut(a, "=")
		var err error
		value := func() string {
			if hasVal {
				return val
			}
			var v string
			v, err = flagValue(args, &i)
			return v
		}
		switch {
		case a == "-ay" || a == "-an":
			c.activate = a[2:]
		case a == "-ky" || a == "-kn":
			c.skip = a[2:]
		case a == "-pr" || a == "-prw":
			c.perm = a[2:]
		case a == "-K" || a == "--ignoreactivationskip":
			c.ignoreSkip = true
		case flag == "-a" || flag == "--activate":
			c.activate = value()
		case flag == "-k" || flag == "--setactivationskip":
			c.skip = value()
		case flag == "-p" || flag == "--permission":
			c.perm = value()
		case flag == "--addtag" || flag == "--deltag":
			t := value()
			if err == nil && (!tagRE.MatchString(t) || len(t) > 1024) {
				return nil, usage("Invalid argument for %s: %s", flag, t)
			}
			if flag == "--addtag" {
				c.addTags = append(c.addTags, t)
			} else {
				c.delTags = append(c.delTags, t)
			}
		case strings.HasPrefix(a, "-"):
			return nil, usage("lvchange: fakelvm does not take %s", a)
		default:
			c.refs = append(c.refs, a)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case !slices.Contains([]string{"", "y", "n"}, c.activate):
		return nil, usage("Invalid argument for --activate: %s", c.activate)
	case !slices.Contains([]string{"", "y", "n"}, c.skip):
		return nil, usage("Invalid argument for --setactivationskip: %s", c.skip)
	case !slices.Contains([]string{"", "r", "rw"}, c.perm):
		return nil, usage("Invalid argument for --permission: %s", c.perm)
	case len(c.refs) == 0:
		return nil, usage("Please specify a logical volume path.")
	case c.activate == "" && c.skip == "" && c.perm == "" && len(c.addTags)+len(c.delTags) == 0:
		return nil, usage("No command with matching syntax recognised.")
	}
	return c, nil
}

// tagRE is a tag LVM accepts, of at most 1024 characters.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_+.=!:&#/][A-Za-z0-9_+.\-=!:&#/]*$`)

// changeLV applies c to lv, named ref in the call.
func (f *fake) changeLV(lv *state.LV, ref string, c *change) error {
	for _, t := range c.addTags {
		if !slices.Contains(lv.Tags, t) {
			lv.Tags = append(lv.Tags, t)
		}
	}
	lv.Tags = slices.DeleteFunc(lv.Tags, func(t string) bool { return slices.Contains(c.delTags, t) })
	switch c.skip {
	case "y":
		setAttr(lv, 9, 'k')
	case "n":
		setAttr(lv, 9, '-')
	}
	if c.perm != "" {
		if err := f.setPermission(lv, ref, c.perm == "r"); err != nil {
			return err
		}
	}
	switch c.activate {
	case "y":
		return f.activate(lv, c.ignoreSkip)
	case "n":
		return f.deactivate(lv, ref)
	}
	return nil
}

// setPermission makes lv read-only or writable, as its device if active.
func (f *fake) setPermission(lv *state.LV, ref string, ro bool) error {
	switch {
	case ro && attrAt(lv, 1) == 'r':
		return failed("Logical volume %q is already read only.", ref)
	case !ro && attrAt(lv, 1) == 'w':
		return failed("Logical volume %q is already writable.", ref)
	}
	if lv.Loop != "" {
		if err := setReadOnly(lv.Loop, ro); err != nil {
			return err
		}
	}
	if ro {
		setAttr(lv, 1, 'r')
	} else {
		setAttr(lv, 1, 'w')
	}
	return nil
}

// activate attaches lv's image, unless lv has the activation skip flag
// and ignoreSkip is false.
func (f *fake) activate(lv *state.LV, ignoreSkip bool) error {
	if attrAt(lv, 9) == 'k' && !ignoreSkip {
		return nil
	}
	if lv.Loop == "" && lv.Image != "" {
		var err error
		if lv.Loop, err = attach(lv.Image, attrAt(lv, 1) == 'r'); err != nil {
			return err
		}
	}
	setAttr(lv, 4, 'a')
	return nil
}

// deactivate detaches lv's loop device, refusing while it is mounted.
func (f *fake) deactivate(lv *state.LV, ref string) error {
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
		lv.Loop = ""
	}
	setAttr(lv, 4, '-')
	return nil
}

// setAttr sets the i-th character of lv's lv_attr.
func setAttr(lv *state.LV, i int, c byte) {
	b := []byte(lv.Attr)
	for len(b) < 10 {
		b = append(b, '-')
	}
	b[i] = c
	lv.Attr = string(b)
}

// attrAt is the i-th character of lv's lv_attr, '-' past its end.
func attrAt(lv *state.LV, i int) byte {
	if i < len(lv.Attr) {
		return lv.Attr[i]
	}
	return '-'
}
