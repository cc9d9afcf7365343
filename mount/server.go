package mount

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/lvback/lvback/blockdiff"
	"github.com/lvback/lvback/repo"
)

// Options say what to mount and how.
type Options struct {
	Name       string // only this volume name; "" means every name
	CacheBytes int64  // bound of each image's chunk cache; 0 means DefaultCacheBytes
	Logger     *slog.Logger
}

// Server is a mounted repository. Wait returns once it is unmounted, by
// Unmount or from outside (umount, fusermount -u).
type Server struct {
	srv    *fuse.Server
	images []*Image
}

// Mount serves the complete backups of the repository at repoPath (of
// o.Name only, when set) read-only at mountpoint, until unmounted. Only
// the mounting user may use the mount (no allow_other), and the kernel
// checks each file's mode (default_permissions). It fails with
// repo.ErrNotFound when there is no complete backup to show.
func Mount(repoPath, mountpoint string, o Options) (*Server, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	r, err := repo.Open(repoPath)
	if err != nil {
		return nil, err
	}
	backups, err := openBackups(r, o)
	closeAll := func() {
		for _, s := range backups {
			if s.image != nil {
				s.image.Close()
			}
		}
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	opts := &fs.Options{MountOptions: fuse.MountOptions{
		FsName: "lvback:" + r.Root, Name: "lvback", DirectMount: true,
		Options: []string{"ro", "default_permissions"}, MaxReadAhead: 1 << 20,
	}}
	srv, err := fs.Mount(mountpoint, &rootNode{backups: backups}, opts)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	s := &Server{srv: srv}
	for _, b := range backups {
		if b.image != nil {
			s.images = append(s.images, b.image)
		}
	}
	return s, nil
}

// openBackups lists the complete backups to serve and opens each image.
func openBackups(r *repo.Repo, o Options) ([]served, error) {
	names := []string{o.Name}
	if o.Name == "" {
		var err error
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	}
	var store repo.ChunkStore
	var out []served
	for _, name := range names {
		bs, err := r.Backups(name)
		if err != nil {
			return out, err
		}
		for _, b := range bs {
			if !b.Complete {
				continue
			}
			s := served{b: b}
			if b.Blocks() {
				if store == nil {
					if store, err = r.Chunks(); err != nil {
						return out, err
					}
				}
				if s.image, err = openImage(&b, store, o); err != nil {
					return out, err
				}
			} else if _, err := os.Stat(b.TreePath()); err != nil {
				return out, err
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no complete backup to mount: %w", repo.ErrNotFound)
	}
	return out, nil
}

func openImage(b *repo.Backup, store blockdiff.ChunkStore, o Options) (*Image, error) {
	idx, err := blockdiff.ReadIndex(b.IndexPath())
	if err != nil {
		return nil, fmt.Errorf("backup %s/%s: %w", b.Name, b.ID, err)
	}
	log := o.Logger
	if log != nil {
		log = log.With("backup", b.Name+"/"+b.ID)
	}
	return OpenImage(idx, store, ImageOptions{CacheBytes: o.CacheBytes, Logger: log})
}

// Wait blocks until the file system is unmounted, then releases it.
func (s *Server) Wait() {
	s.srv.Wait()
	for _, im := range s.images {
		im.Close()
	}
	s.images = nil
}

// Unmount unmounts the file system; it fails (and the mount stays served)
// while something uses it, e.g. a loop device or a mounted partition.
func (s *Server) Unmount() error {
	if err := s.srv.Unmount(); err != nil {
		return fmt.Errorf("unmount: %w", err)
	}
	return nil
}
