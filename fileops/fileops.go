// Package fileops owns the file system operations lvback's engine needs to
// write and read backup trees: sparse-aware copy with hashing, reflink,
// metadata application, xattr listing, special files, fast tree removal and
// syncing. It never decides what to back up, and never follows a final
// symlink unless a function says so.
package fileops

import "errors"

// ErrSizeChanged reports a source file whose length differed from its lstat
// size during the copy.
var ErrSizeChanged = errors.New("file size changed during copy")

// ErrNoReflink reports a file system (or a pair of file systems) on which
// files cannot share extents.
var ErrNoReflink = errors.New("reflink not supported")

// ErrNotPermitted reports metadata (an owner, a privileged attribute) that the
// process lacks the privilege to set; everything else was still applied.
var ErrNotPermitted = errors.New("operation not permitted")

// copyBufSize is the size of one read/write in CopyFile and HashFile, and of
// the shared zero buffer that feeds holes to the hasher. BenchmarkCopyFile
// (64 MiB in the page cache, 2-core EPYC): 128 KiB was about a third slower
// than 1 MiB, 4 MiB no faster; one pooled buffer per copy in flight is cheap.
const copyBufSize = 1 << 20
