package s3

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCredentialsEnv(t *testing.T) {
	for _, tc := range []struct {
		name                string
		id, secret, session string
		want                Credentials
		err                 string // in the error; "" for none
	}{
		{"both", "AKID", "SECRET", "", Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", Source: "environment"}, ""},
		{"with session token", "AKID", "SECRET", "TOKEN", Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN", Source: "environment"}, ""},
		{"none", "", "", "", Credentials{}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"},
		{"no secret", "AKID", "", "", Credentials{}, "AWS_SECRET_ACCESS_KEY not set"},
		{"no key id", "", "SECRET", "", Credentials{}, "AWS_ACCESS_KEY_ID not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvAccessKeyID, tc.id)
			t.Setenv(EnvSecretAccessKey, tc.secret)
			t.Setenv(EnvSessionToken, tc.session)
			got, err := LoadCredentials("")
			checkCredentials(t, got, err, tc.want, tc.err)
			if err != nil && !strings.Contains(err.Error(), "credentials_file") {
				t.Errorf("error %q does not mention the credentials file alternative", err)
			}
		})
	}
}

func TestLoadCredentialsFile(t *testing.T) {
	t.Setenv(EnvAccessKeyID, "FROM-ENV") // a file, when named, wins
	t.Setenv(EnvSecretAccessKey, "FROM-ENV")
	for _, tc := range []struct {
		name, content string
		want          Credentials
		err           string
	}{
		{"default profile", "[default]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n",
			Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, ""},
		{"other profiles, comments, spacing, case", "# comment\n[backup]\naws_access_key_id=OTHER\n\n[ default ]\n; comment\n  AWS_Access_Key_ID=AKID  \naws_secret_access_key =SECRET\naws_session_token = TOK\n[after]\naws_access_key_id = LATER\n",
			Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOK"}, ""},
		{"secret with =", "[default]\naws_access_key_id = AKID\naws_secret_access_key = ab/c+d=\n",
			Credentials{AccessKeyID: "AKID", SecretAccessKey: "ab/c+d="}, ""},
		{"no default profile", "[backup]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n", Credentials{}, "no [default] section"},
		{"no secret", "[default]\naws_access_key_id = AKID\n", Credentials{}, "[default] has no aws_secret_access_key"},
		{"empty values", "[default]\naws_access_key_id =\naws_secret_access_key =\n", Credentials{}, "has no aws_access_key_id or aws_secret_access_key"},
		{"bad line", "[default]\naws_access_key_id AKID-SECRETISH\n", Credentials{}, "line 2: not \"key = value\""},
		{"unclosed section", "[default\n", Credentials{}, "line 1: section header without ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.err == "" {
				tc.want.Source = file
			}
			got, err := LoadCredentials(file)
			checkCredentials(t, got, err, tc.want, tc.err)
			if err != nil && !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not name the file", err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q repeats the file's content", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadCredentials(filepath.Join(t.TempDir(), "nope"))
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("err = %v, want one naming the file", err)
		}
	})
}

func checkCredentials(t *testing.T, got Credentials, err error, want Credentials, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v, want one line containing %q", err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("got %#v (secret %q, token %q), %v; want %#v (secret %q, token %q)",
			got, got.SecretAccessKey, got.SessionToken, err, want, want.SecretAccessKey, want.SessionToken)
	}
}

// Printing credentials never shows the secret or the token.
func TestCredentialsString(t *testing.T) {
	c := Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN", Source: "environment"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(format, c)
		if strings.Contains(s, "SECRET") || strings.Contains(s, "TOKEN") || !strings.Contains(s, "AKID") {
			t.Errorf("Sprintf(%s) = %q", format, s)
		}
	}
}
