package probe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const (
	// NamePrefix starts the names of probe containers and of the remote
	// client's network namespaces (/run/netns/<NamePrefix><random>).
	NamePrefix = "dockeripv6-probe-"
	// LinkPrefix starts the name of the host side of the remote client's veth pair.
	LinkPrefix = "dip6h"
	// peerPrefix names the client side until it is moved into its namespace and renamed eth0.
	peerPrefix = "dip6c"
	// NetnsDir is where named network namespaces are bind-mounted (/var/run/netns on Debian).
	NetnsDir = "/run/netns"
	// aliasPrefix starts the alias of a probe veth: "<aliasPrefix><owner>".
	aliasPrefix = "dockeripv6-probe owner="
)

// registry holds what live measurements of this process use, so that a
// concurrent Cleanup (every Run starts with one) leaves them alone.
var registry = struct {
	sync.Mutex
	names    map[string]bool // "c/<container>", "n/<netns>", "l/<link>"
	ports    map[int]bool
	prefixes map[netip.Prefix]bool
}{names: map[string]bool{}, ports: map[int]bool{}, prefixes: map[netip.Prefix]bool{}}

func register(keys ...string) {
	registry.Lock()
	defer registry.Unlock()
	for _, k := range keys {
		registry.names[k] = true
	}
}

func unregister(keys ...string) {
	registry.Lock()
	defer registry.Unlock()
	for _, k := range keys {
		delete(registry.names, k)
	}
}

func isLive(key string) bool {
	registry.Lock()
	defer registry.Unlock()
	return registry.names[key]
}

// reservePrefixes records the client prefixes in use by this process; false if one is taken.
func reservePrefixes(ps ...netip.Prefix) bool {
	registry.Lock()
	defer registry.Unlock()
	for _, p := range ps {
		for q := range registry.prefixes {
			if p.Overlaps(q) {
				return false
			}
		}
	}
	for _, p := range ps {
		registry.prefixes[p] = true
	}
	return true
}

func releasePrefixes(ps ...netip.Prefix) {
	registry.Lock()
	defer registry.Unlock()
	for _, p := range ps {
		delete(registry.prefixes, p)
	}
}

var selfOwner = sync.OnceValue(func() string {
	st, err := procStartTime(os.Getpid())
	if err != nil {
		st = "0"
	}
	return strconv.Itoa(os.Getpid()) + "." + st
})

// procStartTime returns field 22 of /proc/<pid>/stat (start time in clock ticks since boot).
func procStartTime(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", errors.New("malformed stat")
	}
	return f[19], nil // fields after ")" start at field 3
}

// ownedByOtherLiveProcess reports whether owner names another process of
// this host that is still running (same pid and start time).
func ownedByOtherLiveProcess(owner string) bool {
	if owner == "" || owner == selfOwner() {
		return false
	}
	pidStr, start, ok := strings.Cut(owner, ".")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	got, err := procStartTime(pid)
	return err == nil && got == start
}

// linkOwner returns the owner recorded in a probe veth's alias.
func linkOwner(l netlink.Link) string {
	return strings.TrimPrefix(l.Attrs().Alias, aliasPrefix)
}

// Cleanup removes what interrupted measurements left behind: probe containers
// (label io.dockeripv6.probe=1), network namespaces /run/netns/dockeripv6-probe-*
// and dip6h* veth links. It leaves alone what live measurements of this process
// use, and what a still running process recorded as its own. cli may be nil to
// clean only namespaces and links. It returns all errors met, joined.
func Cleanup(ctx context.Context, cli client.APIClient) error {
	var errs []error
	if cli != nil {
		errs = append(errs, cleanupContainers(ctx, cli))
	}
	errs = append(errs, cleanupLinksAndNetns())
	return errors.Join(errs...)
}

func cleanupContainers(ctx context.Context, cli client.APIClient) error {
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelKey+"=1")),
	})
	if err != nil {
		return fmt.Errorf("list probe containers: %w", err)
	}
	var errs []error
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		if isLive("c/"+name) || ownedByOtherLiveProcess(c.Labels[OwnerLabel]) {
			continue
		}
		if err := removeContainer(ctx, cli, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeContainer(ctx context.Context, cli client.APIClient, id string) error {
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "is already in progress") {
		return nil
	}
	return fmt.Errorf("remove probe container %s: %w", id, err)
}

func cleanupLinksAndNetns() error {
	var errs []error
	links, err := netlink.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		errs = append(errs, fmt.Errorf("list links: %w", err))
	}
	for _, l := range links {
		name := l.Attrs().Name
		// Only the host side carries the owner; deleting it deletes the
		// peer too (still named dip6c* if it was never moved).
		if !strings.HasPrefix(name, LinkPrefix) {
			continue
		}
		// A link without a probe's alias is someone else's, whatever its name.
		if !strings.HasPrefix(l.Attrs().Alias, aliasPrefix) || isLive("l/"+name) || ownedByOtherLiveProcess(linkOwner(l)) {
			continue
		}
		if err := netlink.LinkDel(l); err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("delete link %s: %w", name, err))
		}
	}
	entries, err := os.ReadDir(NetnsDir)
	if err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("list %s: %w", NetnsDir, err))
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, NamePrefix) || isLive("n/"+name) {
			continue
		}
		// A remote client creates its veth (alias = owner) before its namespace,
		// so a namespace whose veth belongs to a live process is in use.
		if l, err := netlink.LinkByName(LinkPrefix + name[len(NamePrefix):]); err == nil && ownedByOtherLiveProcess(linkOwner(l)) {
			continue
		}
		if err := deleteNamedNetns(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteNamedNetns unmounts and removes /run/netns/<name>; a file that is not
// (or no longer) a mount point is just removed, a missing one is no error.
func deleteNamedNetns(name string) error {
	p := filepath.Join(NetnsDir, name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

func isNotExist(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || os.IsNotExist(err)
}
