package s3

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options tune the client behind a Store. A zero field means its
// default.
type Options struct {
	// MaxRetries is how many times one request is attempted before its
	// last error is returned. See DefaultMaxRetries.
	MaxRetries int
	// DialTimeout bounds opening a connection to the endpoint.
	DialTimeout time.Duration
	// IOTimeout fails a request when no byte has moved on its connection,
	// in either direction, for this long: a server that stopped answering
	// (or a network that drops packets) fails the attempt, which is then
	// retried, rather than hanging it forever.
	IOTimeout time.Duration
}

// The defaults of Options, with the reason for each.
//
// minio-go (executeMethod in its api.go, v7.4.1) retries a request whose
// body it can rewind (ours are all in memory) when it fails with any
// transport error (connection refused or reset, timeouts, DNS) except an
// unknown certificate authority or an HTTP answer to HTTPS; with HTTP
// status 408, 429, 499, 500, 502, 503, 504 or 520; or with S3 error code
// RequestError, RequestTimeout, InternalError, SlowDown*, Throttling*,
// RequestLimitExceeded, RequestThrottled or ExpiredToken*. Other answers
// (403, 404, 400...) are final at once. After each failed attempt it
// sleeps a random time in [0, min(1 s, 200 ms × 2^attempt)] ("full
// jitter"), and it stops early when the context ends.
const (
	// DefaultMaxRetries of 30 attempts sleep 14.2 s on average and at most
	// 28.4 s in all between them. That rides out a restart of the server:
	// SeaweedFS refuses connections for 2.5 s while it restarts, then holds
	// writes (without failing them) until its master's 15 s warm-up is
	// over (TestRestartDuringPuts). And a wrong address or a dead server
	// still fails a run within half a minute when connections are refused
	// (TestServerKilled). minio-go's own default, 10 attempts, sleeps 4.2 s
	// on average: less than a restart may take.
	DefaultMaxRetries = 30
	// DefaultDialTimeout: a reachable endpoint accepts in milliseconds;
	// 10 s allows for a slow DNS answer and a congested link.
	DefaultDialTimeout = 10 * time.Second
	// DefaultIOTimeout: a minute without a byte moving means the server or
	// the path to it is gone. S3 answers a PUT only after storing it,
	// which takes well under a second for the objects we write (at most
	// some MiB), and SeaweedFS holds writes for up to 15 s after a
	// restart; rclone's default for the same timeout is 5 minutes. The
	// worst case it leaves is a server that accepts connections and then
	// says nothing: every attempt waits the full minute, 30 minutes in
	// all, unless the caller's context ends sooner.
	DefaultIOTimeout = time.Minute
)

func (o Options) withDefaults() Options {
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.IOTimeout <= 0 {
		o.IOTimeout = DefaultIOTimeout
	}
	return o
}

// newClient returns a minio client for u's endpoint.
func newClient(u URL, c Credentials, o Options) (*minio.Client, error) {
	o = o.withDefaults()
	tr, err := minio.DefaultTransport(u.Secure)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 15 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &timeoutConn{Conn: conn, timeout: o.IOTimeout}, nil
	}
	tr.ResponseHeaderTimeout = o.IOTimeout
	// Close idle connections before their I/O deadline could fire under a
	// request that reuses them.
	tr.IdleConnTimeout = o.IOTimeout / 2
	cl, err := minio.New(u.Host, &minio.Options{
		Creds:      credentials.NewStaticV4(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		Secure:     u.Secure,
		Transport:  tr,
		MaxRetries: o.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return cl, nil
}

// timeoutConn fails a Read or Write that makes no progress for timeout.
// Each call moves the deadline of both directions timeout ahead, so a
// request written on a connection also extends the wait for its answer.
// rclone's fshttp guards its connections the same way.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *timeoutConn) Read(b []byte) (int, error) {
	if err := c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *timeoutConn) Write(b []byte) (int, error) {
	if err := c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// authCodes are the S3 error codes that mean the credentials are wrong
// or lack a permission.
var authCodes = map[string]bool{
	"AccessDenied":          true,
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"InvalidToken":          true,
	"ExpiredToken":          true,
}

// explain adds to an error the server refused for the credentials which
// credentials were used.
func explain(err error, c Credentials) error {
	if authCodes[minio.ToErrorResponse(err).Code] {
		return fmt.Errorf("%w (check the credentials: %s)", err, c)
	}
	return err
}

// CreateBucket creates u's bucket when it does not exist yet. Open never
// creates one: a mistyped bucket name must fail, not start an empty
// repository. It is for lvback init and tests.
func CreateBucket(ctx context.Context, u URL, c Credentials) error {
	cl, err := newClient(u, c, Options{})
	if err != nil {
		return err
	}
	err = cl.MakeBucket(ctx, u.Bucket, minio.MakeBucketOptions{})
	if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	if ok, e := cl.BucketExists(ctx, u.Bucket); e == nil && ok {
		return nil
	}
	return fmt.Errorf("%s: create bucket %s: %w", u, u.Bucket, explain(err, c))
}
