package manifest

// TypeNamed returns the Type whose String is name, or 0 (not Valid) for
// any other name.
func TypeNamed(name string) Type {
	for t := TypeFile; t <= TypeSocket; t++ {
		if t.String() == name {
			return t
		}
	}
	return 0
}

// typeChars are GNU ls's first letters of a mode string, by Type.
var typeChars = [...]byte{TypeFile: '-', TypeDir: 'd', TypeSymlink: 'l', TypeFIFO: 'p', TypeChar: 'c', TypeBlock: 'b', TypeSocket: 's'}

// ModeString returns the 10-character mode of an entry of type t with
// permission bits mode (07777) as GNU ls -l prints it: the type letter
// (- d l p c b s; '-' for a type that is not Valid), then rwx for user,
// group and others, where setuid and setgid show as s (S when the x bit
// is off) in the user's and group's x, and sticky as t (T) in the
// others'. "drwxr-xr-x", "-rwsr-xr-x", "crw-rw-rw-".
func ModeString(t Type, mode uint32) string {
	b := []byte("-rwxrwxrwx")
	if t.Valid() {
		b[0] = typeChars[t]
	}
	for i := range 9 {
		if mode&(1<<(8-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special := func(bit uint32, at int, set byte) {
		if mode&bit == 0 {
			return
		}
		if b[at] == '-' {
			set -= 'a' - 'A' // no x bit: capital
		}
		b[at] = set
	}
	special(0o4000, 3, 's')
	special(0o2000, 6, 's')
	special(0o1000, 9, 't')
	return string(b)
}
