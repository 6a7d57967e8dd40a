package nft

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Every test works in network namespaces of its own, made with unshare on a
// locked OS thread that is thrown away afterwards; none is ever named or
// mounted, and each disappears when its handle (and sockets) are closed.
// The host's own ruleset is never read or written.

// inNS runs fn on an OS thread that has entered ns. The thread is not
// handed back to the Go scheduler (the goroutine exits locked, so the
// runtime ends the thread), so no other goroutine ever runs in ns by accident.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// newNS makes a fresh network namespace with lo up.
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	type res struct {
		h   netns.NsHandle
		err error
	}
	c := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread dies with the goroutine
		h, err := netns.New()
		c <- res{h, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("new netns: %v", r.err)
	}
	t.Cleanup(func() { r.h.Close() })
	h := nlHandle(t, r.h)
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	return r.h
}

func nlHandle(t *testing.T, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func nftConn(t *testing.T, ns netns.NsHandle) *Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	return &Conn{nc: c}
}

// nsPath names ns for tools run as child processes.
func nsPath(ns netns.NsHandle) string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))
}

// run runs a command inside ns (nsenter --net) and returns its stdout.
func run(t *testing.T, ns netns.NsHandle, stdin string, args ...string) string {
	t.Helper()
	out, err := runErr(ns, stdin, args...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return out
}

func runErr(ns netns.NsHandle, stdin string, args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"--net=" + nsPath(ns), "--"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// ruleset is `nft list ruleset` inside ns.
func ruleset(t *testing.T, ns netns.NsHandle) string {
	t.Helper()
	return run(t, ns, "", "nft", "list", "ruleset")
}

func nft(t *testing.T, ns netns.NsHandle, args ...string) string {
	t.Helper()
	return run(t, ns, "", append([]string{"nft"}, args...)...)
}

func nftFile(t *testing.T, ns netns.NsHandle, text string) {
	t.Helper()
	run(t, ns, text, "nft", "-f", "-")
}

// veth makes a veth pair nameA (in a) <-> nameB (in b), both up.
func veth(t *testing.T, a, b netns.NsHandle, nameA, nameB string) {
	t.Helper()
	ha := nlHandle(t, a)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nameA}, PeerName: nameB, PeerNamespace: netlink.NsFd(int(b))}
	if err := ha.LinkAdd(v); err != nil {
		t.Fatalf("veth %s-%s: %v", nameA, nameB, err)
	}
	for _, x := range []struct {
		ns   netns.NsHandle
		name string
	}{{a, nameA}, {b, nameB}} {
		h := nlHandle(t, x.ns)
		l, err := h.LinkByName(x.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

// addr adds an address without duplicate address detection (usable at once).
func addr(t *testing.T, ns netns.NsHandle, ifname, cidr string) {
	t.Helper()
	h := nlHandle(t, ns)
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	a.Flags = unix.IFA_F_NODAD
	if err := h.AddrAdd(l, a); err != nil {
		t.Fatalf("addr %s on %s: %v", cidr, ifname, err)
	}
}

// route adds a route to dst (a CIDR, or "" for the default route) via gw.
func route(t *testing.T, ns netns.NsHandle, ifname, dst, gw string) {
	t.Helper()
	h := nlHandle(t, ns)
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(gw)}
	if dst != "" {
		_, r.Dst, err = net.ParseCIDR(dst)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := h.RouteAdd(r); err != nil {
		t.Fatalf("route %q via %s: %v", dst, gw, err)
	}
}

func sysctl(t *testing.T, ns netns.NsHandle, path, value string) {
	t.Helper()
	if err := inNS(ns, func() error { return os.WriteFile("/proc/sys/"+path, []byte(value), 0o644) }); err != nil {
		t.Fatalf("sysctl %s: %v", path, err)
	}
}

// listen opens a TCP listener inside ns that greets every client with
// "hello <client address as seen by the server>\n".
func listen(t *testing.T, ns netns.NsHandle, address string) {
	t.Helper()
	var ln net.Listener
	if err := inNS(ns, func() (err error) {
		ln, err = net.Listen("tcp", address)
		return err
	}); err != nil {
		t.Fatalf("listen %s: %v", address, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello %s\n", c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap())
			c.Close()
		}
	}()
}

// outcome of one connection attempt.
type outcome struct {
	seen    string // the address the server saw, when connected
	err     error
	elapsed time.Duration
}

func (o outcome) String() string {
	switch {
	case o.err == nil:
		return fmt.Sprintf("connected, server saw %s (%v)", o.seen, o.elapsed.Round(time.Millisecond))
	case errors.Is(o.err, unix.ECONNREFUSED):
		return fmt.Sprintf("connection refused (%v)", o.elapsed.Round(time.Millisecond))
	case isTimeout(o.err):
		return fmt.Sprintf("timed out (%v)", o.elapsed.Round(time.Millisecond))
	}
	return fmt.Sprintf("error %v (%v)", o.err, o.elapsed.Round(time.Millisecond))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dial connects from inside ns (from source address src when valid) and
// reads the greeting.
func dial(ns netns.NsHandle, src netip.Addr, dst netip.AddrPort, timeout time.Duration) outcome {
	var o outcome
	start := time.Now()
	o.err = inNS(ns, func() error {
		d := net.Dialer{Timeout: timeout}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", dst.String())
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return fmt.Errorf("read greeting: %w", err)
		}
		o.seen = strings.TrimPrefix(strings.TrimSpace(line), "hello ")
		return nil
	})
	o.elapsed = time.Since(start)
	return o
}
