// Package weed runs a real S3 server on loopback: SeaweedFS's "weed
// mini" (master, volume server, filer and S3 gateway in one process),
// bound to 127.0.0.1 on free ports, keeping its data, its identity config
// and its log in a directory the caller gives, and requiring credentials.
// internal/s3test starts one per test; the benchmark starts one per run.
// It finds the weed binary scripts/build-weed.sh (make weed) builds; it
// never builds weed itself, never prints, and never touches a server it
// did not start.
package weed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/lvback/lvback/objstore/s3"
)

const (
	// readyTimeout bounds a start or restart until S3 takes writes. A
	// start takes 5 s on an idle 2-core machine, a restart 16 s (SeaweedFS's
	// master refuses to assign space for 15 s after it restarts with data,
	// waiting for volume servers to report); 60 s leaves room for a loaded
	// CI machine running other test packages at the same time.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds the wait for a SIGKILLed weed to be reaped.
	stopTimeout = 10 * time.Second
	// probeBucket is where readiness probes write, so the bucket Start
	// creates holds only what its user put there.
	probeBucket = "lvback-s3test-probe"
	// startAttempts: free ports are found by binding and closing, so
	// another process can take one before weed binds it; Start tries a
	// fresh set of ports this many times in all.
	startAttempts = 3
)

// Server is a running weed server with one bucket (Bucket) and one
// identity (Credentials). Its methods are safe for concurrent use, but
// Stop and Restart are meant for one goroutine at a time.
type Server struct {
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

// Start launches the weed binary bin (see Find) with its data, config
// and log under dir, which it creates if needed, and returns once its S3
// gateway has stored an object and a fresh bucket exists. On an error
// no weed process is left running. The caller stops the server with
// Stop; weed is also killed when the calling process dies (Linux).
func Start(ctx context.Context, bin, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{
		bin:    bin,
		dir:    dir,
		bucket: "lvback-test-" + randomHex(4),
		creds: s3.Credentials{
			AccessKeyID:     "LVBACKTEST" + strings.ToUpper(randomHex(5)),
			SecretAccessKey: randomHex(20),
			Source:          "weed",
		},
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	begin := time.Now()
	for attempt := 1; ; attempt++ {
		p, err := freePorts()
		if err != nil {
			return nil, err
		}
		s.ports = p
		err = s.run(ctx)
		if err == nil {
			break
		}
		err = errors.Join(err, s.Stop())
		if attempt == startAttempts || !strings.Contains(s.LogTail(), "address already in use") {
			return nil, fmt.Errorf("start weed server: %w\nweed log (%s), last lines:\n%s", err, s.LogPath(), s.LogTail())
		}
	}
	s.startup = time.Since(begin)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.createBucket(ctx, s.bucket); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// URL returns the s3: URL of prefix in the server's bucket
// (s3:http://127.0.0.1:PORT/BUCKET/prefix); prefix may be "".
func (s *Server) URL(prefix string) string { return s.BucketURL(s.bucket, prefix) }

// BucketURL returns the s3: URL of prefix in bucket on the server,
// whether or not that bucket exists.
func (s *Server) BucketURL(bucket, prefix string) string {
	u := "s3:" + s.Endpoint() + "/" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u
}

// Endpoint returns the S3 gateway's address, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.ports.s3) }

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

// DataDir returns the directory weed keeps its volumes and filer store
// in.
func (s *Server) DataDir() string { return s.dataDir() }

// Stop kills the server (SIGKILL to its process group, as a crash or a
// power cut would stop it), waits until it is gone and removes the Unix
// sockets it leaves in /tmp. Stopping a stopped server does nothing. Its
// data stays for Restart.
func (s *Server) Stop() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = killGroup(p.cmd.Process)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("weed (pid %d) still running %v after SIGKILL", p.cmd.Process.Pid, stopTimeout)
	}
	return s.removeSockets()
}

// Restart stops the server if it runs and starts it again on the same
// ports and data, returning once S3 takes writes again.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	if err := s.run(ctx); err != nil {
		return fmt.Errorf("restart weed server: %w\nweed log (%s), last lines:\n%s", err, s.LogPath(), s.LogTail())
	}
	return nil
}

// run launches weed and waits until S3 takes writes.
func (s *Server) run(ctx context.Context) error {
	p, err := s.launch()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return s.waitReady(ctx, p)
}

func (s *Server) launch() (*process, error) {
	if err := os.MkdirAll(s.dataDir(), 0o700); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(s.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close() // weed has its own descriptor
	fmt.Fprintf(log, "--- weed: %s %s\n", s.bin, strings.Join(s.args(), " "))
	cmd := exec.Command(s.bin, s.args()...)
	// In its own directory, weed finds no stray master.toml or
	// security.toml from the caller's working directory, and it gets no
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
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint()+"/", nil)
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
			return fmt.Errorf("S3 on port %d did not answer: %w", s.ports.s3, ctx.Err())
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
			return fmt.Errorf("S3 on port %d answered but took no write (%w): %w", s.ports.s3, ctx.Err(), err)
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
