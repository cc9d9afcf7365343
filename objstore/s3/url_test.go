package s3

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     URL
		canon    string // String() of the result; "" means in
	}{
		{"http with port", "s3:http://127.0.0.1:8333/bucket", URL{Host: "127.0.0.1:8333", Bucket: "bucket"}, ""},
		{"https without port", "s3:https://s3.example.com/my.bucket-1/repo", URL{Secure: true, Host: "s3.example.com", Bucket: "my.bucket-1", Prefix: "repo"}, ""},
		{"deep prefix", "s3:http://h:9000/bkt/a/b_c/d-e.f~g", URL{Host: "h:9000", Bucket: "bkt", Prefix: "a/b_c/d-e.f~g"}, ""},
		{"trailing slash after bucket", "s3:http://h/bkt/", URL{Host: "h", Bucket: "bkt"}, "s3:http://h/bkt"},
		{"trailing slashes after prefix", "s3:http://h/bkt/p/q//", URL{Host: "h", Bucket: "bkt", Prefix: "p/q"}, "s3:http://h/bkt/p/q"},
		{"IPv6", "s3:http://[::1]:9000/bkt/p", URL{Host: "[::1]:9000", Bucket: "bkt", Prefix: "p"}, ""},
		{"upper-case host kept", "s3:https://S3.Example.COM/bkt", URL{Secure: true, Host: "S3.Example.COM", Bucket: "bkt"}, ""},
		{"63-character bucket", "s3:http://h/" + strings.Repeat("a", 63), URL{Host: "h", Bucket: strings.Repeat("a", 63)}, ""},
		{"prefix with = , @ +", "s3:http://h/bkt/host=a,b@c+d", URL{Host: "h", Bucket: "bkt", Prefix: "host=a,b@c+d"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			if got.String() != canon {
				t.Errorf("String() = %q, want %q", got.String(), canon)
			}
		})
	}
}

func TestParseURLRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // in the error
	}{
		{"no s3: scheme", "http://h/bkt", "must start with s3:http:// or s3:https://"},
		{"restic's scheme-less form", "s3:s3.amazonaws.com/bkt", "must start with s3:http:// or s3:https://"},
		{"empty", "", "must start with"},
		{"other scheme", "s3:ftp://h/bkt", `scheme "ftp" is not http or https`},
		{"upper-case scheme", "s3:HTTP://h/bkt", `scheme "HTTP"`},
		{"no bucket", "s3:http://h", "no bucket"},
		{"slash but no bucket", "s3:http://h/", "no bucket"},
		{"empty bucket before prefix", "s3:http://h//p", "no bucket"},
		{"no host", "s3:http:///bkt", "no host"},
		{"short bucket", "s3:http://h/ab", "invalid bucket name \"ab\": must be 3 to 63"},
		{"long bucket", "s3:http://h/" + strings.Repeat("a", 64), "must be 3 to 63"},
		{"upper-case bucket", "s3:http://h/Bucket", "only a-z, 0-9"},
		{"underscore in bucket", "s3:http://h/my_bucket", "only a-z, 0-9"},
		{"bucket ends with dash", "s3:http://h/bucket-", "start and end with a letter or digit"},
		{"bucket with ..", "s3:http://h/a..b", `contains ".."`},
		{"IP bucket", "s3:http://h/192.168.1.1", "IP address"},
		{"dot-dot prefix", "s3:http://h/bkt/a/../b", `".." component`},
		{"dot prefix", "s3:http://h/bkt/./b", `"." component`},
		{"hidden component", "s3:http://h/bkt/.git", "starts with '.'"},
		{"empty component", "s3:http://h/bkt/a//b", "empty component"},
		{"space in prefix", "s3:http://h/bkt/a b", "character ' ' is not allowed"},
		{"backslash in prefix", `s3:http://h/bkt/a\b`, `character '\\' is not allowed`},
		{"query", "s3:http://h/bkt?region=x", "query strings"},
		{"empty query", "s3:http://h/bkt?", "query strings"},
		{"fragment", "s3:http://h/bkt#x", "fragments"},
		{"percent-encoding", "s3:http://h/bkt/a%2Fb", "percent-encoding"},
		{"userinfo", "s3:http://key:secret@h/bkt", "user or password in the URL"},
		{"user only", "s3:http://key@h/bkt", "user or password in the URL"},
		{"bad port", "s3:http://h:port/bkt", "port"},
		{"port zero", "s3:http://h:0/bkt", `invalid port "0"`},
		{"port too big", "s3:http://h:65536/bkt", `invalid port "65536"`},
		{"empty port", "s3:http://h:/bkt", "empty port"},
		{"underscore in host", "s3:http://my_host/bkt", "invalid host name"},
		{"IPv4 in brackets", "s3:http://[1.2.3.4]/bkt", "invalid IP-literal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseURL(tc.in)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %+v, want an error containing %q", tc.in, u, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("ParseURL(%q): error %q, want one line containing %q", tc.in, msg, tc.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("ParseURL(%q): error %q repeats the secret", tc.in, msg)
			}
		})
	}
}

// FuzzParseURL checks that ParseURL never panics, that what it accepts
// prints back to a URL it parses to the same value, and that an
// accepted prefix never holds "." or ".." components.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3:http://127.0.0.1:8333/bucket", "s3:https://s3.example.com/b.k-t/a/b/", "s3:http://[::1]:9000/bkt/p",
		"s3:http://h/bkt/../x", "s3:http://u:p@h/bkt", "s3:http://h/bkt?x", "s3:ftp://h/b", "s3:http://h:0/b",
		"s3:http://h/bkt/a%2Fb", "s3:http://[fe80::1%25eth0]/bkt", "s3:http://h//", "s3:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseURL(%q): error of several lines: %q", s, err)
			}
			return
		}
		again, err := ParseURL(u.String())
		if err != nil || again != u {
			t.Fatalf("ParseURL(%q) = %+v, whose String %q parses to %+v, %v", s, u, u.String(), again, err)
		}
		for c := range strings.SplitSeq(u.Prefix, "/") {
			if u.Prefix != "" && (c == "" || c == "." || c == "..") {
				t.Fatalf("ParseURL(%q) accepted prefix %q", s, u.Prefix)
			}
		}
		if u.Bucket == "" || u.Host == "" {
			t.Fatalf("ParseURL(%q) = %+v: empty bucket or host", s, u)
		}
	})
}
