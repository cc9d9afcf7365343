package blockdiff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/lvback/lvback/fileops"
)

// The damaged-chunk list records the chunks a verify found damaged, so
// that the next backup that reads their data replaces them (see
// Options.Damaged) even though the store holds them. It is a text file of
// chunk ids, one per line in hex (String's form), sorted; a missing file
// is an empty list. It is written the renameio way (temporary file, fsync,
// rename, fsync of the directory), under an flock(2) of PATH.lock held
// only for the update, so that a verify (which does not take the
// repository lock) and a backup may update it at the same time.

// ReadDamaged returns the chunk ids listed in the damaged-chunk list at
// path; none when there is no such file.
func ReadDamaged(path string) (map[ID]bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[ID]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read damaged-chunk list: %w", err)
	}
	ids := make(map[ID]bool)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		id, err := ParseID(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("damaged-chunk list %s, line %d: %w", path, n, err)
		}
		ids[id] = true
	}
	return ids, nil
}

// UpdateDamaged adds the ids in add to the damaged-chunk list at path and
// removes those in remove, durably; it does nothing when that changes
// nothing. Several processes may call it at once: each update sees the
// ones before it.
func UpdateDamaged(path string, add, remove []ID) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("update damaged-chunk list: %w", err)
	}
	defer lock.Close() // releases the flock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("update damaged-chunk list: lock: %w", err)
	}
	ids, err := ReadDamaged(path)
	if err != nil {
		return err
	}
	before := len(ids)
	for _, id := range add {
		ids[id] = true
	}
	changed := len(ids) != before
	for _, id := range remove {
		if ids[id] {
			delete(ids, id)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := writeDamaged(path, ids); err != nil {
		return fmt.Errorf("update damaged-chunk list: %w", err)
	}
	return nil
}

// writeDamaged replaces the list at path with ids, durably.
func writeDamaged(path string, ids map[ID]bool) error {
	lines := make([]string, 0, len(ids))
	for id := range ids {
		lines = append(lines, id.String()+"\n")
	}
	slices.Sort(lines)
	pf, err := renameio.NewPendingFile(path,
		renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer pf.Cleanup() // removes the temporary file; a no-op after CloseAtomicallyReplace
	w := bufio.NewWriter(pf)
	for _, l := range lines {
		_, _ = w.WriteString(l) // errors stick in w: checked at Flush
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return err
	}
	return fileops.SyncDir(filepath.Dir(path))
}
