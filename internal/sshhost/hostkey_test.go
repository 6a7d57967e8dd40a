package sshhost

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestPatternsMatch(t *testing.T) {
	hashed22 := strings.Fields(knownhosts.HashHostname("mail1.example.org"))[0]
	hashed2222 := knownhosts.HashHostname("[mail1.example.org]:2222")
	for _, tc := range []struct {
		patterns   string
		host, port string
		want       bool
	}{
		{"mail1.example.org", "mail1.example.org", "22", true},
		{"mail1.example.org", "mail1.example.org", "2222", false}, // a bare name is port 22
		{"*", "mail1.example.org", "22", true},
		{"*", "mail1.example.org", "2222", false}, // so is *
		{"[*]:2222", "mail1.example.org", "2222", true},
		{"[*]:2222", "mail1.example.org", "22", false},
		{"[mail1.example.org]:2222", "mail1.example.org", "2222", true},
		{"*.example.org", "mail1.example.org", "22", true},
		{"*.example.org", "example.org", "22", false},
		{"mail?.example.org", "mail7.example.org", "22", true},
		{"mail?.example.org", "mail17.example.org", "22", false},
		{"MAIL1.Example.org", "mail1.EXAMPLE.org", "22", true}, // host names ignore case
		{"fd00::2", "fd00::2", "22", true},
		{"[fd00::2]:22", "fd00::2", "22", true},
		{"[fd00::2]:2222", "fd00::2", "2222", true},
		{"fd00::*", "fd00::2", "22", true},
		{"!mail1.example.org,*.example.org", "mail1.example.org", "22", false},
		{"!mail1.example.org,*.example.org", "mail2.example.org", "22", true},
		{"!mail1.example.org", "mail2.example.org", "22", false}, // a negation alone matches nothing
		{hashed22, "mail1.example.org", "22", true},
		{hashed22, "mail2.example.org", "22", false},
		{hashed22, "mail1.example.org", "2222", false},
		{hashed2222, "mail1.example.org", "2222", true},
		{"|1|bad|hash", "mail1.example.org", "22", false},
		{"[fd00::2", "fd00::2", "22", false},
	} {
		if got := patternsMatch(strings.Split(tc.patterns, ","), tc.host, tc.port); got != tc.want {
			t.Errorf("%q against %s port %s: %v, want %v", tc.patterns, tc.host, tc.port, got, tc.want)
		}
	}
}

func TestHostKeyTrustParse(t *testing.T) {
	ca, key := newSigner(t, "ed25519").PublicKey(), newSigner(t, "ecdsa").PublicKey()
	tr, err := hostKeyTrust("# mail1\n" + authorizedLine(key) + " root@mail1\n@cert-authority * " + authorizedLine(ca) + "\n\n@revoked mail9 " + authorizedLine(ca) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.keys) != 1 || len(tr.cas) != 1 || len(tr.revoked) != 1 || tr.keys[0].at != "host_key line 1" || tr.cas[0].at != "host_key line 2" {
		t.Fatalf("keys %v, CAs %v, revoked %v", tr.keys, tr.cas, tr.revoked)
	}
	// Certificates first when a CA is trusted, then the plain key's type.
	if algos := tr.algorithms(); algos[0] != ssh.CertAlgoED25519v01 || algos[len(algos)-1] != ssh.KeyAlgoECDSA256 {
		t.Errorf("algorithms %v", algos)
	}
	for in, want := range map[string]string{
		"@trusted * " + authorizedLine(ca): "unknown marker @trusted",
		"@revoked " + authorizedLine(ca):   "@revoked",
		"@revoked * ssh-ed25519 AAAA":      "@revoked",
		"# only a comment":                 "holds no key",
		"ssh-ed25519":                      "neither an authorized_keys line",
	} {
		_, err := hostKeyTrust(in)
		t.Logf("%q: %v", in, err)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one with %q", in, err, want)
		}
	}
	if _, err := ParseHostKey("@revoked * " + authorizedLine(ca)); err == nil || !strings.Contains(err.Error(), "a @revoked line, not a host key") {
		t.Errorf("ParseHostKey of a @revoked line: %v", err)
	}
}

