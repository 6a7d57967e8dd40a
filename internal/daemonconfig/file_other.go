//go:build !unix

package daemonconfig

import (
	"context"
	"errors"
)

var errUnsupportedOS = errors.New("writing daemon.json is supported on Unix systems only")

// WriteFile is not supported on this system.
func WriteFile(path string, data []byte) (backupPath string, err error) {
	return "", errUnsupportedOS
}

// Lock is not supported on this system.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	return nil, errUnsupportedOS
}

// ReplaceFile is not supported on this system.
func ReplaceFile(path string, data []byte) error { return errUnsupportedOS }
