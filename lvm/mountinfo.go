package lvm

import "github.com/lvback/lvback/internal/mountinfo"

// mountEntry is one line of the kernel's mount table.
type mountEntry = mountinfo.Entry
