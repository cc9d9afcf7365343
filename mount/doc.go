// Package mount serves a repository's complete backups as a read-only
// FUSE file system: MOUNTPOINT/NAME/ID/ is a file-mode backup's tree, or
// for a block-mode backup the one sparse image file NAME.img, read from
// the chunk store on demand (Image, which needs no FUSE and is what a
// test or another reader uses).
//
// It never writes to the repository, never takes the repository lock
// (a mount may last for days; a prune that removes a mounted backup makes
// its reads fail) and never prints: failures go to the caller's logger.
// The set of backups is the one found at mount time.
package mount
