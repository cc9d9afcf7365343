package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/objstore/s3"
)

// The server refuses anonymous requests, keeps its data across Stop and
// Restart, and is unreachable while stopped.
func TestServer(t *testing.T) {
	srv := Start(t)
	t.Logf("startup took %v", srv.StartupTime())

	resp, err := http.Get(srv.Endpoint() + "/" + srv.Bucket())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous listing: %s, want 403 Forbidden", resp.Status)
	}

	ctx := context.Background()
	u, err := s3.ParseURL(srv.URL("p"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3.Open(ctx, u, srv.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "a", []byte("kept")); err != nil {
		t.Fatal(err)
	}

	if testing.Short() {
		return // a restart takes about 16 s
	}
	srv.Stop()
	if c, err := net.Dial("tcp", strings.TrimPrefix(srv.Endpoint(), "http://")); err == nil {
		c.Close()
		t.Fatal("S3 port still accepts connections after Stop")
	}
	srv.Restart()
	got, err := st.Get(ctx, "a")
	if err != nil || !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("after Restart: Get = %q, %v; want \"kept\"", got, err)
	}

	env := strings.Join(srv.Env(), " ")
	if !strings.Contains(env, "AWS_ACCESS_KEY_ID="+srv.Credentials().AccessKeyID) ||
		!strings.Contains(env, "AWS_SECRET_ACCESS_KEY="+srv.Credentials().SecretAccessKey) {
		t.Errorf("Env() = %q", srv.Env())
	}
}

// A missing binary skips the test, naming what is missing and how to
// build it, or fails it under LVBACK_REQUIRE_S3=1.
func TestFindWeed(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv(EnvCache, empty)
	t.Setenv(EnvWeed, "")

	t.Setenv(EnvRequire, "")
	tb := runFind()
	if !strings.Contains(tb.skipped, "make weed") || !strings.Contains(tb.skipped, filepath.Join(empty, "weed")) || tb.failed != "" {
		t.Errorf("without weed: skipped %q, failed %q; want a skip naming the path and make weed", tb.skipped, tb.failed)
	}
	t.Setenv(EnvRequire, "1")
	tb = runFind()
	if !strings.Contains(tb.failed, "make weed") || !strings.Contains(tb.failed, EnvRequire) || tb.skipped != "" {
		t.Errorf("without weed, %s=1: skipped %q, failed %q; want a failure", EnvRequire, tb.skipped, tb.failed)
	}

	t.Setenv(EnvWeed, filepath.Join(empty, "nope"))
	tb = runFind()
	if !strings.Contains(tb.failed, EnvWeed) {
		t.Errorf("%s naming no file: failed %q, want a failure naming the variable", EnvWeed, tb.failed)
	}

	t.Setenv(EnvWeed, "")
	cached := filepath.Join(empty, "weed")
	if err := os.WriteFile(cached, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if tb = runFind(); tb.found != cached {
		t.Errorf("found %q (skipped %q, failed %q), want %s", tb.found, tb.skipped, tb.failed, cached)
	}
}

// fakeTB records Skip and Fatal, each of which ends the call as the real
// ones do.
type fakeTB struct {
	testing.TB
	skipped, failed, found string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Skip(args ...any)          { f.skipped = fmt.Sprint(args...); panic(f) }
func (f *fakeTB) Fatal(args ...any)         { f.failed = fmt.Sprint(args...); panic(f) }
func (f *fakeTB) Fatalf(s string, a ...any) { f.failed = fmt.Sprintf(s, a...); panic(f) }

func runFind() (tb *fakeTB) {
	tb = &fakeTB{}
	defer func() {
		if r := recover(); r != nil && r != tb {
			panic(r)
		}
	}()
	tb.found = findWeed(tb)
	return tb
}
