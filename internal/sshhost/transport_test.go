package sshhost

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is an in-process SSH server: it verifies one user key and
// accepts nothing else (no sessions). Enough for host keys, auth and pools.
type testServer struct {
	addr     *net.TCPAddr
	hostKeys []ssh.Signer
	ln       net.Listener
	accepts  atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newSigner(t *testing.T, typ string) ssh.Signer {
	t.Helper()
	var key any
	switch typ {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	case "ecdsa":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func privatePEM(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ssh.NewSignerFromKey(k)
	return string(pem.EncodeToMemory(b)), s.PublicKey()
}

func startServer(t *testing.T, userKey ssh.PublicKey, hostKeys ...ssh.Signer) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: ln.Addr().(*net.TCPAddr), hostKeys: hostKeys, ln: ln}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), userKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					c.Close()
					return
				}
				go ssh.DiscardRequests(reqs)
				for ch := range chans {
					_ = ch.Reject(ssh.Prohibited, "no sessions here")
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.dropAll() })
	return s
}

// dropAll cuts every connection, as a dead sshd would.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *testServer) config(pk string) Config {
	return Config{Host: "127.0.0.1", Port: s.addr.Port, User: "tester", PrivateKey: pk, KeepaliveInterval: -1}
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestDialHostKey(t *testing.T) {
	pk, pub := privatePEM(t)
	host := newSigner(t, "ed25519")
	srv := startServer(t, pub, host)
	ctx := context.Background()

	t.Run("right key", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.HostKey = authorizedLine(host.PublicKey()) + " root@mail1"
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got, want := c.HostKeyFingerprint(), "ssh-ed25519 "+ssh.FingerprintSHA256(host.PublicKey()); got != want {
			t.Errorf("fingerprint %q, want %q", got, want)
		}
	})
	t.Run("keyscan line", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.HostKey = "127.0.0.1 " + authorizedLine(host.PublicKey())
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("wrong key", func(t *testing.T) {
		other := newSigner(t, "ed25519")
		cfg := srv.config(pk)
		cfg.HostKey = authorizedLine(other.PublicKey())
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if StepOf(err) != StepHostKey {
			t.Fatalf("step %q, want host key: %v", StepOf(err), err)
		}
		var hk *HostKeyError
		if !errors.As(err, &hk) {
			t.Fatalf("not a HostKeyError: %v", err)
		}
		for _, want := range []string{"HOST KEY MISMATCH", ssh.FingerprintSHA256(host.PublicKey()), ssh.FingerprintSHA256(other.PublicKey()), "nothing was done"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
	})
	t.Run("no key and no known_hosts", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if StepOf(err) != StepHostKey || !strings.Contains(err.Error(), "ssh-keyscan") {
			t.Fatalf("want a host key error with an ssh-keyscan hint: %v", err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		cfg.InsecureSkipHostKeyVerification = true
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !strings.Contains(c.HostKeyFingerprint(), ssh.FingerprintSHA256(host.PublicKey())) {
			t.Errorf("fingerprint %q", c.HostKeyFingerprint())
		}
	})
}

func TestDialKnownHosts(t *testing.T) {
	pk, pub := privatePEM(t)
	ed := newSigner(t, "ed25519")
	ec := newSigner(t, "ecdsa")
	// The server has both; by default a client asks for ecdsa first.
	srv := startServer(t, pub, ec, ed)
	ctx := context.Background()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.addr.Port))
	write := func(t *testing.T, lines ...string) string {
		f := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}

	t.Run("known (ed25519 only in the file)", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.KnownHostsFile = write(t, knownhosts.Line([]string{addr}, ed.PublicKey()))
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("unknown host", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.KnownHostsFile = write(t, knownhosts.Line([]string{"[192.0.2.1]:22"}, ed.PublicKey()))
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		var hk *HostKeyError
		if !errors.As(err, &hk) || !hk.Unknown {
			t.Fatalf("want an unknown-host error: %v", err)
		}
		want := "ssh-keyscan -p " + strconv.Itoa(srv.addr.Port) + " -t ed25519 127.0.0.1 >> " + cfg.KnownHostsFile
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(ed.PublicKey())) {
			t.Errorf("error lacks %q or the offered fingerprint: %v", want, err)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		other := newSigner(t, "ed25519")
		cfg := srv.config(pk)
		cfg.KnownHostsFile = write(t, knownhosts.Line([]string{addr}, other.PublicKey()))
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if StepOf(err) != StepHostKey || !strings.Contains(err.Error(), ssh.FingerprintSHA256(ed.PublicKey())) ||
			!strings.Contains(err.Error(), ssh.FingerprintSHA256(other.PublicKey())+" ("+cfg.KnownHostsFile+":1)") {
			t.Fatalf("want a mismatch naming both fingerprints: %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.KnownHostsFile = write(t, "@revoked * "+authorizedLine(ed.PublicKey()), knownhosts.Line([]string{addr}, ed.PublicKey()))
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		var hk *HostKeyError
		if !errors.As(err, &hk) || !hk.Revoked {
			t.Fatalf("want a revoked error: %v", err)
		}
	})
}

func TestDialAuth(t *testing.T) {
	pk, pub := privatePEM(t)
	host := newSigner(t, "ed25519")
	srv := startServer(t, pub, host)
	ctx := context.Background()

	t.Run("refused", func(t *testing.T) {
		other, _ := privatePEM(t)
		cfg := srv.config(other)
		cfg.HostKey = authorizedLine(host.PublicKey())
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if StepOf(err) != StepAuth {
			t.Fatalf("step %q, want auth: %v", StepOf(err), err)
		}
	})
	t.Run("ssh-agent", func(t *testing.T) {
		blk, _ := pem.Decode([]byte(pk))
		raw, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(blk))
		if err != nil {
			t.Fatal(err)
		}
		kr := agent.NewKeyring()
		if err := kr.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(t.TempDir(), "agent.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _ = agent.ServeAgent(kr, c) }()
			}
		}()
		cfg := srv.config("")
		cfg.AgentSocket = sock
		cfg.HostKey = authorizedLine(host.PublicKey())
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("no key, no agent", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		cfg := srv.config("")
		cfg.HostKey = authorizedLine(host.PublicKey())
		_, err := Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if StepOf(err) != StepAuth || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
			t.Fatalf("want an auth error naming SSH_AUTH_SOCK: %v", err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		_, err := Dial(ctx, Config{Host: "127.0.0.1", Port: port, PrivateKey: pk, HostKey: authorizedLine(host.PublicKey())})
		t.Logf("error: %v", err)
		if StepOf(err) != StepDial {
			t.Fatalf("step %q, want dial: %v", StepOf(err), err)
		}
	})
}

func TestPool(t *testing.T) {
	pk, pub := privatePEM(t)
	host := newSigner(t, "ed25519")
	srv := startServer(t, pub, host)
	ctx := context.Background()
	cfg := srv.config(pk)
	cfg.HostKey = authorizedLine(host.PublicKey())

	p := NewPool()
	var wg sync.WaitGroup
	conns := make([]*Conn, 8)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.Get(ctx, cfg)
			if err != nil {
				t.Error(err)
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != conns[0] {
			t.Fatal("concurrent Gets returned different connections")
		}
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Fatalf("%d TCP connections for one host, want 1", n)
	}
	// Another user is another connection.
	cfg2 := cfg
	cfg2.User = "other"
	if c, err := p.Get(ctx, cfg2); err != nil || c == conns[0] {
		t.Fatalf("second config: %v (same conn: %v)", err, c == conns[0])
	}
	// A lost connection is dialled again.
	srv.dropAll()
	select {
	case <-conns[0].Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the dropped connection was not noticed")
	}
	c, err := p.Get(ctx, cfg)
	if err != nil || c == conns[0] || !c.Alive() {
		t.Fatalf("after the drop: %v (same: %v)", err, c == conns[0])
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Alive() {
		t.Fatal("Close left a connection open")
	}
	if _, err := p.Get(ctx, cfg); err == nil {
		t.Fatal("Get after Close succeeded")
	}
}

func TestConfigKey(t *testing.T) {
	a := Config{Host: "mail1", PrivateKey: "k"}
	b := Config{Host: "mail1", Port: 22, User: "root", PrivateKey: "k"}
	if a.Key() != b.Key() {
		t.Error("defaults change the key")
	}
	for _, c := range []Config{{Host: "mail2", PrivateKey: "k"}, {Host: "mail1", PrivateKey: "k2"}, {Host: "mail1", PrivateKey: "k", Sudo: SudoNever}, {Host: "mail1", PrivateKey: "k", Port: 2222}} {
		if c.Key() == a.Key() {
			t.Errorf("%+v has the same key", c)
		}
	}
	if strings.Contains(a.Key(), "k") && strings.Contains(Config{Host: "x", PrivateKey: "SECRET"}.Key(), "SECRET") {
		t.Error("the key shows the secret")
	}
}

func TestELFArch(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ba, err := elfArch(exe)
	if err != nil && strings.Contains(err.Error(), "is dynamically linked") {
		// this test binary is a cgo build (CGO_ENABLED is not 0): refused as it should be
		ba, err = binaryArch{[]string{"x86_64", "amd64"}, "amd64"}, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	uname := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[ba.goarch]
	if uname != "" && !ba.runsOn(uname) {
		t.Errorf("%s does not run on %s", ba.goarch, uname)
	}
	if _, err := elfArch("/dev/null"); err == nil {
		t.Error("/dev/null is an ELF binary")
	}
}

func TestParseSudoMode(t *testing.T) {
	for in, want := range map[string]SudoMode{"": SudoAuto, "auto": SudoAuto, "true": SudoAlways, "never": SudoNever, "false": SudoNever} {
		if got, err := ParseSudoMode(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseSudoMode("yes"); err == nil {
		t.Error("yes accepted")
	}
}
