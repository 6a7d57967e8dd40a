package daemonconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Names of the files kept beside daemon.json (beside the symlink's target
// when daemon.json is a symlink).
const (
	// BackupSuffix: WriteFile copies the previous bytes to <target>.dockeripv6.bak
	// (same mode and owner as the target) before it replaces the target.
	BackupSuffix = ".dockeripv6.bak"
	// LockSuffix: Lock takes an flock on <target>.dockeripv6.lock. The file
	// stays after unlock (removing it would race with a waiting locker); it
	// holds who took it last (see Holder).
	LockSuffix = ".dockeripv6.lock"
)

// ResolvePath is the file the kernel opens for path: every symlink on the
// way is followed, in the directories as in the last element, and a relative
// link is read from the directory that really holds it (so a link
// "../conf/daemon.json" inside a symlinked /etc/docker means what dockerd
// reads, not what the words say). Missing elements are kept as they are (a
// dangling link resolves to the path it points to, which WriteFile creates).
func ResolvePath(path string) (string, error) {
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", err
		}
		path = abs
	}
	resolved := "/"
	rest := splitPath(path)
	links := 0
	for len(rest) > 0 {
		elem := rest[0]
		rest = rest[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, elem)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Nothing further exists, so nothing further is a link.
			return filepath.Join(append([]string{next}, rest...)...), nil
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink == 0:
			resolved = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", path)
		}
		link, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(link) {
			resolved = "/"
		}
		rest = append(splitPath(link), rest...)
	}
	return resolved, nil
}

func splitPath(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}

// Holder is who holds daemon.json's lock, as written into the lock file:
//
//	pid 4242
//	since 2026-12-07T20:31:07Z
//	what terraform-provider-dockeripv6 agent: dockeripv6 daemon.json transaction on /etc/docker/daemon.json
//
// An older lock file holds the pid alone.
type Holder struct {
	PID   int
	Since time.Time
	What  string
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d\nsince %s\nwhat %s\n", h.PID, h.Since.UTC().Format(time.RFC3339), strings.ReplaceAll(h.What, "\n", " "))
}

// ParseHolder reads a lock file's content; a zero PID when it names nobody.
func ParseHolder(b []byte) Holder {
	var h Holder
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "since":
			h.Since, _ = time.Parse(time.RFC3339, v)
		case "what":
			h.What = v
		default:
			if pid, err := strconv.Atoi(k); err == nil && v == "" && h.PID == 0 {
				h.PID = pid // the old format: the pid alone
			}
		}
	}
	if h.PID < 0 {
		h.PID = 0
	}
	return h
}

// ReadHolder reads the holder written into a lock file (zero when unknown).
func ReadHolder(lockPath string) Holder {
	b, err := os.ReadFile(lockPath)
	if err != nil {
		return Holder{}
	}
	return ParseHolder(b)
}

// LockHeldError: daemon.json's lock stayed held for as long as Lock waited.
type LockHeldError struct {
	Path, LockPath string
	Holder         Holder
	Waited         time.Duration
	Err            error // the context's error
}

func (e *LockHeldError) Error() string {
	who := "another process"
	if e.Holder.PID > 0 {
		who = "process " + strconv.Itoa(e.Holder.PID)
		if e.Holder.What != "" {
			who += " (" + e.Holder.What + ")"
		}
	}
	since := ""
	if !e.Holder.Since.IsZero() {
		since = fmt.Sprintf(" since %s (%s ago)", e.Holder.Since.UTC().Format(time.RFC3339), time.Since(e.Holder.Since).Round(time.Second))
	}
	check := "wait for it to finish, or find it with `fuser " + e.LockPath + "`"
	if e.Holder.PID > 0 {
		check = fmt.Sprintf("wait for it to finish, or look at it (`ps -o pid,etime,args -p %d`) and end it if it is stuck", e.Holder.PID)
	}
	return fmt.Sprintf("%s is being changed by %s, which has held the lock %s%s; gave up after waiting %s (%v): %s. The lock is released when that process finishes or exits",
		e.Path, who, e.LockPath, since, roundBound(e.Waited), e.Err, check)
}

// Unwrap is the context's error (context.DeadlineExceeded for a timeout).
func (e *LockHeldError) Unwrap() error { return e.Err }

// Bound is how long Lock waited: the error says it itself.
func (e *LockHeldError) Bound() time.Duration { return e.Waited }
