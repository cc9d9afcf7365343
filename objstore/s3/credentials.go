package s3

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// The environment variables LoadCredentials reads, the names the AWS
// tools use.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
)

// Credentials sign requests to an S3 endpoint. String never shows the
// secret or the session token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // only for temporary credentials
	Source          string // where they were read, for messages: "environment" or a file name
}

// String names the access key and where it came from, never the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("access key %s from %s", c.AccessKeyID, c.Source)
}

// GoString is String, so that %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// LoadCredentials reads the credentials from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional
// AWS_SESSION_TOKEN) when file is "", else from the [default] profile of
// file, a credentials file in the AWS shared-credentials format:
//
//	[default]
//	aws_access_key_id = AKIA...
//	aws_secret_access_key = ...
//	aws_session_token = ...   (optional)
//
// A missing credential is a one-line error saying what to set.
func LoadCredentials(file string) (Credentials, error) {
	if file == "" {
		return envCredentials()
	}
	return fileCredentials(file)
}

func envCredentials() (Credentials, error) {
	c := Credentials{
		AccessKeyID:     os.Getenv(EnvAccessKeyID),
		SecretAccessKey: os.Getenv(EnvSecretAccessKey),
		SessionToken:    os.Getenv(EnvSessionToken),
		Source:          "environment",
	}
	var missing []string
	if c.AccessKeyID == "" {
		missing = append(missing, EnvAccessKeyID)
	}
	if c.SecretAccessKey == "" {
		missing = append(missing, EnvSecretAccessKey)
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("s3 credentials: %s not set; set %s and %s (and %s for temporary credentials), or name a credentials_file in the config",
			strings.Join(missing, " and "), EnvAccessKeyID, EnvSecretAccessKey, EnvSessionToken)
	}
	return c, nil
}

// profile is the section of a credentials file LoadCredentials reads.
const profile = "default"

func fileCredentials(file string) (Credentials, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Credentials{}, fmt.Errorf("s3 credentials: %w", err)
	}
	keys, err := parseProfile(data, profile)
	if err != nil {
		return Credentials{}, fmt.Errorf("s3 credentials file %s: %w", file, err)
	}
	c := Credentials{
		AccessKeyID:     keys["aws_access_key_id"],
		SecretAccessKey: keys["aws_secret_access_key"],
		SessionToken:    keys["aws_session_token"],
		Source:          file,
	}
	var missing []string
	if c.AccessKeyID == "" {
		missing = append(missing, "aws_access_key_id")
	}
	if c.SecretAccessKey == "" {
		missing = append(missing, "aws_secret_access_key")
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("s3 credentials file %s: [%s] has no %s; set aws_access_key_id and aws_secret_access_key there",
			file, profile, strings.Join(missing, " or "))
	}
	return c, nil
}

// parseProfile returns the keys (lower-cased) and values of section name
// in an INI file. Comment lines start with '#' or ';'. Errors never quote
// a line: it may hold a secret.
func parseProfile(data []byte, name string) (map[string]string, error) {
	var (
		keys    map[string]string
		section string
		lineNo  int
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: section header without ']'", lineNo)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if section == name && keys == nil {
				keys = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: not \"key = value\"", lineNo)
		}
		if section == name {
			keys[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("no [%s] section", name)
	}
	return keys, nil
}
