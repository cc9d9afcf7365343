package s3

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// URL locates a store: an S3 endpoint, a bucket on it and a key prefix
// inside the bucket. Its text form is restic's:
//
//	url    = "s3:" ("http" | "https") "://" host [":" port] "/" bucket ["/" prefix] ["/"]
//	prefix = component *("/" component)
//
// A bucket follows S3's naming rules (3 to 63 of a-z, 0-9, '.' and '-',
// starting and ending with a letter or digit, no "..", not an IPv4
// address). A prefix component is made of ASCII letters, digits and
// "-_.~+=,@" and does not start with '.', so a prefix never needs
// percent-encoding and never contains "." or "..".
type URL struct {
	Secure bool   // https rather than http
	Host   string // host name or IP address, with ":port" when one was given
	Bucket string
	Prefix string // "" or components joined by "/", no leading or trailing slash
}

// String returns the URL in the form ParseURL accepts; parsing it gives
// back the same URL.
func (u URL) String() string {
	scheme := "http"
	if u.Secure {
		scheme = "https"
	}
	s := "s3:" + scheme + "://" + u.Host + "/" + u.Bucket
	if u.Prefix != "" {
		s += "/" + u.Prefix
	}
	return s
}

// key returns the object key of name below the URL's prefix.
func (u URL) key(name string) string {
	if u.Prefix == "" {
		return name
	}
	return u.Prefix + "/" + name
}

// ParseURL parses s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]. Trailing
// slashes are ignored. It refuses anything else with a one-line error
// naming the problem; the error never repeats credentials written into
// the URL.
func ParseURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, "s3:")
	if !ok {
		return URL{}, fmt.Errorf("s3 URL %q: must start with s3:http:// or s3:https://", s)
	}
	scheme, after, ok := strings.Cut(rest, "://")
	var u URL
	switch {
	case !ok:
		return URL{}, fmt.Errorf("s3 URL %q: must start with s3:http:// or s3:https://", s)
	case scheme == "https":
		u.Secure = true
	case scheme != "http":
		return URL{}, fmt.Errorf("s3 URL %q: scheme %q is not http or https", s, scheme)
	}
	authority, _, _ := strings.Cut(after, "/")
	if strings.Contains(authority, "@") {
		// Never echo the URL: the part before '@' may hold a secret.
		return URL{}, errors.New("s3 URL: user or password in the URL is not accepted; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a credentials file")
	}
	if strings.ContainsAny(after, "?#") {
		return URL{}, fmt.Errorf("s3 URL %q: query strings and fragments are not accepted", s)
	}
	if strings.Contains(after, "%") {
		return URL{}, fmt.Errorf("s3 URL %q: percent-encoding is not accepted", s)
	}
	p, err := url.Parse(scheme + "://" + after)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return URL{}, fmt.Errorf("s3 URL %q: %w", s, err)
	}
	if err := checkHost(p); err != nil {
		return URL{}, fmt.Errorf("s3 URL %q: %w", s, err)
	}
	u.Host = p.Host
	path := strings.TrimRight(strings.TrimPrefix(p.Path, "/"), "/")
	bucket, prefix, _ := strings.Cut(path, "/")
	if bucket == "" {
		return URL{}, fmt.Errorf("s3 URL %q: no bucket; the form is s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]", s)
	}
	if err := checkBucket(bucket); err != nil {
		return URL{}, fmt.Errorf("s3 URL %q: %w", s, err)
	}
	if prefix != "" {
		if err := checkPrefix(prefix); err != nil {
			return URL{}, fmt.Errorf("s3 URL %q: %w", s, err)
		}
	}
	u.Bucket, u.Prefix = bucket, prefix
	return u, nil
}

// checkHost accepts a DNS name or an IP address (IPv6 in brackets) and
// an optional decimal port in 1..65535.
func checkHost(p *url.URL) error {
	host := p.Hostname()
	if host == "" {
		return errors.New("no host")
	}
	if strings.HasPrefix(p.Host, "[") {
		if net.ParseIP(host) == nil {
			return fmt.Errorf("invalid IPv6 address %q", host)
		}
	} else {
		for _, c := range host {
			if !isAlnum(c) && c != '.' && c != '-' {
				return fmt.Errorf("invalid host name %q", host)
			}
		}
	}
	if strings.HasSuffix(p.Host, ":") {
		return errors.New("empty port")
	}
	if port := p.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("invalid port %q", port)
		}
	}
	return nil
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("invalid bucket name %q: must be 3 to 63 characters long", b)
	}
	for _, c := range b {
		if !isLowerAlnum(c) && c != '.' && c != '-' {
			return fmt.Errorf("invalid bucket name %q: only a-z, 0-9, '.' and '-' are allowed", b)
		}
	}
	if !isLowerAlnum(rune(b[0])) || !isLowerAlnum(rune(b[len(b)-1])) {
		return fmt.Errorf("invalid bucket name %q: must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("invalid bucket name %q: contains \"..\"", b)
	}
	if ip := net.ParseIP(b); ip != nil {
		return fmt.Errorf("invalid bucket name %q: looks like an IP address", b)
	}
	return nil
}

// checkPrefix accepts components of letters, digits and "-_.~+=,@" that
// do not start with '.'.
func checkPrefix(prefix string) error {
	for c := range strings.SplitSeq(prefix, "/") {
		switch {
		case c == "":
			return fmt.Errorf("invalid prefix %q: empty component", prefix)
		case c == "." || c == "..":
			return fmt.Errorf("invalid prefix %q: %q component", prefix, c)
		case c[0] == '.':
			return fmt.Errorf("invalid prefix %q: component %q starts with '.'", prefix, c)
		}
		for _, r := range c {
			if !isAlnum(r) && !strings.ContainsRune("-_.~+=,@", r) {
				return fmt.Errorf("invalid prefix %q: character %q is not allowed", prefix, r)
			}
		}
	}
	return nil
}

func isLowerAlnum(c rune) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c rune) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
