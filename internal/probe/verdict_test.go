package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	client6 := netip.MustParseAddr("fd3c:9a2b:11e4:7::2")
	target6 := netip.MustParseAddrPort("[fd3c:9a2b:11e4:7::1]:40001")
	client4 := netip.MustParseAddr("198.19.44.6")
	target4 := netip.MustParseAddrPort("198.19.44.5:40001")
	gws := []string{"198.18.0.1", "fd00:1:2:3::1"}
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	timeoutErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

	for _, tc := range []struct {
		name        string
		family      string
		local       bool
		ex          exchangeResult
		wantVerdict string
		wantSeen    string
		wantDetail  []string // substrings
		wantErr     bool
	}{
		{name: "ipv6 preserved", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "fd3c:9a2b:11e4:7::2"},
			wantVerdict: VerdictPreserved, wantSeen: client6.String(), wantDetail: []string{"as itself"}},
		{name: "ipv6 preserved, non-canonical answer", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "FD3C:9A2B:11E4:0007:0:0:0:2"},
			wantVerdict: VerdictPreserved, wantSeen: client6.String()},
		{name: "ipv6 masqueraded to ipv4 gateway", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "198.18.0.1"},
			wantVerdict: VerdictMasqueraded, wantSeen: "198.18.0.1",
			wantDetail: []string{"the gateway of network", "IPv4 address", "Fail2Ban", "SPF", "open relay", "dockeripv6_network", "ipv6_subnet", "ip6tables", "experimental", "dockeripv6_firewall"}},
		{name: "ipv6 masqueraded to ipv6 gateway", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "fd00:1:2:3::1"},
			wantVerdict: VerdictMasqueraded, wantSeen: "fd00:1:2:3::1", wantDetail: []string{"ip6tables does not forward"}},
		{name: "ipv6 masqueraded to another address", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "::ffff:198.19.8.7"},
			wantVerdict: VerdictMasqueraded, wantSeen: "198.19.8.7", wantDetail: []string{"198.19.8.7, which is neither the client nor a gateway"}},
		{name: "ipv6 local masqueraded", family: FamilyIPv6, local: true, ex: exchangeResult{connected: true, answer: "198.18.0.1"},
			wantVerdict: VerdictMasqueraded, wantSeen: "198.18.0.1", wantDetail: []string{`client = "remote"`}},
		{name: "ipv4 preserved", family: FamilyIPv4, ex: exchangeResult{connected: true, answer: "198.19.44.6"},
			wantVerdict: VerdictPreserved, wantSeen: "198.19.44.6"},
		{name: "ipv4 masqueraded", family: FamilyIPv4, ex: exchangeResult{connected: true, answer: "198.18.0.1"},
			wantVerdict: VerdictMasqueraded, wantSeen: "198.18.0.1", wantDetail: []string{"userland_proxy"}},
		{name: "connection refused", family: FamilyIPv6, ex: exchangeResult{dialErr: opErr(syscall.ECONNREFUSED)},
			wantVerdict: VerdictRefused, wantDetail: []string{"refused (connection refused)", "fall back to IPv4", "dockeripv6_firewall"}},
		{name: "reset before data", family: FamilyIPv6, ex: exchangeResult{connected: true, readErr: syscall.ECONNRESET},
			wantVerdict: VerdictRefused, wantDetail: []string{"reset before any data"}},
		{name: "admin prohibited", family: FamilyIPv4, ex: exchangeResult{dialErr: opErr(syscall.EACCES)},
			wantVerdict: VerdictRefused, wantDetail: []string{"nothing accepts IPv4"}},
		{name: "dial timeout", family: FamilyIPv6, ex: exchangeResult{dialErr: &net.OpError{Op: "dial", Err: context.DeadlineExceeded}},
			wantVerdict: VerdictUnreachable, wantDetail: []string{"No TCP connection", "dropped or not routed"}},
		{name: "no route", family: FamilyIPv6, ex: exchangeResult{dialErr: opErr(syscall.ENETUNREACH)},
			wantVerdict: VerdictUnreachable, wantDetail: []string{"network is unreachable"}},
		{name: "connected, silent", family: FamilyIPv6, ex: exchangeResult{connected: true, readErr: timeoutErr},
			wantVerdict: VerdictUnreachable, wantDetail: []string{"TCP connected", "nothing answered within 10s", "userland-proxy off"}},
		{name: "connected, closed without answer", family: FamilyIPv6, ex: exchangeResult{connected: true, readErr: io.EOF},
			wantVerdict: VerdictUnreachable, wantDetail: []string{"closed without an answer"}},
		{name: "garbage answer", family: FamilyIPv6, ex: exchangeResult{connected: true, answer: "220 mail.example ESMTP"}, wantErr: true},
		{name: "other dial error", family: FamilyIPv6, ex: exchangeResult{dialErr: opErr(syscall.EADDRNOTAVAIL)}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := measurement{family: tc.family, local: tc.local, network: "bridge", gateways: gws, timeout: 10 * time.Second, exchange: tc.ex}
			m.client, m.target = client6, target6
			if tc.family == FamilyIPv4 {
				m.client, m.target = client4, target4
			}
			v, err := m.classify()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got verdict %+v", v)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.verdict != tc.wantVerdict || v.observed != tc.wantSeen {
				t.Fatalf("got %s/%q, want %s/%q (detail: %s)", v.verdict, v.observed, tc.wantVerdict, tc.wantSeen, v.detail)
			}
			for _, s := range tc.wantDetail {
				if !strings.Contains(v.detail, s) {
					t.Errorf("detail lacks %q: %s", s, v.detail)
				}
			}
			if strings.Count(v.detail, ". ") > 0 || !strings.HasSuffix(v.detail, ".") {
				t.Errorf("detail is not one sentence: %s", v.detail)
			}
		})
	}
}

