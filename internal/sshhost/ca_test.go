package sshhost_test

// Host certificates against the fleet's real sshd: a CA made by ssh-keygen
// signs the host's ed25519 key (ssh-keygen -s ca -h), sshd presents it
// (HostCertificate), and known_hosts_file or host_key trusts the CA.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fleet"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

// sshKeygen runs ssh-keygen and fails the test with its output.
func sshKeygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newCA makes an ed25519 CA key pair and returns the private key file and
// the public key line.
func newCA(t *testing.T, name string) (string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file)
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return file, strings.TrimSpace(string(pub))
}

// signHostKey signs h's ed25519 host key with ca and returns the
// certificate file; extra are more ssh-keygen options (-n, -V).
func signHostKey(t *testing.T, h *fleet.Host, ca, id string, extra ...string) string {
	t.Helper()
	pub := filepath.Join(t.TempDir(), "host_key.pub")
	if err := os.WriteFile(pub, []byte(h.HostKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sshKeygen(t, append([]string{"-q", "-s", ca, "-I", id, "-h"}, append(extra, pub)...)...)
	return strings.TrimSuffix(pub, ".pub") + "-cert.pub"
}

// useHostCertificate restarts h's sshd with cert as its HostCertificate
// ("" for none).
func useHostCertificate(t *testing.T, h *fleet.Host, cert string) {
	t.Helper()
	conf := h.Path("/run/fleet/sshd_config")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(l, "HostCertificate ") {
			lines = append(lines, l)
		}
	}
	if cert != "" {
		lines = append(lines, "HostCertificate "+cert)
	}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	if err := h.StartSSHD(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// refused dials with cfg, wants a host key error whose text holds every
// one of want and never calls it an interception, and checks that sshd
// let nobody in.
func refused(t *testing.T, h *fleet.Host, cfg sshhost.Config, want ...string) *sshhost.HostKeyError {
	t.Helper()
	logStart, _ := os.ReadFile(h.SSHDLog())
	c, err := sshhost.Dial(context.Background(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("connected; want a refused host key")
	}
	t.Logf("error: %v", err)
	var hk *sshhost.HostKeyError
	if sshhost.StepOf(err) != sshhost.StepHostKey || !errors.As(err, &hk) {
		t.Fatalf("want a host key error: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error lacks %q", w)
		}
	}
	for _, bad := range []string{"intercept", "MISMATCH"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("the error says %q", bad)
		}
	}
	if b, _ := os.ReadFile(h.SSHDLog()); strings.Contains(string(b[len(logStart):]), "Accepted publickey") {
		t.Errorf("sshd accepted a login despite the refused host key")
	}
	return hk
}

func connects(t *testing.T, cfg sshhost.Config) *sshhost.Conn {
	t.Helper()
	c, err := sshhost.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFleetHostCertificates(t *testing.T) {
	f := fleet.New(t, 1)
	h := f.Hosts[0]
	addr := h.Addr.String()
	ca, caPub := newCA(t, "fleet-ca")
	_, otherCAPub := newCA(t, "other-ca")
	keyBlob := strings.Join(strings.Fields(h.HostKey)[:2], " ")
	withKnownHosts := func(lines ...string) sshhost.Config {
		cfg := config(f, h, fleet.UserRoot)
		cfg.HostKey, cfg.KnownHostsFile = "", writeKnownHosts(t, lines...)
		return cfg
	}
	withHostKey := func(lines ...string) sshhost.Config {
		cfg := config(f, h, fleet.UserRoot)
		cfg.HostKey = strings.Join(lines, "\n")
		return cfg
	}

	// sshd has no certificate yet.
	t.Run("CA line only, no certificate on the host", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority * " + caPub)
		hk := refused(t, h, cfg, "not a certificate", "@cert-authority", cfg.KnownHostsFile+":1", "HostCertificate", "ssh-keyscan")
		if !hk.NoCertificate {
			t.Errorf("NoCertificate is false")
		}
	})
	t.Run("CA line and the plain key, no certificate on the host", func(t *testing.T) {
		connects(t, withKnownHosts("@cert-authority * "+caPub, addr+" "+keyBlob))
	})

	useHostCertificate(t, h, signHostKey(t, h, ca, "mail1-good", "-n", addr+","+h.Name))

	t.Run("CA line matches", func(t *testing.T) {
		for _, pattern := range []string{addr, "*", "[*]:22", "[" + addr + "]:22", "fd5f:1ee7:*", "mail9,!mail8," + addr} {
			t.Run(pattern, func(t *testing.T) {
				c := connects(t, withKnownHosts("@cert-authority "+pattern+" "+caPub))
				if fp := c.HostKeyFingerprint(); !strings.Contains(fp, "certificate") || !strings.Contains(fp, keyBlob[:11]) {
					t.Errorf("fingerprint %q does not name the certificate", fp)
				}
			})
		}
	})
	t.Run("CA in host_key", func(t *testing.T) {
		connects(t, withHostKey("@cert-authority * "+caPub))
	})
	t.Run("CA line for other hosts", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority *.example.org "+caPub, "@cert-authority [*]:2222 "+caPub, "@cert-authority !"+addr+",* "+caPub)
		hk := refused(t, h, cfg, "is unknown", "match", cfg.KnownHostsFile+":1", cfg.KnownHostsFile+":2", cfg.KnownHostsFile+":3", "port 22 only")
		if !hk.Unknown {
			t.Errorf("Unknown is false")
		}
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority * " + otherCAPub)
		_ = refused(t, h, cfg, "signed by a CA", "no @cert-authority line", cfg.KnownHostsFile+":1")
	})
	t.Run("revoked CA in known_hosts", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority * "+caPub, "@revoked * "+caPub)
		hk := refused(t, h, cfg, "revoked", cfg.KnownHostsFile+":2", "CA")
		if !hk.Revoked {
			t.Errorf("Revoked is false")
		}
	})
	t.Run("revoked host key in known_hosts", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority * "+caPub, "@revoked * "+keyBlob, addr+" "+keyBlob)
		hk := refused(t, h, cfg, "revoked", cfg.KnownHostsFile+":2")
		if !hk.Revoked {
			t.Errorf("Revoked is false")
		}
	})
	t.Run("revoked host key in host_key", func(t *testing.T) {
		for name, lines := range map[string][]string{
			"alone":   {"@revoked * " + keyBlob},
			"with CA": {"@cert-authority * " + caPub, "@revoked * " + keyBlob},
		} {
			t.Run(name, func(t *testing.T) {
				hk := refused(t, h, withHostKey(lines...), "revoked", "host_key")
				if !hk.Revoked {
					t.Errorf("Revoked is false")
				}
			})
		}
	})

	useHostCertificate(t, h, signHostKey(t, h, ca, "mail1-wrong-name", "-n", "mail9.example.org"))

	t.Run("wrong principal", func(t *testing.T) {
		cfg := withKnownHosts("@cert-authority * " + caPub)
		hk := refused(t, h, cfg, "mail9.example.org", "not for "+addr, "mail1-wrong-name", "-n "+addr)
		if !hk.Certificate {
			t.Errorf("Certificate is false")
		}
	})
	t.Run("wrong principal, the plain key is known too", func(t *testing.T) {
		connects(t, withKnownHosts("@cert-authority * "+caPub, addr+" "+keyBlob))
	})

	useHostCertificate(t, h, signHostKey(t, h, ca, "mail1-expired", "-n", addr, "-V", "20200101:20200102"))

	t.Run("expired certificate", func(t *testing.T) {
		_ = refused(t, h, withKnownHosts("@cert-authority * "+caPub), "expired", "mail1-expired")
	})
}
