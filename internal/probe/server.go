package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

const (
	// ServerArg is the first argument that switches a binary into probe-server mode.
	ServerArg = "probe-server"
	// ContainerPort is the TCP port the probe server listens on inside the container.
	ContainerPort = 8080
	// readyLine is printed on stdout once the server listens; Run waits for it.
	readyLine = "dockeripv6-probe: listening"
)

// MaybeServe runs the probe server and exits when os.Args[1] is "probe-server";
// otherwise it returns at once. Call it first thing in main(), and in TestMain
// of every package whose test binary is used as the probe image.
//
// An optional second argument is the listen address (default "[::]:8080").
func MaybeServe() {
	if len(os.Args) < 2 || os.Args[1] != ServerArg {
		return
	}
	addr := fmt.Sprintf(":%d", ContainerPort) // wildcard: dual-stack [::] when IPv6 exists
	if len(os.Args) > 2 {
		addr = os.Args[2]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stdout, "%s on %s\n", readyLine, ln.Addr())
	err = serve(ln)
	fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", err)
	os.Exit(1)
}

// serve answers every connection accepted on ln with the peer's IP address
// (IPv4-mapped IPv6 addresses unmapped) and a newline, then closes it. It
// returns when ln fails (for example when it is closed).
func serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go answer(c)
	}
}

func answer(c net.Conn) {
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, peerIP(c.RemoteAddr())+"\n")
}

// peerIP returns the IP of a TCP address in its canonical text form, with an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) turned back into a.b.c.d.
func peerIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().WithZone("").String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
