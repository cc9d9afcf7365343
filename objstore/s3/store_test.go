package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/s3test"
	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/objstoretest"
	"github.com/lvback/lvback/objstore/s3"
)

// open opens the store at url (an s3: URL) with the server's credentials.
func open(t *testing.T, srv *s3test.Server, url string, o s3.Options) *s3.Store {
	t.Helper()
	u, err := s3.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3.OpenOptions(context.Background(), u, srv.Credentials(), o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSeaweedFS runs the tests that leave the server running on one
// server.
func TestSeaweedFS(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	t.Run("Conformance", func(t *testing.T) { testConformance(t, srv) })
	t.Run("LargeObjects", func(t *testing.T) { testLargeObjects(t, srv) })
	t.Run("OpenErrors", func(t *testing.T) { testOpenErrors(t, srv) })
	t.Run("NotExistError", func(t *testing.T) { testNotExistError(t, srv) })
}

// The conformance suite: stores below prefixes of one bucket (each must
// see only its own objects), then stores at the root of buckets of their
// own.
func testConformance(t *testing.T, srv *s3test.Server) {
	n := 0
	t.Run("Prefix", func(t *testing.T) {
		objstoretest.Run(t, func(t *testing.T) objstore.Store {
			n++
			return open(t, srv, srv.URL(fmt.Sprintf("repo%d/sub", n)), s3.Options{})
		})
	})
	t.Run("BucketRoot", func(t *testing.T) {
		objstoretest.Run(t, func(t *testing.T) objstore.Store {
			n++
			url := srv.BucketURL(fmt.Sprintf("root%d", n), "")
			u, err := s3.ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			if err := s3.CreateBucket(context.Background(), u, srv.Credentials()); err != nil {
				t.Fatal(err)
			}
			return open(t, srv, url, s3.Options{})
		})
	})
}

// Objects larger than minio-go's 16 MiB part size go up as a multipart
// upload; both kinds round-trip.
func testLargeObjects(t *testing.T, srv *s3test.Server) {
	st := open(t, srv, srv.URL("large"), s3.Options{})
	ctx := context.Background()
	for _, size := range []int{8 << 20, 17 << 20} {
		data := make([]byte, size)
		rng := rand.NewChaCha8([32]byte{byte(size >> 20)})
		rng.Read(data)
		name := fmt.Sprintf("obj-%d", size)
		if err := st.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, name)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: Get returned %d bytes (%v), want the %d put", name, len(got), err, size)
		}
		fi, err := st.Stat(ctx, name)
		if err != nil || fi.Size != int64(size) {
			t.Fatalf("%s: Stat = %+v, %v", name, fi, err)
		}
	}
}

// Wrong credentials and a missing bucket fail Open with a one-line error
// that says what is wrong.
func testOpenErrors(t *testing.T, srv *s3test.Server) {
	good := srv.Credentials()
	for _, tc := range []struct {
		name  string
		url   string
		creds s3.Credentials
		want  []string
	}{
		{"wrong secret", srv.URL("p"), s3.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "wrong", Source: "test"},
			[]string{srv.URL("p"), "check the credentials: access key " + good.AccessKeyID + " from test"}},
		{"unknown access key", srv.URL("p"), s3.Credentials{AccessKeyID: "NOSUCHKEY", SecretAccessKey: good.SecretAccessKey, Source: "test"},
			[]string{"check the credentials: access key NOSUCHKEY from test"}},
		{"missing bucket", srv.BucketURL("no-such-bucket", "p"), good,
			[]string{"bucket no-such-bucket does not exist", "create it first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s3.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			st, err := s3.Open(context.Background(), u, tc.creds)
			if err == nil {
				t.Fatalf("Open succeeded: %v", st)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, good.SecretAccessKey) {
				t.Errorf("error %q: several lines or the secret", msg)
			}
		})
	}
}

// With the server killed, Put and Get fail within a bounded time instead
// of hanging: with the default Options after at most ~28 s of backoff
// (connections are refused at once), and sooner with fewer retries.
func TestServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits out the retries, about 15 s")
	}
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, srv.URL("killed"), s3.Options{})
	few := open(t, srv, srv.URL("killed"), s3.Options{MaxRetries: 3})
	ctx := context.Background()
	if err := st.Put(ctx, "obj", []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	for _, tc := range []struct {
		name  string
		op    func() error
		bound time.Duration
	}{
		{"Put", func() error { return st.Put(ctx, "obj2", []byte("y")) }, 45 * time.Second},
		{"Get", func() error { _, err := st.Get(ctx, "obj"); return err }, 45 * time.Second},
		{"List", func() error { return st.List(ctx, "", func(objstore.Info) error { return nil }) }, 45 * time.Second},
		// 3 attempts sleep at most 0.2+0.4+0.8 s.
		{"Put with MaxRetries 3", func() error { return few.Put(ctx, "obj2", []byte("y")) }, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			begin := time.Now()
			err := tc.op()
			took := time.Since(begin)
			if err == nil {
				t.Fatal("succeeded with the server killed")
			}
			if took > tc.bound {
				t.Errorf("failed after %v, want within %v", took, tc.bound)
			}
			if !strings.Contains(err.Error(), srv.URL("killed")) || !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not name the store and the cause", err)
			}
			t.Logf("failed after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// The server is killed and restarted while Puts run back to back: the
// Puts caught by the outage wait it out through minio-go's retries (the
// restart takes ~16 s, SeaweedFS holding writes for 15 s of it; the
// default MaxRetries sleep 14 s on average on top of the time requests
// are held), and afterwards every object reads back as written.
func TestRestartDuringPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a SeaweedFS restart takes about 16 s")
	}
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, srv.URL("restart"), s3.Options{})
	ctx := context.Background()

	type result struct {
		name string
		data []byte
		took time.Duration
		err  error
	}
	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		results []result
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := result{name: fmt.Sprintf("obj/%04d", i), data: fmt.Appendf(nil, "object %d", i)}
			begin := time.Now()
			r.err = st.Put(ctx, r.name, r.data)
			r.took = time.Since(begin)
			results = append(results, r)
		}
	})
	time.Sleep(300 * time.Millisecond)
	srv.Restart()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	var longest time.Duration
	for _, r := range results {
		if r.err != nil {
			t.Errorf("Put %s failed after %v: %v", r.name, r.took, r.err)
		}
		longest = max(longest, r.took)
	}
	// Without this the test would pass without having tested anything.
	if longest < 2*time.Second {
		t.Fatalf("no Put was caught by the restart (longest took %v)", longest)
	}
	t.Logf("%d Puts, the longest (across the restart) took %v", len(results), longest.Round(time.Millisecond))
	for _, r := range results {
		got, err := st.Get(ctx, r.name)
		if err != nil || !bytes.Equal(got, r.data) {
			t.Errorf("Get %s = %q, %v; want %q", r.name, got, err, r.data)
		}
	}
	var n int
	if err := st.List(ctx, "obj/", func(objstore.Info) error { n++; return nil }); err != nil || n != len(results) {
		t.Errorf("listed %d objects (%v), want %d", n, err, len(results))
	}
}

// A missing object's error wraps objstore.ErrNotExist and names the
// store and the object.
func testNotExistError(t *testing.T, srv *s3test.Server) {
	st := open(t, srv, srv.URL("p"), s3.Options{})
	_, err := st.Get(context.Background(), "missing/obj")
	if !errors.Is(err, objstore.ErrNotExist) || !strings.Contains(err.Error(), srv.URL("p")+": get missing/obj: ") {
		t.Errorf("Get of a missing object: %v", err)
	}
}
