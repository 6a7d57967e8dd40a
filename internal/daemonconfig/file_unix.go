//go:build unix

package daemonconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// WriteFile replaces the file at path with data, atomically.
//
// A symlink at path is written through: its target is replaced and the link
// stays a link. Missing parent directories are created (0755) and a missing
// file is created with mode 0644; an existing file keeps its mode and owner.
// The bytes go to a temporary file in the same directory, which is fsynced,
// given the mode and owner, and renamed over the target; then the directory is
// fsynced. Before that, the previous bytes (if the file existed) are written
// the same way to <target>.dockeripv6.bak, whose path is returned ("" when
// there was no previous file).
//
// WriteFile writes even when data equals the current bytes (and so refreshes
// the backup); callers that want "no change, no write" compare first.
// Call it with the Lock held.
func WriteFile(path string, data []byte) (backupPath string, err error) {
	return writeFile(path, data, true)
}

// ReplaceFile is WriteFile without the backup: it puts earlier bytes back
// (a rollback), so that <target>.dockeripv6.bak keeps the last good file and
// not the one that was refused. Call it with the Lock held.
func ReplaceFile(path string, data []byte) error {
	_, err := writeFile(path, data, false)
	return err
}

func writeFile(path string, data []byte, backup bool) (backupPath string, err error) {
	target, err := ResolvePath(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(target)
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	mode := fs.FileMode(newFileMode)
	var owner *fileOwner
	fi, err := os.Stat(target)
	switch {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s is not a regular file (%s); refusing to replace it", target, fi.Mode().Type())
		}
		mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		owner = ownerOf(fi)
		if !backup {
			break
		}
		prev, err := os.ReadFile(target)
		if err != nil {
			return "", err
		}
		backupPath = target + BackupSuffix
		if err := writeAtomic(backupPath, prev, mode, owner); err != nil {
			return "", fmt.Errorf("keeping a backup of %s: %w", target, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", err
	}
	if err := writeAtomic(target, data, mode, owner); err != nil {
		return backupPath, err
	}
	return backupPath, nil
}

type fileOwner struct{ uid, gid int }

const (
	newFileMode = 0o644
	newDirMode  = 0o755
)

func ownerOf(fi fs.FileInfo) *fileOwner {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return &fileOwner{uid: int(st.Uid), gid: int(st.Gid)}
	}
	return nil
}

func sameOwner(fi fs.FileInfo, o *fileOwner) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == o.uid && int(st.Gid) == o.gid
}

// writeAtomic writes data to a temporary file beside path and renames it over path.
func writeAtomic(path string, data []byte, mode fs.FileMode, owner *fileOwner) (err error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if owner != nil {
		if fi, serr := f.Stat(); serr != nil || !sameOwner(fi, owner) {
			if err = f.Chown(owner.uid, owner.gid); err != nil {
				return fmt.Errorf("keeping the owner %d:%d of %s: %w", owner.uid, owner.gid, path, err)
			}
			// chown may clear setuid/setgid bits; set the mode again.
			if err = f.Chmod(mode); err != nil {
				return err
			}
		}
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// ensureDir creates dir and its missing parents with mode 0755 (umask aside).
func ensureDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := ensureDir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, newDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := os.Chmod(dir, newDirMode); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// Lock takes an exclusive advisory lock (flock) on <target>.dockeripv6.lock
// beside the file at path (symlinks resolved as in WriteFile, missing parent
// directories created), so that two applies cannot interleave their
// read-modify-write. It waits until the lock is free or ctx is done; give ctx
// a deadline for a timeout. Once it has the lock it writes who holds it into
// the lock file (see Holder); a Lock that gives up names that holder: its
// pid, what it is and since when. unlock releases the lock; calling it again
// does nothing. The lock is also released when the process exits.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	target, err := ResolvePath(path)
	if err != nil {
		return nil, err
	}
	if err := ensureDir(filepath.Dir(target)); err != nil {
		return nil, err
	}
	lockPath := target + LockSuffix
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	delay := 10 * time.Millisecond
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", lockPath, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			waited := time.Since(start)
			if dl, ok := ctx.Deadline(); ok && isTimeout(ctx.Err()) {
				waited = dl.Sub(start) // the wait it was given, not the scheduler's lag
			}
			return nil, &LockHeldError{Path: target, LockPath: lockPath, Holder: ReadHolder(lockPath),
				Waited: waited, Err: ctx.Err()}
		case <-t.C:
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(Holder{PID: os.Getpid(), Since: time.Now(), What: describeProcess(target)}.String()), 0)
	_ = f.Sync()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
		})
	}, nil
}

// describeProcess says what this process is, for the lock file.
func describeProcess(target string) string {
	name := filepath.Base(os.Args[0])
	if exe, err := os.Executable(); err == nil {
		name = filepath.Base(exe)
	}
	args := strings.Join(os.Args[1:], " ")
	if len(args) > 120 {
		args = args[:120] + "..."
	}
	what := name
	if args != "" {
		what += " " + args
	}
	return what + ": dockeripv6 daemon.json transaction on " + target
}
