package probe

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readAnswer(t *testing.T, network, addr string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	return string(b)
}

func TestServeAnswersPeerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = serve(ln) }()
	t.Cleanup(func() { ln.Close() })
	for i := 0; i < 3; i++ { // one answer per connection, then close
		if got := readAnswer(t, "tcp4", ln.Addr().String()); got != "127.0.0.1\n" {
			t.Fatalf("answer %q, want %q", got, "127.0.0.1\n")
		}
	}
}

func TestServeDualStackUnmapsIPv4(t *testing.T) {
	ln, err := net.Listen("tcp", "[::]:0") // dual-stack, as in the container
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = serve(ln) }()
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	// An IPv4 client reaches the dual-stack socket as ::ffff:127.0.0.1.
	if got := readAnswer(t, "tcp4", net.JoinHostPort("127.0.0.1", itoa(port))); got != "127.0.0.1\n" {
		t.Errorf("IPv4 client: answer %q, want 127.0.0.1", got)
	}
	if got := readAnswer(t, "tcp6", net.JoinHostPort("::1", itoa(port))); got != "::1\n" {
		t.Errorf("IPv6 client: answer %q, want ::1", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestMaybeServeMode runs this test binary in probe-server mode, as the probe
// container does, and checks the ready line and an answer.
func TestMaybeServeMode(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, ServerArg, "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v", err)
	}
	if !strings.HasPrefix(line, readyLine+" on ") {
		t.Fatalf("ready line %q, want prefix %q", line, readyLine)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, readyLine+" on "))
	if got := readAnswer(t, "tcp4", addr); got != "127.0.0.1\n" {
		t.Fatalf("answer %q, want 127.0.0.1", got)
	}
}

func TestPeerIP(t *testing.T) {
	for _, tc := range []struct {
		in   net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("::ffff:198.19.3.2"), Port: 1}, "198.19.3.2"},
		{&net.TCPAddr{IP: net.ParseIP("fd12:3456:789a:1::2"), Port: 1}, "fd12:3456:789a:1::2"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::1"},
		{&net.TCPAddr{IP: net.IPv4(198, 18, 0, 1).To4(), Port: 1}, "198.18.0.1"},
	} {
		if got := peerIP(tc.in); got != tc.want {
			t.Errorf("peerIP(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
