// Package s3test starts a real S3 server for tests: a SeaweedFS server
// from internal/weed (weed mini on 127.0.0.1, requiring credentials),
// keeping its data in the test's temporary directory and stopped when the
// test ends. Without a weed binary (make weed builds it) the tests skip,
// or fail when LVBACK_REQUIRE_S3=1 (as in CI). It never builds weed
// itself and never touches a server it did not start.
package s3test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/weed"
	"github.com/lvback/lvback/objstore/s3"
)

// The environment variables Start reads.
const (
	// EnvWeed names the weed binary to run, overriding the lookup.
	EnvWeed = weed.EnvWeed
	// EnvCache is the directory scripts/build-weed.sh builds weed into
	// (default /var/cache/lvback-ci); Start looks for $EnvCache/weed.
	EnvCache = weed.EnvCache
	// EnvRequire set to 1 makes a missing weed binary fail the test
	// instead of skipping it.
	EnvRequire = "LVBACK_REQUIRE_S3"
)

// Server is a running weed server. Its methods are for the test's own
// goroutine (they call t.Fatal), except the accessors URL, Credentials,
// Env, Endpoint and Bucket, which any goroutine may call.
type Server struct {
	t   testing.TB
	srv *weed.Server
}

// Start starts a weed server with a fresh bucket (Bucket) and stops it
// when the test ends. It skips the test when no weed binary is found,
// unless LVBACK_REQUIRE_S3=1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findWeed(t)
	srv, err := weed.Start(context.Background(), bin, t.TempDir())
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	s := &Server{t: t, srv: srv}
	t.Cleanup(s.Stop)
	t.Logf("s3test: weed server up in %v, S3 at %s", srv.StartupTime().Round(time.Millisecond), s.URL(""))
	return s
}

// URL returns the s3: URL of prefix in the server's bucket
// (s3:http://127.0.0.1:PORT/BUCKET/prefix); prefix may be "".
func (s *Server) URL(prefix string) string { return s.srv.URL(prefix) }

// BucketURL returns the s3: URL of prefix in bucket on the server,
// whether or not that bucket exists.
func (s *Server) BucketURL(bucket, prefix string) string { return s.srv.BucketURL(bucket, prefix) }

// Endpoint returns the S3 gateway's address, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return s.srv.Endpoint() }

// Bucket returns the name of the bucket Start created.
func (s *Server) Bucket() string { return s.srv.Bucket() }

// Credentials returns the only credentials the server accepts.
func (s *Server) Credentials() s3.Credentials { return s.srv.Credentials() }

// Env returns the server's credentials as AWS_* environment variables,
// for child processes.
func (s *Server) Env() []string { return s.srv.Env() }

// StartupTime returns how long Start took from launching weed until its
// S3 gateway stored an object.
func (s *Server) StartupTime() time.Duration { return s.srv.StartupTime() }

// Stop kills the server (SIGKILL to its process group, as a crash or a
// power cut would stop it) and waits until it is gone. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.srv.Stop(); err != nil {
		s.t.Fatalf("s3test: %v", err)
	}
}

// Restart stops the server if it runs and starts it again on the same
// ports and data, returning once S3 takes writes again.
func (s *Server) Restart() {
	s.t.Helper()
	begin := time.Now()
	if err := s.srv.Restart(context.Background()); err != nil {
		s.t.Fatalf("s3test: %v", err)
	}
	s.t.Logf("s3test: weed server up again in %v", time.Since(begin).Round(time.Millisecond))
}

// findWeed returns the weed binary weed.Find finds. Without one it skips
// the test, or fails it when LVBACK_REQUIRE_S3=1.
func findWeed(t testing.TB) string {
	t.Helper()
	bin, err := weed.Find()
	switch {
	case err == nil:
		return bin
	case !errors.Is(err, weed.ErrNotFound):
		t.Fatalf("s3test: %v", err)
	case os.Getenv(EnvRequire) == "1":
		t.Fatal("s3test: " + err.Error() + "; failing because " + EnvRequire + "=1")
	}
	t.Skip("s3test: " + err.Error())
	return ""
}
