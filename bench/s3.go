package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/weed"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/s3"
)

// s3Side is what the s3 cases need beyond the block cases': the SeaweedFS
// server the harness started for the run, on loopback with its data on
// the scratch file system, and restic.
type s3Side struct {
	srv    *weed.Server
	restic string   // restic 0.18 binary; "" when missing (noted in skipped)
	about  []string // legend lines: the server's and restic's versions
}

// startS3 starts the server for the s3 cases. Without a weed binary it
// notes the skip and returns nil, nil: the s3 cases then do not run.
// Without restic 0.18 only restic's rows are skipped.
func (b *bench) startS3() (*s3Side, error) {
	bin, err := weed.Find()
	if errors.Is(err, weed.ErrNotFound) {
		b.skipped = append(b.skipped, "s3 cases: "+err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	version, err := output(b.ctx, bin, "version")
	if err != nil {
		return nil, err
	}
	srv, err := weed.Start(b.ctx, bin, filepath.Join(b.sc.dir, "weed"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "s3: weed server up in %.1fs at %s\n", srv.StartupTime().Seconds(), srv.URL(""))
	s := &s3Side{srv: srv}
	version, _, _ = strings.Cut(version, "\n")
	s.about = append(s.about, fmt.Sprintf("s3 cases: SeaweedFS %s (%s, weed mini on 127.0.0.1, its data on the scratch file system), started by the harness for the run; every repetition gets fresh bucket prefixes",
		strings.Join(strings.Fields(strings.TrimPrefix(version, "version")), " "), bin))
	path, rv, err := findRestic(b.ctx)
	if err != nil {
		b.skipped = append(b.skipped, "restic rows of the s3 cases: "+err.Error())
		return s, nil
	}
	s.restic = path
	s.about = append(s.about, fmt.Sprintf("restic %s (%s): restic -r s3:URL --insecure-no-password --cache-dir DIR -q init, then ... backup --no-scan IMAGE (the image as one file; compression auto, pack size and read concurrency at their defaults), its cache on the scratch file system, fresh each repetition", rv, path))
	return s, nil
}

// stop stops the server; its data goes with the scratch file system.
func (s *s3Side) stop() error { return s.srv.Stop() }

// storedUnder returns a function that sums the sizes of the objects under
// the s3: URL u (a bucket prefix), listed through objstore/s3.
func (s *s3Side) storedUnder(ctx context.Context, u string) func() (int64, error) {
	return func() (int64, error) {
		pu, err := s3.ParseURL(u)
		if err != nil {
			return -1, err
		}
		st, err := s3.Open(ctx, pu, s.srv.Credentials())
		if err != nil {
			return -1, err
		}
		var n int64
		err = st.List(ctx, "", func(fi objstore.Info) error {
			n += fi.Size
			return nil
		})
		return n, err
	}
}
