package crypt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvback/lvback/objstore/crypt"
)

// setEnv sets (value non-nil) or unsets each variable for the test.
func setEnv(t *testing.T, vars map[string]*string) {
	for k, v := range vars {
		t.Setenv(k, "") // restores the old value when the test ends
		if v == nil {
			os.Unsetenv(k)
		} else {
			t.Setenv(k, *v)
		}
	}
}

func ptr(s string) *string { return &s }

// SecretFromEnv takes the password from exactly one of the two variables;
// a password file loses one trailing newline and nothing else.
func TestSecretFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) *string {
		p := filepath.Join(dir, strings.NewReplacer("\n", "N", "\r", "R", " ", "S").Replace(content)+".pw")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	for name, tc := range map[string]struct {
		pw, file *string
		opens    string // the password that must open the repository made from the Secret
		errHas   []string
	}{
		"password":                  {pw: ptr("s3cret"), opens: "s3cret"},
		"password with newline":     {pw: ptr("s3cret\n"), opens: "s3cret\n"},
		"file":                      {file: file("s3cret"), opens: "s3cret"},
		"file with newline":         {file: file("s3cret\n"), opens: "s3cret"},
		"file with CRLF":            {file: file("s3cret\r\n"), opens: "s3cret"},
		"file with two newlines":    {file: file("s3cret\n\n"), opens: "s3cret\n"},
		"file with trailing spaces": {file: file("s3cret  \n"), opens: "s3cret  "},
		"both":                      {pw: ptr("a"), file: file("b"), errHas: []string{"both", "LVBACK_PASSWORD ", "LVBACK_PASSWORD_FILE"}},
		"neither":                   {errHas: []string{"LVBACK_PASSWORD ", "LVBACK_PASSWORD_FILE"}},
		"empty password":            {pw: ptr(""), errHas: []string{"LVBACK_PASSWORD is empty"}},
		"empty file name":           {file: ptr(""), errHas: []string{"LVBACK_PASSWORD_FILE is empty"}},
		"missing file":              {file: ptr(filepath.Join(dir, "missing")), errHas: []string{"LVBACK_PASSWORD_FILE", "missing"}},
		"file of a newline":         {file: file("\n"), errHas: []string{"empty password"}},
	} {
		t.Run(name, func(t *testing.T) {
			setEnv(t, map[string]*string{crypt.EnvPassword: tc.pw, crypt.EnvPasswordFile: tc.file})
			s, err := crypt.SecretFromEnv()
			if tc.errHas != nil {
				if err == nil {
					t.Fatal("SecretFromEnv succeeded")
				}
				for _, w := range tc.errHas {
					if !strings.Contains(err.Error()+" ", w) || strings.Contains(err.Error(), "\n") {
						t.Errorf("error %q does not name %q on one line", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			_, d, _ := initStore(t, s.WithArgon2(fast))
			if _, err := crypt.Open(ctx, d, password(tc.opens)); err != nil {
				t.Errorf("password %q does not open what the Secret made: %v", tc.opens, err)
			}
			if _, err := crypt.Open(ctx, d, password(tc.opens+"x")); !errors.Is(err, crypt.ErrWrongKey) {
				t.Errorf("password %q opens too: %v", tc.opens+"x", err)
			}
		})
	}
}

// A Secret printed by mistake shows its kind, never the password.
func TestSecretDoesNotPrint(t *testing.T) {
	s := crypt.SecretFromPassword([]byte("hunter2"))
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "hunter2") || strings.Contains(out, "104") {
			t.Errorf("%s of a Secret prints %q", f, out)
		}
	}
}