func TestKnownHostsTrustBadLine(t *testing.T) {
	f := filepath.Join(t.TempDir(), "known_hosts")
	ca := authorizedLine(newSigner(t, "ed25519").PublicKey())
	if err := os.WriteFile(f, []byte("# fleet\n@cert-authority * "+ca+"\n@trusted * "+ca+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := knownHostsTrust(f, "mail1", "22")
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), f+":3: unknown marker @trusted") {
		t.Fatalf("want the line and the marker named: %v", err)
	}
}

// hostCert signs host's key with ca as a host certificate.
func hostCert(t *testing.T, ca, host ssh.Signer, principals ...string) ssh.Signer {
	t.Helper()
	cert := &ssh.Certificate{
		Key: host.PublicKey(), CertType: ssh.HostCert, KeyId: "test-host", ValidPrincipals: principals,
		ValidAfter: uint64(time.Now().Add(-time.Hour).Unix()), ValidBefore: ssh.CertTimeInfinity,
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewCertSigner(cert, host)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDialHostCertificatePort: the port rules of @cert-authority patterns
// on a port other than 22 (the fleet's sshd listens on 22 only).
func TestDialHostCertificatePort(t *testing.T) {
	pk, pub := privatePEM(t)
	ca, host := newSigner(t, "ed25519"), newSigner(t, "ed25519")
	// Like sshd, the server offers the certificate and the plain key.
	srv := startServer(t, pub, hostCert(t, ca, host, "127.0.0.1"), host)
	certOnly := startServer(t, pub, hostCert(t, ca, host, "127.0.0.1"))
	port := strconv.Itoa(srv.addr.Port)
	caLine := authorizedLine(ca.PublicKey())
	dial := func(t *testing.T, lines ...string) (*Conn, error) {
		return dialTo(t, srv, pk, lines...)
	}

	for _, pattern := range []string{"[*]:" + port, "[127.0.0.1]:" + port, "[127.0.0.*]:" + port} {
		t.Run(pattern, func(t *testing.T) {
			c, err := dial(t, "@cert-authority "+pattern+" "+caLine)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !strings.Contains(c.HostKeyFingerprint(), `host certificate "test-host"`) {
				t.Errorf("fingerprint %q", c.HostKeyFingerprint())
			}
		})
	}
	for _, pattern := range []string{"*", "127.0.0.1", "[*]:22"} {
		t.Run(pattern+" is port 22", func(t *testing.T) {
			_, err := dial(t, "@cert-authority "+pattern+" "+caLine)
			t.Logf("error: %v", err)
			var hk *HostKeyError
			if !errors.As(err, &hk) || !hk.Unknown {
				t.Fatalf("want an unknown host: %v", err)
			}
			for _, want := range []string{"port 22 only", "[*]:" + port + " or [127.0.0.1]:" + port, "(" + pattern + ")"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q", want)
				}
			}
		})
	}
	t.Run("a host with only a certificate, a CA line for port 22", func(t *testing.T) {
		cp := strconv.Itoa(certOnly.addr.Port)
		_, err := dialTo(t, certOnly, pk, "@cert-authority * "+caLine)
		t.Logf("error: %v", err)
		if StepOf(err) != StepHostKey || !strings.Contains(err.Error(), "no host key of the expected type") ||
			!strings.Contains(err.Error(), "port 22 only") || !strings.Contains(err.Error(), "for port "+cp+" write [*]:"+cp) {
			t.Fatalf("want the port rule named: %v", err)
		}
	})
	t.Run("principal is the address as written", func(t *testing.T) {
		cfg := srv.config(pk)
		cfg.Host = "localhost"
		cfg.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.addr.String())
		}
		cfg.HostKey = "@cert-authority * " + caLine
		_, err := Dial(context.Background(), cfg)
		t.Logf("error: %v", err)
		var hk *HostKeyError
		if !errors.As(err, &hk) || !hk.Certificate || !strings.Contains(err.Error(), "whose principals are 127.0.0.1: it is not for localhost") {
			t.Fatalf("want a certificate for another name: %v", err)
		}
	})
}

func dialTo(t *testing.T, srv *testServer, pk string, lines ...string) (*Conn, error) {
	t.Helper()
	cfg := srv.config(pk)
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Dial(context.Background(), cfg)
}
