package sshhost

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// fingerprint is "ssh-ed25519 SHA256:...".
func fingerprint(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// ParseHostKey reads an authorized_keys line ("ssh-ed25519 AAAA... comment")
// or a known_hosts/ssh-keyscan line ("host ssh-ed25519 AAAA...").
func ParseHostKey(s string) (ssh.PublicKey, error) {
	line := []byte(strings.TrimSpace(s))
	if k, _, _, _, err := ssh.ParseAuthorizedKey(line); err == nil {
		return k, nil
	}
	_, _, k, _, _, err := ssh.ParseKnownHosts(line)
	if err != nil {
		return nil, fmt.Errorf("host key %q is neither an authorized_keys line (\"ssh-ed25519 AAAA...\") nor a known_hosts line", abbrev(s))
	}
	return k, nil
}

func abbrev(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// hostKeyAlgorithms lists the signature algorithms for public keys of the
// given types, so that the server presents a key the configuration knows
// (a host with ecdsa and ed25519 keys offers ecdsa first by default).
func hostKeyAlgorithms(types []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	for _, t := range types {
		switch t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return out
}

// hostKeyCheck is the verification of one dial: the callback, the
// algorithms to ask for, and what it saw.
type hostKeyCheck struct {
	callback ssh.HostKeyCallback
	algos    []string
	offered  ssh.PublicKey
	err      error // the verification error, if the callback refused
}

func (h *hostKeyCheck) HostKeyCallback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	h.offered = key
	if err := h.callback(hostname, remote, key); err != nil {
		h.err = err
		return err
	}
	return nil
}

func newHostKeyCheck(c Config) (*hostKeyCheck, error) {
	addr := c.Address()
	switch {
	case c.HostKey != "":
		want, err := ParseHostKey(c.HostKey)
		if err != nil {
			return nil, err
		}
		return &hostKeyCheck{
			algos: hostKeyAlgorithms([]string{want.Type()}),
			callback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
				if bytes.Equal(got.Marshal(), want.Marshal()) {
					return nil
				}
				return &HostKeyError{
					Address:  addr,
					Offered:  fingerprint(got),
					Expected: []string{fingerprint(want) + " (host_key)"},
					Hint: "If the host was reinstalled and the offered key is right, put its public key in host_key " +
						"(on the host: cat /etc/ssh/ssh_host_" + keyFileType(want.Type()) + "_key.pub); otherwise someone may be intercepting the connection.",
				}
			},
		}, nil
	case c.InsecureSkipHostKeyVerification:
		return &hostKeyCheck{callback: ssh.InsecureIgnoreHostKey()}, nil
	default:
		file := c.knownHostsFile()
		if file == "" {
			return nil, errors.New("no host key: set host_key or known_hosts_file (no home directory for ~/.ssh/known_hosts)")
		}
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("no host key: known_hosts file %s: %w; set host_key, or add the host: ssh-keyscan -p %d %s >> %s",
				file, err, c.port(), c.Host, file)
		}
		cb, err := knownhosts.New(file)
		if err != nil {
			return nil, fmt.Errorf("known_hosts file %s: %w", file, err)
		}
		h := &hostKeyCheck{}
		// Ask for the key types the file has for this host: the callback
		// with a key no file can hold reports every entry that matches.
		var ke *knownhosts.KeyError
		if err := cb(addr, &net.TCPAddr{}, probeKey{}); errors.As(err, &ke) {
			var types []string
			for _, k := range ke.Want {
				types = append(types, k.Key.Type())
			}
			h.algos = hostKeyAlgorithms(types)
		}
		if len(h.algos) == 0 {
			// Unknown host: ask for the type ssh-keyscan lines usually carry.
			h.algos = hostKeyAlgorithms([]string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA})
		}
		h.callback = func(hostname string, remote net.Addr, got ssh.PublicKey) error {
			err := cb(hostname, remote, got)
			if err == nil {
				return nil
			}
			var ke *knownhosts.KeyError
			var re *knownhosts.RevokedError
			switch {
			case errors.As(err, &re):
				return &HostKeyError{Address: addr, Offered: fingerprint(got), Revoked: true,
					Hint: fmt.Sprintf("(%s:%d)", re.Revoked.Filename, re.Revoked.Line)}
			case errors.As(err, &ke) && len(ke.Want) == 0:
				return &HostKeyError{Address: addr, Offered: fingerprint(got), Unknown: true,
					Hint: fmt.Sprintf("Check that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then add it: ssh-keyscan -p %d -t %s %s >> %s",
						keyFileType(got.Type()), c.port(), keyFileType(got.Type()), c.Host, file)}
			case errors.As(err, &ke):
				var exp []string
				for _, k := range ke.Want {
					exp = append(exp, fmt.Sprintf("%s (%s:%d)", fingerprint(k.Key), k.Filename, k.Line))
				}
				return &HostKeyError{Address: addr, Offered: fingerprint(got), Expected: exp,
					Hint: fmt.Sprintf("If the host was reinstalled and the offered key is right, replace its line in %s (ssh-keygen -R %s -f %s, then ssh-keyscan); otherwise someone may be intercepting the connection.",
						file, knownhosts.Normalize(addr), file)}
			}
			return err
		}
		return h, nil
	}
}

// keyFileType is the name OpenSSH uses in ssh_host_<type>_key and ssh-keyscan -t.
func keyFileType(t string) string {
	switch {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	}
	return t
}

// probeKey is a public key no known_hosts file holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "dockeripv6-probe" }
func (probeKey) Marshal() []byte                     { return []byte("dockeripv6-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }
