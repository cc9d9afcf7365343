// Package linuxonly stops lvback from building anywhere but Linux with one
// clear message instead of a page of undefined names: lvback uses openat2,
// FICLONE, flock, /proc and sysfs. Every package that needs Linux and
// imports no other lvback package that does imports it (a file
// linuxonly.go) for that alone; it holds nothing and never will.
package linuxonly
