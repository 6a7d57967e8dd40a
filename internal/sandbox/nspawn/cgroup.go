package nspawn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroup is the run's cgroup in one hierarchy: nspawn (and so the whole
// container) runs in it, and it is removed afterwards.
type cgroup struct {
	mount    string // hierarchy mount point, e.g. /sys/fs/cgroup/unified
	path     string // mount + "/" + name
	original string // this process's cgroup in the hierarchy before, relative to mount
	v2       bool
}

const cgroupPrefix = "dockeripv6-nspawn-"

// hierarchies are the cgroup hierarchies nspawn uses: the unified (cgroup2)
// one, and on a v1 hybrid host also systemd's named hierarchy.
func hierarchies() (v2 string, named string) {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "/sys/fs/cgroup", ""
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		v2 = "/sys/fs/cgroup/unified"
	}
	if unix.Statfs("/sys/fs/cgroup/systemd", &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
		named = "/sys/fs/cgroup/systemd"
	}
	return v2, named
}

// ownCgroups reads /proc/self/cgroup: the unified path and the name=systemd path.
func ownCgroups() (v2, named string, err error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case parts[1] == "name=systemd":
			named = parts[2]
		}
	}
	return v2, named, sc.Err()
}

// makeCgroups creates name in each hierarchy and moves this process into it.
func makeCgroups(name string) ([]cgroup, error) {
	v2m, namedm := hierarchies()
	if v2m == "" {
		return nil, errors.New("no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified (systemd in the container needs one)")
	}
	v2o, namedo, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	var cgs []cgroup
	add := func(mount, original string, v2 bool) error {
		cg := cgroup{mount: mount, path: filepath.Join(mount, name), original: original, v2: v2}
		if err := os.Mkdir(cg.path, 0o755); err != nil {
			return err
		}
		cgs = append(cgs, cg)
		return os.WriteFile(filepath.Join(cg.path, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err := add(v2m, v2o, true); err != nil {
		return cgs, fmt.Errorf("cgroup %s: %w", name, err)
	}
	if namedm != "" {
		if err := add(namedm, namedo, false); err != nil {
			return cgs, fmt.Errorf("cgroup %s (name=systemd): %w", name, err)
		}
	}
	return cgs, nil
}

// removeCgroups moves this process back where it was, kills what is left
// in the cgroups and removes them, children first.
func removeCgroups(cgs []cgroup) error {
	var errs []error
	for _, cg := range cgs {
		back := filepath.Join(cg.mount, cg.original)
		if err := os.WriteFile(filepath.Join(back, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			// The original may be gone or not writable; the root always is.
			if err2 := os.WriteFile(filepath.Join(cg.mount, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err2 != nil {
				errs = append(errs, fmt.Errorf("leave cgroup %s: %v; %v", cg.path, err, err2))
			}
		}
	}
	for _, cg := range cgs {
		if err := removeCgroupTree(cg.path, cg.v2); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree kills every process in the tree at path and removes it.
func removeCgroupTree(path string, v2 bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if v2 {
			_ = os.WriteFile(filepath.Join(path, "cgroup.kill"), []byte("1"), 0o644)
		} else {
			killTasks(path)
		}
		err := rmdirTree(path)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rmdirTree rmdirs the cgroup directories below path, then path.
func rmdirTree(path string) error {
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(path, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := unix.Rmdir(path); err != nil && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, fmt.Errorf("rmdir %s: %w", path, err))
	}
	return errors.Join(errs...)
}

// killTasks SIGKILLs every process in a v1 cgroup tree.
func killTasks(path string) {
	_ = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		return nil
	})
}

// sweepStaleCgroups removes the cgroups of earlier runs whose process is gone.
func sweepStaleCgroups(w io.Writer) {
	v2m, namedm := hierarchies()
	for _, m := range []string{v2m, namedm} {
		if m == "" {
			continue
		}
		dirs, _ := filepath.Glob(filepath.Join(m, cgroupPrefix+"*"))
		for _, d := range dirs {
			pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), cgroupPrefix))
			if err != nil || pid == os.Getpid() {
				continue
			}
			if unix.Kill(pid, 0) == nil {
				continue // its run is alive
			}
			if err := removeCgroupTree(d, m == v2m); err != nil {
				fmt.Fprintf(w, "dockeripv6-sandbox: stale cgroup %s: %v\n", d, err)
			} else {
				fmt.Fprintf(w, "dockeripv6-sandbox: removed stale cgroup %s\n", d)
			}
		}
	}
}
