package s3_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore/s3"
)

// fakeS3 is just enough of an S3 endpoint to open a Store on bucket
// "bkt", with failures injected per request: put and get answer object
// PUTs and GETs.
type fakeS3 struct {
	puts, gets atomic.Int32
	put, get   http.HandlerFunc
	body       func([]byte) // if set, is given each PUT's body
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Query().Has("location"):
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)
	case r.Method == http.MethodHead && strings.TrimSuffix(r.URL.Path, "/") == "/bkt":
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPut:
		f.puts.Add(1)
		b, _ := io.ReadAll(r.Body)
		if f.body != nil {
			f.body(b)
		}
		f.put(w, r)
	case r.Method == http.MethodGet:
		f.gets.Add(1)
		f.get(w, r)
	default:
		http.Error(w, "not in the fake", http.StatusNotImplemented)
	}
}

// s3Error answers with an S3 error document.
func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>injected `+code+`</Message></Error>`)
}

func openFake(t *testing.T, f *fakeS3, o s3.Options) *s3.Store {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	u, err := s3.ParseURL("s3:" + srv.URL + "/bkt/repo")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3.OpenOptions(context.Background(), u, s3.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", Source: "test"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Put sends the body as it is, with its MD5 in a signed header and an
// unsigned payload hash, over plain HTTP too (no aws-chunked streaming
// signature).
func TestPutSignsMD5NotPayload(t *testing.T) {
	f := &fakeS3{}
	var got http.Header
	var body []byte
	f.put = func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	}
	f.body = func(b []byte) { body = b }
	st := openFake(t, f, s3.Options{})
	data := []byte("some chunk data")
	if err := st.Put(context.Background(), "obj", data); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if md := got.Get("Content-Md5"); md != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("Content-MD5 %q, want the body's", md)
	}
	if sha := got.Get("X-Amz-Content-Sha256"); sha != "UNSIGNED-PAYLOAD" {
		t.Errorf("X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", sha)
	}
	if auth := got.Get("Authorization"); !strings.Contains(auth, "content-md5") {
		t.Errorf("Authorization %q does not sign content-md5", auth)
	}
	if enc := got.Get("Content-Encoding"); enc != "" || string(body) != string(data) {
		t.Errorf("body %q (Content-Encoding %q), want the data as it is", body, enc)
	}
}

// A 503 SlowDown and a 500 are retried; the third attempt succeeds.
func TestPutRetries5xx(t *testing.T) {
	f := &fakeS3{}
	f.put = func(w http.ResponseWriter, r *http.Request) {
		switch f.puts.Load() {
		case 1:
			s3Error(w, http.StatusServiceUnavailable, "SlowDown")
		case 2:
			s3Error(w, http.StatusInternalServerError, "InternalError")
		default:
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		}
	}
	st := openFake(t, f, s3.Options{})
	if err := st.Put(context.Background(), "obj", []byte("data")); err != nil {
		t.Fatal(err)
	}
	if n := f.puts.Load(); n != 3 {
		t.Errorf("%d PUT requests, want 3", n)
	}
}

// A 403 is final at once, and the error says which credentials failed.
func TestPutAccessDeniedNotRetried(t *testing.T) {
	f := &fakeS3{put: func(w http.ResponseWriter, r *http.Request) { s3Error(w, http.StatusForbidden, "AccessDenied") }}
	st := openFake(t, f, s3.Options{})
	err := st.Put(context.Background(), "obj", []byte("data"))
	if err == nil || !strings.Contains(err.Error(), "/bkt/repo: put obj: ") || !strings.Contains(err.Error(), "access key AKID from test") {
		t.Fatalf("err = %v, want access denied naming the store, the object and the credentials", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v shows the secret", err)
	}
	if n := f.puts.Load(); n != 1 {
		t.Errorf("%d PUT requests, want 1", n)
	}
}

// A server that takes a PUT and never answers fails each attempt after
// IOTimeout; MaxRetries attempts are made, and then Put returns.
func TestPutServerSilent(t *testing.T) {
	f := &fakeS3{put: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}
	const ioTimeout = 300 * time.Millisecond
	st := openFake(t, f, s3.Options{IOTimeout: ioTimeout, MaxRetries: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	err := st.Put(ctx, "obj", []byte("data"))
	took := time.Since(begin)
	if err == nil || errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Fatalf("Put = %v after %v, want a timeout of its own", err, took)
	}
	// 3 attempts of 300 ms and at most 0.2+0.4+0.8 s of sleep between.
	if took < 3*ioTimeout || took > 5*time.Second {
		t.Errorf("Put failed after %v, want 0.9 to 5 s", took)
	}
	if n := f.puts.Load(); n != 3 {
		t.Errorf("%d PUT requests, want 3 (MaxRetries)", n)
	}
	t.Logf("Put failed after %v: %v", took, err)
}

// A server that stops sending halfway through an object's body fails
// Get after IOTimeout instead of hanging: the response header timeout
// does not cover the body; the connection's I/O deadline does.
func TestGetBodyStalls(t *testing.T) {
	f := &fakeS3{get: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "first ten.")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}}
	st := openFake(t, f, s3.Options{IOTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	_, err := st.Get(ctx, "obj")
	took := time.Since(begin)
	if err == nil || ctx.Err() != nil || took > 5*time.Second {
		t.Fatalf("Get = %v after %v, want an I/O timeout within 5 s", err, took)
	}
	if !strings.Contains(err.Error(), "repo") || !strings.Contains(err.Error(), "obj") {
		t.Errorf("err = %v, want it to name the store and the object", err)
	}
}

// A dead endpoint fails Open at once: minio-go does not retry its first
// request, the bucket's region lookup.
func TestOpenDeadEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	u, err := s3.ParseURL("s3:http://" + addr + "/bkt")
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	_, err = s3.Open(context.Background(), u, s3.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"})
	if took := time.Since(begin); err == nil || !strings.Contains(err.Error(), "connection refused") || took > 2*time.Second {
		t.Errorf("Open = %v after %v, want connection refused at once", err, took)
	}
}
