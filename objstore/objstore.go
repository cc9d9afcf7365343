// Package objstore owns where a block-mode repository's objects live: a
// flat namespace of named objects that are written whole, read whole,
// listed by prefix and deleted. A local directory (Dir) and an
// S3-compatible bucket (package objstore/s3) implement Store, so the
// same repository code runs on either. It never interprets the bytes it
// stores.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotExist reports an object the store does not hold; errors of Get
// and Stat for a missing object wrap it.
var ErrNotExist = errors.New("object does not exist")

// Info describes one stored object.
type Info struct {
	Name    string    // the object's name, as given to Put
	Size    int64     // its length in bytes
	ModTime time.Time // when it was last written, by the store's clock
}

// Store holds named objects. Names are what ValidName accepts.
// Implementations are safe for concurrent use.
type Store interface {
	// Put stores data under name, replacing any object there. The object
	// is never visible half-written, and it is durable when Put returns
	// nil. Put does not keep data.
	Put(ctx context.Context, name string, data []byte) error
	// Get returns the object's content, or an error wrapping ErrNotExist.
	Get(ctx context.Context, name string) ([]byte, error)
	// Stat describes the object, or returns an error wrapping ErrNotExist.
	Stat(ctx context.Context, name string) (Info, error)
	// List calls fn with every object whose name starts with prefix, in
	// no particular order; it stops at fn's first error and returns it.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Delete removes the object; deleting a missing object is no error.
	Delete(ctx context.Context, name string) error
	// String names the store for messages (a path or an s3: URL).
	String() string
}

// ValidName reports whether name can name an object: a slash-separated
// relative path of non-empty components, none starting with "." (Dir
// keeps its temporary files under such names), with no NUL byte.
func ValidName(name string) bool {
	if name == "" || strings.ContainsRune(name, 0) {
		return false
	}
	for c := range strings.SplitSeq(name, "/") {
		if c == "" || strings.HasPrefix(c, ".") {
			return false
		}
	}
	return true
}

// checkName returns an error for a name ValidName refuses.
func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("invalid object name %q", name)
	}
	return nil
}
