package btrfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// IsBtrfs reports whether path (a final symlink followed) is on a btrfs
// file system, by the magic number statfs(2) returns.
func IsBtrfs(path string) (bool, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return false, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint32(fs.Type) == unix.BTRFS_SUPER_MAGIC, nil
}

// IsSubvolume reports whether path is the root of a btrfs subvolume: a
// directory with inode number 256 on btrfs. A final symlink is not
// followed, so a symlink to a subvolume is not one.
func IsSubvolume(path string) (bool, error) {
	fd, err := open("stat", path, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	ok, err := isSubvolume(fd)
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	return ok, nil
}

// Create makes a new, empty, writable subvolume at path, whose parent
// directory must be on btrfs and path must not exist (EEXIST). Like
// mkdir, it is not durable until the next transaction commit: call Sync.
func Create(path string) error {
	const op = "create subvolume"
	dir, name, err := split(op, path)
	if err != nil {
		return err
	}
	var args volArgs
	if err := setName(args.Name[:], name); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	parent, err := openParent(op, path, dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := ioctl(parent, iocSubvolCreate, unsafe.Pointer(&args)); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	return nil
}

// Snapshot makes dst a snapshot of the subvolume src (read-only when
// readOnly is set): a new subvolume sharing all of src's data, made in
// constant time. src must be the root of a subvolume, not any directory
// in it (ErrNotSubvolume; its final symlink is not followed); dst must not
// exist and its parent must be on the same btrfs file system (EXDEV, or
// ENOTTY from a parent that is not on btrfs).
// Data written to src before the call is in the snapshot. The kernel
// commits the transaction that makes the snapshot before it returns, so a
// snapshot is durable without Sync (TestSyncCommits); subvolumes nested in src are not
// part of it (they appear as empty directories).
func Snapshot(src, dst string, readOnly bool) error {
	op := "snapshot " + src + " to"
	dir, name, err := split(op, dst)
	if err != nil {
		return err
	}
	args := volArgsV2{}
	if readOnly {
		args.Flags = subvolRdonly
	}
	if err := setName(args.Name[:], name); err != nil {
		return fmt.Errorf("%s %s: %w", op, dst, err)
	}
	// Not every kernel checks that the fd is a subvolume's root (older
	// ones snapshot the subvolume holding it; 6.18 says EINVAL): check
	// here, so that the error is the same everywhere and says why.
	from, err := openSubvolume("snapshot", src)
	if err != nil {
		return err
	}
	defer unix.Close(from)
	parent, err := openParent(op, dst, dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	args.Fd = int64(from)
	if err := ioctl(parent, iocSnapCreateV2, unsafe.Pointer(&args)); err != nil {
		return fmt.Errorf("%s %s: %w", op, dst, err)
	}
	return nil
}

// ReadOnly reports whether the subvolume at path is read-only. path must be
// the root of a subvolume (ErrNotSubvolume); its final symlink is not
// followed.
func ReadOnly(path string) (bool, error) {
	const op = "get flags of"
	fd, err := openSubvolume(op, path)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflags, unsafe.Pointer(&flags)); err != nil {
		return false, fmt.Errorf("%s %s: %w", op, path, err)
	}
	return flags&subvolRdonly != 0, nil
}

// SetReadOnly makes the subvolume at path read-only (ro) or writable. path
// must be the root of a subvolume (ErrNotSubvolume); its final symlink is
// not followed. A read-only subvolume refuses every change to its files
// and directories with EROFS. Setting the flag it already has is a no-op.
// Like other metadata changes it is durable after Sync.
func SetReadOnly(path string, ro bool) error {
	op := "set read-only of"
	if !ro {
		op = "set writable"
	}
	fd, err := openSubvolume(op, path)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflags, unsafe.Pointer(&flags)); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	if ro {
		flags |= subvolRdonly
	} else {
		flags &^= subvolRdonly
	}
	if err := ioctl(fd, iocSubvolSetflags, unsafe.Pointer(&flags)); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	return nil
}

// Delete removes the subvolume at path, read-only or not, with all its
// files, as root may (the kernel allows it without clearing the read-only
// flag, see TestDelete). path must be a subvolume's root, not a symlink
// (ErrNotSubvolume); a subvolume holding nested subvolumes is refused
// with ENOTEMPTY, the kernel's error, and left as it is. The name is gone
// when Delete returns; the space is freed later by the kernel's cleaner.
// It is durable after Sync.
func Delete(path string) error {
	const op = "delete subvolume"
	dir, name, err := split(op, path)
	if err != nil {
		return err
	}
	parent, err := openParent(op, path, dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	// The kernel refuses a plain directory too (EINVAL); this check only
	// makes the error say why.
	fd, err := unix.Openat(parent, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	ok, err := isSubvolume(fd)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	if !ok {
		return notSubvolume(op, path)
	}
	var v2 volArgsV2 // Flags 0: by name, in the directory of the fd
	if err := setName(v2.Name[:], name); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	err = ioctl(parent, iocSnapDestroyV2, unsafe.Pointer(&v2))
	if errors.Is(err, unix.ENOTTY) { // before Linux 5.7
		var v1 volArgs
		if err := setName(v1.Name[:], name); err != nil {
			return fmt.Errorf("%s %s: %w", op, path, err)
		}
		err = ioctl(parent, iocSnapDestroy, unsafe.Pointer(&v1))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	return nil
}

// Sync commits the current transaction of the btrfs file system holding
// path (a file or directory; a final symlink is followed) and waits for
// it, after writing out the data of all files (BTRFS_IOC_SYNC, as `btrfs
// filesystem sync` does; syncfs(2) commits the same way). Whatever
// Create, Delete and SetReadOnly changed is durable once Sync returns
// (TestSyncCommits checks it for Create).
func Sync(path string) error {
	fd, err := open("sync", path, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := ioctl(fd, iocSync, nil); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// open opens path with flags (plus O_CLOEXEC), naming op in its error.
func open(op, path string, flags int) (int, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%s %s: %w", op, path, err)
	}
	return fd, nil
}

// openParent opens dir, the parent directory of path, for an ioctl that
// creates or deletes path, naming op and path in its error.
func openParent(op, path, dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%s %s: open parent: %w", op, path, err)
	}
	return fd, nil
}

// openSubvolume opens the root of the subvolume path (not following a
// final symlink) for an ioctl, or fails with ErrNotSubvolume (wrapping
// ENOTDIR for a file or a symlink, EINVAL for a directory).
func openSubvolume(op, path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) { // a file or a symlink
		return -1, fmt.Errorf("%s %s: %w: %w", op, path, ErrNotSubvolume, err)
	}
	if err != nil {
		return -1, fmt.Errorf("%s %s: %w", op, path, err)
	}
	ok, err := isSubvolume(fd)
	if err == nil && !ok {
		err = notSubvolume(op, path)
	} else if err != nil {
		err = fmt.Errorf("%s %s: %w", op, path, err)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// isSubvolume reports whether the open fd is a directory with inode
// number 256 on btrfs.
func isSubvolume(fd int) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != firstFreeObjectID {
		return false, nil
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return false, err
	}
	return uint32(fs.Type) == unix.BTRFS_SUPER_MAGIC, nil
}

func notSubvolume(op, path string) error {
	return fmt.Errorf("%s %s: %w: %w", op, path, ErrNotSubvolume, unix.EINVAL)
}

// split returns the parent directory of path and the name the kernel is
// to create or delete in it.
func split(op, path string) (dir, name string, err error) {
	clean := filepath.Clean(path)
	dir, name = filepath.Split(clean)
	if name == "" || name == "." || name == ".." {
		return "", "", fmt.Errorf("%s %s: no name to give a subvolume: %w", op, path, unix.EINVAL)
	}
	if dir == "" {
		dir = "."
	}
	return dir, name, nil
}

// setName copies name into a kernel struct's name field, which must keep
// a terminating NUL.
func setName(field []byte, name string) error {
	if len(name) >= len(field) {
		return unix.ENAMETOOLONG
	}
	if strings.IndexByte(name, 0) >= 0 {
		return unix.EINVAL
	}
	copy(field, name)
	return nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// The kernel's ioctl arguments, field for field as in linux/btrfs.h
// (TestKernelABI checks their sizes and request numbers).
const (
	pathNameMax   = 4087   // BTRFS_PATH_NAME_MAX
	subvolNameMax = 4039   // BTRFS_SUBVOL_NAME_MAX
	subvolRdonly  = 1 << 1 // BTRFS_SUBVOL_RDONLY, of the v2 args and the subvolume flags
)

// volArgs is struct btrfs_ioctl_vol_args (4096 bytes).
type volArgs struct {
	Fd   int64
	Name [pathNameMax + 1]byte
}

// volArgsV2 is struct btrfs_ioctl_vol_args_v2 (4096 bytes). Unused is
// the union of {size, qgroup_inherit} and unused[4], which lvback leaves
// zero; Name is the union of name, devid and subvolid, used as name.
type volArgsV2 struct {
	Fd      int64
	Transid uint64
	Flags   uint64
	Unused  [4]uint64
	Name    [subvolNameMax + 1]byte
}

// The requests, as linux/btrfs.h defines them with _IO, _IOR and _IOW.
const (
	iocSync           = iocNone | 8                                    // BTRFS_IOC_SYNC
	iocSubvolCreate   = iocWrite | unsafe.Sizeof(volArgs{})<<16 | 14   // BTRFS_IOC_SUBVOL_CREATE
	iocSnapDestroy    = iocWrite | unsafe.Sizeof(volArgs{})<<16 | 15   // BTRFS_IOC_SNAP_DESTROY
	iocSnapCreateV2   = iocWrite | unsafe.Sizeof(volArgsV2{})<<16 | 23 // BTRFS_IOC_SNAP_CREATE_V2
	iocSubvolGetflags = iocRead | unsafe.Sizeof(uint64(0))<<16 | 25    // BTRFS_IOC_SUBVOL_GETFLAGS
	iocSubvolSetflags = iocWrite | unsafe.Sizeof(uint64(0))<<16 | 26   // BTRFS_IOC_SUBVOL_SETFLAGS
	iocSnapDestroyV2  = iocWrite | unsafe.Sizeof(volArgsV2{})<<16 | 63 // BTRFS_IOC_SNAP_DESTROY_V2
)

// iocNone, iocRead and iocWrite are the direction bits of a btrfs request
// (type BTRFS_IOCTL_MAGIC, 0x94). Their values differ between
// architectures (asm-generic/ioctl.h against powerpc, mips and sparc), so
// they are taken from requests x/sys/unix defines for each: BLKRRPART is
// _IO(0x12, 95), FS_IOC_GETFLAGS _IOR('f', 1, long) and FS_IOC_SETFLAGS
// _IOW('f', 2, long).
const (
	sizeofLong = unsafe.Sizeof(uintptr(0))
	iocNone    = uintptr(unix.BLKRRPART) - (0x12<<8 | 95) | 0x94<<8
	iocRead    = uintptr(unix.FS_IOC_GETFLAGS) - (sizeofLong<<16 | 'f'<<8 | 1) | 0x94<<8
	iocWrite   = uintptr(unix.FS_IOC_SETFLAGS) - (sizeofLong<<16 | 'f'<<8 | 2) | 0x94<<8
)
