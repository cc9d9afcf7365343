package mount

// Tunable defaults, with the reason for each.
const (
	// DefaultCacheBytes bounds the decompressed chunks a mount keeps: 32
	// chunks of the default 2 MiB, enough for the kernel's readahead
	// (128 KiB windows) and a file system's metadata blocks to hit the
	// cache, small beside a guest's RAM.
	DefaultCacheBytes = 64 << 20
	// decodeWorkers is how many reads may decompress at once: the kernel
	// sends FUSE reads from a few threads (max_background defaults to 12),
	// and zstd's decoder keeps this many contexts.
	decodeWorkers = 4
)
