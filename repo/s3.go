package repo

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/s3"
)

// ErrRemoteSetup reports a remote repository location or credentials
// that cannot work (a bad URL, missing keys): the caller's input.
var ErrRemoteSetup = errors.New("remote repository setup")

// parseRemote parses a remote repository location.
func parseRemote(location string) (s3.URL, error) {
	u, err := s3.ParseURL(location)
	if err != nil {
		return u, fmt.Errorf("repository %q: %w: %w", location, ErrRemoteSetup, err)
	}
	return u, nil
}

// CredentialsFileEnv names the variable holding an AWS shared-credentials
// file (the AWS tools' own name); the config's credentials_file sets it.
const CredentialsFileEnv = "AWS_SHARED_CREDENTIALS_FILE"

// connect opens the objstore of a remote location; with create, a
// missing bucket is created.
func connect(ctx context.Context, location string, create bool) (objstore.Store, error) {
	u, err := parseRemote(location)
	if err != nil {
		return nil, err
	}
	file := ""
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		file = os.Getenv(CredentialsFileEnv)
	}
	c, err := s3.LoadCredentials(file)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w: %w", location, ErrRemoteSetup, err)
	}
	if create {
		if err := s3.CreateBucket(ctx, u, c); err != nil {
			return nil, fmt.Errorf("repository %s: %w", location, err)
		}
	}
	return s3.Open(ctx, u, c)
}
