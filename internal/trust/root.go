package trust

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxFileSize bounds what is read of a file in the container.
const maxFileSize = 1 << 20

// readInRoot reads the file at name (an absolute path inside the container)
// under root, resolving every symbolic link inside root as the container
// would (openat2 RESOLVE_IN_ROOT: an absolute link target starts at root,
// ".." stops there). Where the kernel has no openat2 (before Linux 5.6) it
// refuses symbolic links instead. The error wraps fs.ErrNotExist when the
// file is not there.
func readInRoot(root, name string) ([]byte, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", root, errnoErr(err))
	}
	defer unix.Close(dir)
	rel := strings.TrimLeft(filepath.Clean("/"+name), "/")
	// Open the path only (O_PATH), and read it only once it is known to be a
	// regular file: opening a device node or FIFO the container put there
	// could block or have side effects.
	pfd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		pfd, err = openNoSymlinks(dir, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the container: %w", name, errnoErr(err))
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, fmt.Errorf("stat %s in the container: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s in the container is not a regular file", name)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in the container: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s in the container: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s in the container is larger than %d bytes", name, maxFileSize)
	}
	return data, nil
}

// openNoSymlinks opens rel under dir (O_PATH) one component at a time,
// refusing a symbolic link anywhere on the way.
func openNoSymlinks(dir int, rel string) (int, error) {
	parts := strings.Split(rel, "/")
	cur := dir
	for i, p := range parts {
		flags := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i < len(parts)-1 {
			flags |= unix.O_DIRECTORY
		}
		fd, err := unix.Openat(cur, p, flags, 0)
		if cur != dir {
			unix.Close(cur)
		}
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return -1, fmt.Errorf("%s is a symbolic link, not followed on a kernel without openat2", p)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

func errnoErr(err error) error {
	var en unix.Errno
	if errors.As(err, &en) {
		return os.NewSyscallError("open", en) // wraps fs.ErrNotExist for ENOENT
	}
	return err
}
