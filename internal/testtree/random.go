package testtree

import (
	"fmt"
	"math/rand/v2"
)

// trickyNames are sibling names whose bytewise order differs from the
// order of the paths below them ("a/b" < "a-b" < "a.b" component-wise).
var trickyNames = []string{"a", "a.b", "a-b", "a0", "a b", "a.", "a~", "b", "A", "é", "\xff", "a\xff", "-"}

const nameBytes = "abcxyz0189.-_ ~"

// Random returns a tree of exactly n entries below its root, the same for
// the same seed and n: about a fifth directories (at random depths), the
// rest mostly files of 0 to 64 bytes, with relative symlinks, hard links and
// FIFOs. Half the names come from a small set of look-alikes ("a", "a.b",
// "a-b", "a0", ...) so that siblings often sort differently bytewise and
// component-wise; some names are not valid UTF-8. Modes and times are left
// to Create's defaults.
func Random(seed uint64, n int) Dir {
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	root := Dir{Entries: map[string]Node{}}
	type dirRef struct {
		path    string
		entries map[string]Node
	}
	dirs := []dirRef{{path: "", entries: root.Entries}}
	var files []string
	for i := range n {
		parent := dirs[rng.IntN(len(dirs))]
		name := randomName(rng, parent.entries, i)
		path := name
		if parent.path != "" {
			path = parent.path + "/" + name
		}
		switch r := rng.IntN(100); {
		case r < 20:
			sub := map[string]Node{}
			parent.entries[name] = Dir{Entries: sub}
			dirs = append(dirs, dirRef{path: path, entries: sub})
		case r < 90 || len(files) == 0:
			content := make([]byte, rng.IntN(65))
			for j := range content {
				content[j] = byte(rng.Uint32())
			}
			parent.entries[name] = File{Content: content}
			files = append(files, path)
		case r < 95:
			parent.entries[name] = Symlink{Target: "../" + files[rng.IntN(len(files))]}
		case r < 99:
			parent.entries[name] = Hardlink{To: files[rng.IntN(len(files))]}
		default:
			parent.entries[name] = FIFO{}
		}
	}
	return root
}

// randomName returns a name not yet in entries: a look-alike half the time,
// else 1 to 12 random bytes; i makes a fallback unique.
func randomName(rng *rand.Rand, entries map[string]Node, i int) string {
	for range 4 {
		var name string
		if rng.IntN(2) == 0 {
			name = trickyNames[rng.IntN(len(trickyNames))]
		} else {
			b := make([]byte, 1+rng.IntN(12))
			for j := range b {
				b[j] = nameBytes[rng.IntN(len(nameBytes))]
			}
			if rng.IntN(50) == 0 {
				b[rng.IntN(len(b))] = 0xfe
			}
			name = string(b)
		}
		if _, taken := entries[name]; !taken && name != "." && name != ".." {
			return name
		}
	}
	return fmt.Sprintf("n%d", i)
}
