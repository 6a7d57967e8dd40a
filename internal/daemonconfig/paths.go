package daemonconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the files kept beside daemon.json (beside the symlink's target
// when daemon.json is a symlink).
const (
	// BackupSuffix: WriteFile copies the previous bytes to <target>.dockeripv6.bak
	// (same mode and owner as the target) before it replaces the target.
	BackupSuffix = ".dockeripv6.bak"
	// LockSuffix: Lock takes an flock on <target>.dockeripv6.lock. The file
	// stays after unlock (removing it would race with a waiting locker); it
	// holds the pid of the last holder.
	LockSuffix = ".dockeripv6.lock"
)

// ResolvePath follows symlinks in the last element of path until it names a
// file that is not a symlink, or does not exist (a dangling link resolves to
// the path it points to). The directories on the way are not resolved.
func ResolvePath(path string) (string, error) {
	p := filepath.Clean(path)
	for range 40 {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = filepath.Clean(link)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}
