package mount

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/lvback/lvback/repo"
)

// served is one complete backup as the mount shows it: a tree directory
// (file mode) or an image (block mode).
type served struct {
	b     repo.Backup
	image *Image // nil for a file-mode backup
}

// rootNode is MOUNTPOINT: a directory per name, in it a directory per
// backup ID, fixed at mount time.
type rootNode struct {
	fs.Inode
	backups []served
}

var _ fs.NodeOnAdder = (*rootNode)(nil)

// OnAdd builds the whole directory structure down to each backup's
// contents; a file-mode backup's tree is then served by a loopback node
// rooted at its tree directory (which never resolves a path outside it:
// it looks entries up with lstat, so a symlink is shown, not followed).
func (r *rootNode) OnAdd(ctx context.Context) {
	names := map[string]*fs.Inode{}
	trees := 0
	for _, s := range r.backups {
		nameDir := names[s.b.Name]
		if nameDir == nil {
			nameDir = r.NewPersistentInode(ctx, &fs.Inode{}, fs.StableAttr{Mode: syscall.S_IFDIR})
			r.AddChild(s.b.Name, nameDir, false)
			names[s.b.Name] = nameDir
		}
		var idDir *fs.Inode
		if s.image != nil {
			idDir = r.NewPersistentInode(ctx, &fs.Inode{}, fs.StableAttr{Mode: syscall.S_IFDIR})
			mtime := s.b.Info.Finished
			img := r.NewPersistentInode(ctx, &imageFile{im: s.image, mtime: uint64(mtime.Unix())},
				fs.StableAttr{Mode: syscall.S_IFREG})
			idDir.AddChild(s.b.Name+".img", img, false)
		} else {
			tree, err := fs.NewLoopbackRoot(s.b.TreePath())
			if err != nil {
				continue // checked by Mount before mounting; vanished since
			}
			trees++
			separateInodes(tree, trees)
			idDir = r.NewPersistentInode(ctx, tree, fs.StableAttr{Mode: syscall.S_IFDIR})
		}
		nameDir.AddChild(s.b.ID, idDir, false)
	}
}

// separateInodes gives the n-th tree's inodes numbers of their own: the
// loopback numbers an inode by its underlying one (XORed with the
// difference of its device from the root's), so a file hard-linked
// between two backups' trees would be one go-fuse inode reached from two
// roots, and its path resolved under the wrong one. Offsetting the
// root's device by n<<16 puts n<<48 into every inode number of tree n
// (lower inode numbers are left as they are, so hard links within a tree
// stay visible), which is unique for n < 1<<15 and local inode numbers
// below 1<<48.
func separateInodes(tree fs.InodeEmbedder, n int) {
	if l, ok := tree.(*fs.LoopbackNode); ok {
		l.RootData.Dev ^= uint64(n) << 16
	}
}

// imageFile is a block-mode backup's image: read-only, sparse.
type imageFile struct {
	fs.Inode
	im    *Image
	mtime uint64
}

var (
	_ fs.NodeGetattrer = (*imageFile)(nil)
	_ fs.NodeOpener    = (*imageFile)(nil)
	_ fs.NodeReader    = (*imageFile)(nil)
	_ fs.NodeLseeker   = (*imageFile)(nil)
)

func (f *imageFile) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	out.Size = uint64(f.im.Size())
	out.Blocks = uint64(f.im.DataBytes()+511) / 512 // holes take no space, as in a sparse file
	out.Mtime, out.Ctime, out.Atime = f.mtime, f.mtime, f.mtime
	return 0
}

// Open refuses writing (the mount is read-only too); the kernel may keep
// the image's pages cached across opens since they never change.
func (f *imageFile) Open(_ context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC) != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Read fails with EIO when a chunk it touches is missing or damaged (the
// Image logs which).
func (f *imageFile) Read(_ context.Context, _ fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := f.im.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Lseek answers SEEK_DATA and SEEK_HOLE from the index: holes are the
// chunks the backup stored as holes.
func (f *imageFile) Lseek(_ context.Context, _ fs.FileHandle, off uint64, whence uint32) (uint64, syscall.Errno) {
	size := uint64(f.im.Size())
	if off >= size {
		return 0, syscall.ENXIO
	}
	switch whence {
	case seekData:
		next := uint64(f.im.SeekData(int64(off)))
		if next >= size {
			return 0, syscall.ENXIO
		}
		return next, 0
	case seekHole:
		return uint64(f.im.SeekHole(int64(off))), 0
	}
	return 0, syscall.EINVAL
}

// Whence values of lseek(2) for sparse files.
const (
	seekData = 3
	seekHole = 4
)
