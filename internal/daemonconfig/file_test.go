//go:build unix

package daemonconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFileCreates(t *testing.T) {
	old := syscall.Umask(0o077) // WriteFile must not depend on the umask
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "docker", "daemon.json")
	backup, err := WriteFile(path, []byte("{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if backup != "" {
		t.Fatalf("backup %q for a new file", backup)
	}
	if got := readFile(t, path); got != "{}\n" {
		t.Fatalf("content %q", got)
	}
	if m := mode(t, path); m != 0o644 {
		t.Fatalf("file mode %o, want 644", m)
	}
	for _, d := range []string{filepath.Join(dir, "etc"), filepath.Join(dir, "etc", "docker")} {
		if m := mode(t, d); m != 0o755 {
			t.Fatalf("dir %s mode %o, want 755", d, m)
		}
	}
	if _, err := os.Stat(path + BackupSuffix); !os.IsNotExist(err) {
		t.Fatalf("backup exists for a new file: %v", err)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestWriteFileReplacesKeepingModeAndBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(path, []byte("{\"old\": true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	// a group other than ours, to see the owner kept (we run as root here;
	// as another user, chown to our own group is all that is allowed)
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 4242
	}
	if err := os.Chown(path, os.Getuid(), gid); err != nil {
		t.Fatal(err)
	}
	backup, err := WriteFile(path, []byte("{\"new\": true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if backup != path+".dockeripv6.bak" {
		t.Fatalf("backup path %q", backup)
	}
	if got := readFile(t, backup); got != "{\"old\": true}\n" {
		t.Fatalf("backup content %q", got)
	}
	if got := readFile(t, path); got != "{\"new\": true}\n" {
		t.Fatalf("content %q", got)
	}
	if m := mode(t, path); m != 0o640 {
		t.Fatalf("mode %o, want 640 (kept)", m)
	}
	if m := mode(t, backup); m != 0o640 {
		t.Fatalf("backup mode %o, want 640", m)
	}
	fi, _ := os.Stat(path)
	if st := fi.Sys().(*syscall.Stat_t); int(st.Gid) != gid {
		t.Fatalf("gid %d, want %d (kept)", st.Gid, gid)
	}
	// a second write moves the backup on
	if _, err := WriteFile(path, []byte("{\"third\": true}\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, backup); got != "{\"new\": true}\n" {
		t.Fatalf("backup content after second write %q", got)
	}
	assertNoTempFiles(t, dir)
}

func TestWriteFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real", "daemon.json")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "daemon.json")
	if err := os.Symlink("real/daemon.json", link); err != nil { // relative link
		t.Fatal(err)
	}
	link2 := filepath.Join(dir, "link2.json")
	if err := os.Symlink(link, link2); err != nil { // a link to the link
		t.Fatal(err)
	}
	backup, err := WriteFile(link2, []byte("{\"ipv6\": true}"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, link2} {
		fi, err := os.Lstat(l)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink: %v", l, err)
		}
	}
	if got := readFile(t, target); got != "{\"ipv6\": true}" {
		t.Fatalf("target content %q", got)
	}
	if backup != target+BackupSuffix || readFile(t, backup) != "{}" {
		t.Fatalf("backup %q beside the target, content %q", backup, readFile(t, backup))
	}

	// a dangling link: the target is created
	dangling := filepath.Join(dir, "dangling.json")
	if err := os.Symlink(filepath.Join(dir, "made", "it.json"), dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(dangling, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "made", "it.json")); got != "{}" {
		t.Fatalf("dangling target content %q", got)
	}
	if fi, _ := os.Lstat(dangling); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("dangling link replaced by a file")
	}

	// a loop is an error, not a hang
	loop := filepath.Join(dir, "loop.json")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(loop, []byte("{}")); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Fatalf("loop: err = %v", err)
	}
}

func TestWriteFileRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteFile(dir, []byte("{}")); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "docker", "daemon.json")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	lockPath := path + LockSuffix
	if got := ReadHolder(lockPath); got.PID != os.Getpid() || time.Since(got.Since) > time.Minute ||
		!strings.Contains(got.What, "daemon.json transaction on "+path) {
		t.Fatalf("lock file holds %+v (%q), want our pid, the time and what we are", got, readFile(t, lockPath))
	}

	// a second locker times out with a clear error
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Lock(ctx, path)
	if err == nil {
		t.Fatal("second Lock succeeded while the first is held")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), lockPath) ||
		!strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("error %q", err)
	}
	if time.Since(start) < 140*time.Millisecond {
		t.Fatal("second Lock gave up before its deadline")
	}

	// a waiting locker gets the lock once the first is released
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		u, err := Lock(ctx, path)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("waiter returned while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	unlock() // idempotent
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the lock after release")
	}

	// a symlink locks its target's lock file
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	u1, err := Lock(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	defer u1()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := Lock(ctx2, path); err == nil {
		t.Fatal("locking the target succeeded while its symlink is locked")
	}
	if _, err := os.Stat(link + LockSuffix); !os.IsNotExist(err) {
		t.Fatal("lock file created beside the symlink instead of the target")
	}
}

// A symlinked /etc/docker holding a relative link: the link is read from the
// directory that really holds it, as the kernel (and so dockerd) reads it.
func TestWriteFileThroughSymlinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"real/docker", "real/conf", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../real/docker", filepath.Join(dir, "etc", "docker")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../conf/daemon.json", filepath.Join(dir, "real", "docker", "daemon.json")); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "real", "conf", "daemon.json")
	if err := os.WriteFile(target, []byte("{}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "etc", "docker", "daemon.json")
	got, err := ResolvePath(path)
	if want, _ := filepath.EvalSymlinks(target); err != nil || got != want {
		t.Fatalf("ResolvePath(%s) = %q, %v; want %q (what the kernel opens)", path, got, err, want)
	}
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	backup, err := WriteFile(path, []byte("{\"ip6tables\": true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := readFile(t, path); b != "{\"ip6tables\": true}\n" {
		t.Fatalf("dockerd reads %q through %s, not what was written", b, path)
	}
	if backup != got+BackupSuffix || readFile(t, backup) != "{}\n" || mode(t, target) != 0o640 {
		t.Fatalf("backup %q (%q), mode %v", backup, readFile(t, backup), mode(t, target))
	}
	if _, err := os.Stat(got + LockSuffix); err != nil {
		t.Fatalf("no lock file beside the real file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc", "conf")); !os.IsNotExist(err) {
		t.Fatalf("a file was made where the link's words point, not where the kernel goes (%v)", err)
	}
	// ReplaceFile puts bytes back and leaves the backup alone.
	if err := ReplaceFile(path, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if readFile(t, path) != "{}\n" || readFile(t, backup) != "{}\n" {
		t.Fatalf("after ReplaceFile: file %q, backup %q", readFile(t, path), readFile(t, backup))
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "real", "docker", "daemon.json")); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
}

func TestParseHolder(t *testing.T) {
	since := time.Date(2026, 12, 7, 20, 31, 7, 0, time.UTC)
	h := Holder{PID: 4242, Since: since, What: "agent: dockeripv6 daemon.json transaction on /etc/docker/daemon.json"}
	if got := ParseHolder([]byte(h.String())); got != h {
		t.Fatalf("round trip: %+v, want %+v", got, h)
	}
	if got := ParseHolder([]byte("4242\n")); got.PID != 4242 {
		t.Fatalf("old format: %+v", got)
	}
	if got := ParseHolder([]byte("garbage\n")); got.PID != 0 {
		t.Fatalf("garbage names pid %d", got.PID)
	}
}