// TestExchangeOnLoopback drives exchange against real sockets for each way a
// connection can end.
func TestExchangeOnLoopback(t *testing.T) {
	listen := func() net.Listener {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	ap := func(ln net.Listener) netip.AddrPort { return ln.Addr().(*net.TCPAddr).AddrPort() }
	var d net.Dialer
	run := func(target netip.AddrPort, timeout time.Duration) (verdict, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		m := measurement{family: FamilyIPv4, local: true, network: "bridge", client: netip.MustParseAddr("127.0.0.1"), target: target, timeout: timeout}
		m.exchange = exchange(ctx, d.DialContext, target)
		return m.classify()
	}

	t.Run("answer", func(t *testing.T) {
		ln := listen()
		go func() { _ = serve(ln) }()
		v, err := run(ap(ln), 5*time.Second)
		if err != nil || v.verdict != VerdictPreserved || v.observed != "127.0.0.1" {
			t.Fatalf("got %+v, %v", v, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln := listen()
		target := ap(ln)
		ln.Close()
		v, err := run(target, 5*time.Second)
		if err != nil || v.verdict != VerdictRefused {
			t.Fatalf("got %+v, %v", v, err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		ln := listen()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
				c.Close()
			}
		}()
		v, err := run(ap(ln), 5*time.Second)
		if err != nil || v.verdict != VerdictRefused {
			t.Fatalf("got %+v, %v", v, err)
		}
	})
	t.Run("closed without answer", func(t *testing.T) {
		ln := listen()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
		}()
		v, err := run(ap(ln), 5*time.Second)
		if err != nil || v.verdict != VerdictUnreachable || !strings.Contains(v.detail, "closed without an answer") {
			t.Fatalf("got %+v, %v", v, err)
		}
	})
	t.Run("listening but never accepting", func(t *testing.T) {
		ln := listen() // never accepted: the kernel completes the handshake from the backlog
		start := time.Now()
		v, err := run(ap(ln), 300*time.Millisecond)
		if err != nil || v.verdict != VerdictUnreachable || !strings.Contains(v.detail, "TCP connected") {
			t.Fatalf("got %+v, %v", v, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("read deadline not honoured: %s", el)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		ln := listen()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				fmt.Fprint(c, "220 mail.example ESMTP\r\n")
				c.Close()
			}
		}()
		if v, err := run(ap(ln), 5*time.Second); err == nil {
			t.Fatalf("want an error, got %+v", v)
		}
	})
}

func TestGatewayAddresses(t *testing.T) {
	// Shapes of Docker 20.10 answers: IPAM config of a user-defined dual-stack
	// network, and the default bridge, whose IPAM config may lack gateways.
	nw := networkInspect("nid", []string{"198.18.64.1", "fd7a:1b2c:3d4e:1::1/64", ""})
	ctr := containerInspect("nid", "198.18.64.1", "fd7a:1b2c:3d4e:0001::1", "198.18.0.1", "")
	got := gatewayAddresses(nw, ctr)
	want := []string{"198.18.0.1", "198.18.64.1", "fd7a:1b2c:3d4e:1::1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestNormalizeOptions(t *testing.T) {
	o := Options{}
	if err := o.normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Network != "bridge" || o.Family != "ipv6" || o.Client != "remote" || o.Timeout != 10*time.Second || o.Binary == "" {
		t.Fatalf("defaults: %+v", o)
	}
	for _, bad := range []Options{{Family: "ip6"}, {Client: "far"}, {HostPort: 70000}, {Timeout: -1}} {
		if err := bad.normalize(); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

func TestFreePort(t *testing.T) {
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	defer releasePort(p)
	if p <= 0 || p > 65535 {
		t.Fatalf("port %d", p)
	}
	for _, nw := range []string{"tcp4", "tcp6"} {
		l, err := net.Listen(nw, net.JoinHostPort(map[string]string{"tcp4": "0.0.0.0", "tcp6": "::"}[nw], itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free on %s: %v", p, nw, err)
		}
		l.Close()
	}
	if reservePort(p) {
		t.Fatal("a port handed out is reserved until released")
	}
}
