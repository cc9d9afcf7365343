package crypt

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// The environment variables SecretFromEnv reads.
const (
	EnvPassword     = "LVBACK_PASSWORD"
	EnvPasswordFile = "LVBACK_PASSWORD_FILE"
)

// The bounds of a key file: at least 32 random bytes, the size of the
// master key it protects; at most 1 MiB, so naming a disk by mistake
// fails at once instead of reading it whole.
const (
	minKeyFileSize = 32
	maxKeyFileSize = 1 << 20
)

type secretKind uint8

const (
	secretNone secretKind = iota
	secretPassword
	secretKeyFile
)

// Secret is what a user supplies to unlock a repository: a password,
// stretched with argon2id, or the content of a key file, used whole. The
// zero Secret unlocks nothing; Init, Open and AddKey refuse it.
type Secret struct {
	kind     secretKind
	material []byte
	argon2   Argon2Params // zero: the defaults
}

// SecretFromPassword returns the Secret of a password. It keeps its own
// copy of password. Init and Open refuse an empty one.
func SecretFromPassword(password []byte) Secret {
	return Secret{kind: secretPassword, material: append([]byte(nil), password...)}
}

// SecretFromKeyFile returns the Secret of the key file at path: every
// byte of it, at least 32 and at most 1 MiB (head -c 32 /dev/urandom
// makes one). A shorter file is refused, not padded.
func SecretFromKeyFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return Secret{}, fmt.Errorf("key file %s: %w", path, err)
	}
	switch {
	case len(b) < minKeyFileSize:
		return Secret{}, fmt.Errorf("key file %s holds %d bytes; a key file needs at least %d random bytes (head -c %d /dev/urandom makes one)",
			path, len(b), minKeyFileSize, minKeyFileSize)
	case len(b) > maxKeyFileSize:
		return Secret{}, fmt.Errorf("key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	return Secret{kind: secretKeyFile, material: b}, nil
}

// SecretFromEnv returns the password in $LVBACK_PASSWORD or in the file
// $LVBACK_PASSWORD_FILE names (its content less one trailing newline,
// "\n" or "\r\n"). Exactly one of the two must be set, and the password
// must not be empty; otherwise the error is one line naming both
// variables.
func SecretFromEnv() (Secret, error) {
	pw, pwSet := os.LookupEnv(EnvPassword)
	file, fileSet := os.LookupEnv(EnvPasswordFile)
	switch {
	case pwSet && fileSet:
		return Secret{}, fmt.Errorf("both %s and %s are set; set only one", EnvPassword, EnvPasswordFile)
	case !pwSet && !fileSet:
		return Secret{}, fmt.Errorf("no password: set %s or %s", EnvPassword, EnvPasswordFile)
	case pwSet:
		if pw == "" {
			return Secret{}, fmt.Errorf("%s is empty (use it or %s for a password)", EnvPassword, EnvPasswordFile)
		}
		return SecretFromPassword([]byte(pw)), nil
	}
	if file == "" {
		return Secret{}, fmt.Errorf("%s is empty (use it or %s for a password)", EnvPasswordFile, EnvPassword)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return Secret{}, fmt.Errorf("%s: %w", EnvPasswordFile, err)
	}
	b = trimNewline(b)
	if len(b) == 0 {
		return Secret{}, fmt.Errorf("%s: %s holds an empty password", EnvPasswordFile, file)
	}
	return Secret{kind: secretPassword, material: b}, nil
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// WithArgon2 returns s with the argon2id costs a new key object made from
// it records (Init, AddKey, ChangeKey). Open ignores them: it uses the
// costs stored in each key object. Only tests have a reason to lower them;
// a key file's Secret does not use them.
func (s Secret) WithArgon2(p Argon2Params) Secret {
	s.argon2 = p
	return s
}

// String names the kind of s ("password", "key file" or "no secret")
// and never its content, so a Secret printed by mistake leaks nothing.
func (s Secret) String() string {
	switch s.kind {
	case secretPassword:
		return "password"
	case secretKeyFile:
		return "key file"
	}
	return "no secret"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return "crypt.Secret(" + s.String() + ")" }

// params returns the argon2id costs of a new key object.
func (s Secret) params() Argon2Params {
	if s.argon2 == (Argon2Params{}) {
		return Argon2Params{Memory: defaultArgon2Memory, Time: defaultArgon2Time, Threads: defaultArgon2Threads}
	}
	return s.argon2
}

// kdf names the kdf of a key object made from s.
func (s Secret) kdf() string {
	if s.kind == secretKeyFile {
		return kdfNone
	}
	return kdfArgon2id
}

// check returns an error for a Secret that can unlock nothing.
func (s Secret) check() error {
	if s.kind == secretNone {
		return errors.New("no password or key file given")
	}
	if len(s.material) == 0 {
		return errors.New("empty password")
	}
	return nil
}
