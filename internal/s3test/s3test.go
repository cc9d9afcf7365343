// Package s3test starts a real S3 server for tests: SeaweedFS's "weed
// mini" (master, volume server, filer and S3 gateway in one process),
// bound to 127.0.0.1 on free ports, keeping its data in the test's
// temporary directory and requiring credentials.
// It finds the weed binary that scripts/build-weed.sh (make weed) builds;
// without one the tests skip, or fail when LVBACK_REQUIRE_S3=1 (as in
// CI). It never builds weed itself and never touches a server it did
// not start.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvback/lvback/objstore/s3"
)

// The environment variables Start reads.
const (
	// EnvWeed names the weed binary to run, overriding the lookup.
	EnvWeed = "LVBACK_WEED"
	// EnvCache is the directory scripts/build-weed.sh builds weed into
	// (default /var/cache/lvback-ci); Start looks for $EnvCache/weed.
	EnvCache = "LVBACK_CACHE"
	// EnvRequire set to 1 makes a missing weed binary fail the test
	// instead of skipping it.
	EnvRequire = "LVBACK_REQUIRE_S3"
)

const (
	defaultCache = "/var/cache/lvback-ci"
	// readyTimeout bounds a start or restart until S3 takes writes. A
	// start takes 5 s on an idle 2-core machine, a restart 16 s (SeaweedFS's
	// master refuses to assign space for 15 s after it restarts with data,
	// waiting for volume servers to report); 60 s leaves room for a loaded
	// CI machine running other test packages at the same time.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds the wait for a SIGKILLed weed to be reaped.
	stopTimeout = 10 * time.Second
	// probeBucket is where readiness probes write, so the test bucket
	// holds only what the test put there.
	probeBucket = "lvback-s3test-probe"
)

// Server is a running weed server. Its methods are for the test's own
// goroutine (they call t.Fatal), except the accessors URL, Credentials,
// Env and Bucket, which any goroutine may call.
type Server struct {
	t       testing.TB
	bin     string
	dir     string // holds data/, the S3 identity config and weed.log
	ports   ports
	creds   s3.Credentials
	bucket  string
	startup time.Duration // of the first start, until S3 took a write

	mu   sync.Mutex // guards proc
	proc *process   // nil while stopped
}

// process is one run of weed.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait returned
	err  error         // cmd.Wait's error, set before done is closed
}

// Start starts a weed server with a fresh bucket (Bucket) and stops it
// when the test ends. It skips the test when no weed binary is found,
// unless LVBACK_REQUIRE_S3=1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findWeed(t)
	dir := t.TempDir()
	s := &Server{
		t:      t,
		bin:    bin,
		dir:    dir,
		bucket: "lvback-test-" + randomHex(4),
		creds: s3.Credentials{
			AccessKeyID:     "LVBACKTEST" + strings.ToUpper(randomHex(5)),
			SecretAccessKey: randomHex(20),
			Source:          "s3test",
		},
	}
	if err := s.writeConfig(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cleanup)
	begin := time.Now()
	// Free ports are found by binding and closing, so another process can
	// take one before weed binds it; a fresh set is tried then.
	for attempt := 1; ; attempt++ {
		p, err := freePorts()
		if err != nil {
			t.Fatal(err)
		}
		s.ports = p
		err = s.run()
		if err == nil {
			break
		}
		s.Stop()
		s.removeSockets()
		if attempt == 3 || !strings.Contains(s.logTail(), "address already in use") {
			t.Fatalf("s3test: start weed server: %v\nweed log (%s), last lines:\n%s", err, s.logPath(), s.logTail())
		}
	}
	s.startup = time.Since(begin)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.createBucket(ctx, s.bucket); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Logf("s3test: weed server up in %v, S3 at %s", s.startup.Round(time.Millisecond), s.URL(""))
	return s
}

// URL returns the s3: URL of prefix in the server's bucket
// (s3:http://127.0.0.1:PORT/BUCKET/prefix); prefix may be "".
func (s *Server) URL(prefix string) string { return s.BucketURL(s.bucket, prefix) }

