package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

const (
	// ServerArg is the first argument that switches a binary into probe-server mode.
	ServerArg = "probe-server"
	// ContainerPort is the TCP port the probe server listens on inside the container.
	ContainerPort = 8080
	// RelayArg is the first argument that switches a binary into relay mode (see MaybeServe).
	RelayArg = "probe-relay"
	// AcceptedLine starts the line the server logs for each accepted connection.
	AcceptedLine = "dockeripv6-probe: accepted from "
	// exitAfterArg bounds the server's life: "exit-after=90s".
	exitAfterArg = "exit-after="
	// readyLine is printed on stdout once the server listens; Run waits for it.
	readyLine = "dockeripv6-probe: listening"
)

// MaybeServe runs the probe server and exits when os.Args[1] is "probe-server";
// otherwise it returns at once. Call it first thing in main(), and in TestMain
// of every package whose test binary is used as the probe image.
//
// Further arguments are listen addresses (default ":8080"; several may be
// given, like a mail server's ports) and "exit-after=DURATION", after which
// the server exits (so that a probe container whose owner was killed stops
// holding its host port). Each accepted connection is answered with the peer's
// address and logged on stdout as "dockeripv6-probe: accepted from ADDR": what
// the server's own accept() returned.
//
// With os.Args[1] "probe-relay" the binary relays each connection accepted on
// os.Args[2] to the address os.Args[3] (a stand-in front proxy for tests).
func MaybeServe() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case ServerArg:
		os.Exit(runServer(os.Args[2:]))
	case RelayArg:
		if len(os.Args) != 4 {
			fmt.Fprintf(os.Stderr, "dockeripv6-probe: usage: %s LISTEN TARGET\n", RelayArg)
			os.Exit(2)
		}
		os.Exit(runRelay(os.Args[2], os.Args[3]))
	}
}

func runServer(args []string) int {
	var addrs []string
	for _, a := range args {
		if d, ok := strings.CutPrefix(a, exitAfterArg); ok {
			lifetime, err := time.ParseDuration(d)
			if err != nil {
				fmt.Fprintf(os.Stderr, "dockeripv6-probe: %s: %v\n", a, err)
				return 2
			}
			time.AfterFunc(lifetime, func() {
				fmt.Fprintf(os.Stdout, "dockeripv6-probe: exiting after %s\n", lifetime)
				os.Exit(0)
			})
			continue
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		addrs = []string{fmt.Sprintf(":%d", ContainerPort)} // wildcard: dual-stack [::] when IPv6 exists
	}
	errc := make(chan error, len(addrs))
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stdout, "%s on %s\n", readyLine, ln.Addr())
		go func() { errc <- serve(ln) }()
	}
	fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", <-errc)
	return 1
}

// runRelay copies bytes both ways between each accepted connection and a
// new connection to target.
func runRelay(listen, target string) int {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stdout, "%s on %s, relaying to %s\n", readyLine, ln.Addr(), target)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-probe: %v\n", err)
			return 1
		}
		go func() {
			defer c.Close()
			b, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				return
			}
			defer b.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
			<-done
		}()
	}
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
	fmt.Fprintf(os.Stdout, "%s%s\n", AcceptedLine, peerIP(c.RemoteAddr()))
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