// BucketURL returns the s3: URL of prefix in bucket on the server,
// whether or not that bucket exists.
func (s *Server) BucketURL(bucket, prefix string) string {
	u := fmt.Sprintf("s3:http://127.0.0.1:%d/%s", s.ports.s3, bucket)
	if prefix != "" {
		u += "/" + prefix
	}
	return u
}

// Bucket returns the name of the bucket Start created.
func (s *Server) Bucket() string { return s.bucket }

// Credentials returns the only credentials the server accepts.
func (s *Server) Credentials() s3.Credentials { return s.creds }

// Env returns the server's credentials as AWS_* environment variables,
// for child processes.
func (s *Server) Env() []string {
	return []string{
		s3.EnvAccessKeyID + "=" + s.creds.AccessKeyID,
		s3.EnvSecretAccessKey + "=" + s.creds.SecretAccessKey,
	}
}

// StartupTime returns how long Start took from launching weed until its
// S3 gateway stored an object.
func (s *Server) StartupTime() time.Duration { return s.startup }

// Stop kills the server (SIGKILL to its process group, as a crash or a
// power cut would stop it) and waits until it is gone. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = killGroup(p.cmd.Process)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		s.t.Fatalf("s3test: weed (pid %d) still running %v after SIGKILL", p.cmd.Process.Pid, stopTimeout)
	}
}

// Restart stops the server if it runs and starts it again on the same
// ports and data, returning once S3 takes writes again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	begin := time.Now()
	if err := s.run(); err != nil {
		s.t.Fatalf("s3test: restart weed server: %v\nweed log (%s), last lines:\n%s", err, s.logPath(), s.logTail())
	}
	s.t.Logf("s3test: weed server up again in %v", time.Since(begin).Round(time.Millisecond))
}

// run launches weed and waits until S3 takes writes.
func (s *Server) run() error {
	p, err := s.launch()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return s.waitReady(ctx, p)
}

func (s *Server) launch() (*process, error) {
	if err := os.MkdirAll(s.dataDir(), 0o700); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(s.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close() // weed has its own descriptor
	fmt.Fprintf(log, "--- s3test: %s %s\n", s.bin, strings.Join(s.args(), " "))
	cmd := exec.Command(s.bin, s.args()...)
	// In its own directory, weed finds no stray master.toml or
	// security.toml from the test's working directory, and it gets no
	// AWS_* variables: mini would add an identity for them.
	cmd.Dir = s.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady waits until the S3 port answers HTTP, then until a probe
// object can be written, or until p exits or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	hc := &http.Client{Timeout: time.Second}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/", s.ports.s3)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-p.done:
			return fmt.Errorf("weed exited before S3 answered: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("S3 on port %d did not answer within %v", s.ports.s3, readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
	var err error
	for {
		if err = s.probe(ctx); err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("weed exited before S3 took a write: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("S3 on port %d answered but took no write within %v: %w", s.ports.s3, readyTimeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// probe writes and deletes an object in the probe bucket.
func (s *Server) probe(ctx context.Context) error {
	u, err := s3.ParseURL(s.BucketURL(probeBucket, ""))
	if err != nil {
		return err
	}
	if err := s3.CreateBucket(ctx, u, s.creds); err != nil {
		return err
	}
	st, err := s3.OpenOptions(ctx, u, s.creds, s3.Options{MaxRetries: 1})
	if err != nil {
		return err
	}
	if err := st.Put(ctx, "probe", []byte("probe")); err != nil {
		return err
	}
	return st.Delete(ctx, "probe")
}

func (s *Server) createBucket(ctx context.Context, bucket string) error {
	u, err := s3.ParseURL(s.BucketURL(bucket, ""))
	if err != nil {
		return err
	}
	return s3.CreateBucket(ctx, u, s.creds)
}

// cleanup stops the server and removes its sockets.
func (s *Server) cleanup() {
	s.Stop()
	s.removeSockets()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
