package sshhost

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" // known_hosts hashes host names with HMAC-SHA1
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// fingerprint is "ssh-ed25519 SHA256:...", and for a certificate
// `host certificate "ID" for ssh-ed25519 SHA256:... signed by CA ssh-ed25519 SHA256:...`.
func fingerprint(k ssh.PublicKey) string {
	if cert, ok := k.(*ssh.Certificate); ok {
		return fmt.Sprintf("host certificate %q for %s signed by CA %s", cert.KeyId, fingerprint(cert.Key), fingerprint(cert.SignatureKey))
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// ParseHostKey reads an authorized_keys line ("ssh-ed25519 AAAA... comment")
// or a known_hosts/ssh-keyscan line ("host ssh-ed25519 AAAA...").
// A line with a marker (@cert-authority, @revoked) is not a host key.
func ParseHostKey(s string) (ssh.PublicKey, error) {
	line := []byte(strings.TrimSpace(s))
	if strings.HasPrefix(string(line), "@") {
		return nil, fmt.Errorf("host key %q is a %s line, not a host key", abbrev(s), strings.Fields(string(line))[0])
	}
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
	err      error  // the verification error, if the callback refused
	hint     string // more to say when the host offers none of algos
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
	var t *trust
	var err error
	switch {
	case c.HostKey != "":
		t, err = hostKeyTrust(c.HostKey)
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
		t, err = knownHostsTrust(file, c.Host, strconv.Itoa(c.port()))
	}
	if err != nil {
		return nil, err
	}
	t.cfg = c
	h := &hostKeyCheck{
		algos:    t.algorithms(),
		callback: func(_ string, _ net.Addr, got ssh.PublicKey) error { return t.check(got) },
	}
	if len(t.cas) == 0 && len(t.otherCAs) > 0 {
		h.hint = t.otherCAsHint()
	}
	return h, nil
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

// trust is what the configuration accepts from one host: its plain host
// keys, the CAs whose host certificates it accepts (@cert-authority) and
// the keys it never accepts (@revoked). In host_key every line is about
// the host (host patterns are ignored); in a known_hosts file the lines
// whose patterns match the host, and every @revoked line whatever its
// pattern.
type trust struct {
	cfg      Config
	file     string    // the known_hosts file; "" for host_key
	keys     []trusted // plain host keys
	cas      []trusted // @cert-authority keys
	revoked  []trusted // @revoked keys (a certificate's key, for a certificate)
	otherCAs []trusted // @cert-authority lines of the file for other hosts
}

type trusted struct {
	key     ssh.PublicKey
	at      string // "file:3", "host_key", "host_key line 2"
	pattern string // the line's host patterns, as written
}

func (t trusted) String() string { return fingerprint(t.key) + " (" + t.at + ")" }

// hostKeyTrust reads host_key: one or more lines, each the host's public
// key (authorized_keys or ssh-keyscan line), "@cert-authority <patterns>
// <CA key>" or "@revoked <patterns> <key>".
func hostKeyTrust(s string) (*trust, error) {
	t := &trust{}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for i, l := range lines {
		at := "host_key"
		if len(lines) > 1 {
			at = "host_key line " + strconv.Itoa(i+1)
		}
		if !strings.HasPrefix(l, "@") {
			k, err := ParseHostKey(l)
			if err != nil {
				return nil, err
			}
			t.keys = append(t.keys, trusted{key: k, at: at})
			continue
		}
		marker, hosts, k, _, _, err := ssh.ParseKnownHosts([]byte(l))
		if err != nil {
			return nil, fmt.Errorf("host key %q: %v; a marked line is \"@cert-authority * ssh-ed25519 AAAA...\" or \"@revoked * ssh-ed25519 AAAA...\"", abbrev(l), err)
		}
		if err := t.add(marker, trusted{key: k, at: at, pattern: strings.Join(hosts, ",")}, true); err != nil {
			return nil, fmt.Errorf("host key %q: %w", abbrev(l), err)
		}
	}
	if len(t.keys)+len(t.cas)+len(t.revoked) == 0 {
		return nil, errors.New("host_key holds no key")
	}
	return t, nil
}

// knownHostsTrust reads a known_hosts file for host and port. A pattern
// matches as in golang.org/x/crypto/ssh/knownhosts: "[host]:port" names a
// port, a pattern without one (a name, an address, "*") matches port 22
// only; "*" and "?" are wildcards, "!" negates, "|1|..." is hashed.
func knownHostsTrust(file, host, port string) (*trust, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("known_hosts file %s: %w", file, err)
	}
	t := &trust{file: file}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		at := file + ":" + strconv.Itoa(i+1)
		marker, hosts, k, _, _, err := ssh.ParseKnownHosts([]byte(l))
		if err != nil {
			return nil, fmt.Errorf("known_hosts file %s: %v", at, err)
		}
		if err := t.add(marker, trusted{key: k, at: at, pattern: strings.Join(hosts, ",")}, patternsMatch(hosts, host, port)); err != nil {
			return nil, fmt.Errorf("known_hosts file %s: %w", at, err)
		}
	}
	return t, nil
}

func (t *trust) add(marker string, e trusted, matches bool) error {
	switch marker {
	case "revoked":
		if cert, ok := e.key.(*ssh.Certificate); ok {
			e.key = cert.Key
		}
		t.revoked = append(t.revoked, e)
	case "cert-authority":
		if matches {
			t.cas = append(t.cas, e)
		} else {
			t.otherCAs = append(t.otherCAs, e)
		}
	case "":
		if matches {
			t.keys = append(t.keys, e)
		}
	default:
		return fmt.Errorf("unknown marker @%s: want @cert-authority or @revoked", marker)
	}
	return nil
}

// certAlgorithms are the host certificate algorithms asked for first when
// a CA is trusted: a CA of one key type may sign host keys of any type.
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// algorithms are the host key algorithms to ask for: certificates first
// when a CA is trusted, then the types of the trusted plain keys (or, with
// none, the types ssh-keyscan lines usually carry, so that the error can
// name the key the host offers).
func (t *trust) algorithms() []string {
	var out []string
	if len(t.cas) > 0 {
		out = append(out, certAlgorithms...)
	}
	var types []string
	for _, k := range t.keys {
		types = append(types, k.key.Type())
	}
	if len(types) == 0 {
		types = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA}
	}
	return append(out, hostKeyAlgorithms(types)...)
}

func find(list []trusted, k ssh.PublicKey) *trusted {
	for i := range list {
		if bytes.Equal(list[i].key.Marshal(), k.Marshal()) {
			return &list[i]
		}
	}
	return nil
}

// source names where the trust comes from, for messages.
func (t *trust) source() string {
	if t.file == "" {
		return "host_key"
	}
	return t.file
}

func (t *trust) fail(got ssh.PublicKey) *HostKeyError {
	return &HostKeyError{Address: t.cfg.Address(), Offered: fingerprint(got)}
}

// check verifies the key the host offered.
func (t *trust) check(got ssh.PublicKey) error {
	cert, isCert := got.(*ssh.Certificate)
	plain := got
	if isCert {
		plain = cert.Key
	}
	if r := find(t.revoked, plain); r != nil {
		e := t.fail(got)
		e.Revoked = true
		e.Reason = "whose key is marked @revoked (" + r.at + ")"
		if !isCert {
			e.Reason = "which is marked @revoked (" + r.at + ")"
		}
		e.Hint = "A revoked key is never accepted. If the host still uses it, give the host a new key and trust that one; if the @revoked line is a mistake, remove it."
		return e
	}
	if isCert {
		if r := find(t.revoked, cert.SignatureKey); r != nil {
			e := t.fail(got)
			e.Revoked = true
			e.Reason = "signed by a CA that is marked @revoked (" + r.at + ")"
			e.Hint = "Certificates of a revoked CA are never accepted. Sign the host key with the new CA and trust that CA with a @cert-authority line."
			return e
		}
		certErr := t.checkCert(cert)
		if certErr == nil || find(t.keys, plain) != nil {
			return nil // a valid certificate, or its key is trusted as a plain key
		}
		return certErr
	}
	if find(t.keys, plain) != nil {
		return nil
	}
	switch {
	case len(t.keys) == 0 && len(t.cas) > 0:
		return t.noCertificate(got)
	case len(t.keys) == 0 && t.file == "":
		e := t.fail(got)
		e.Reason = "which host_key does not trust: it has only @revoked lines"
		e.Hint = "Put the host's public key in host_key (on the host: cat /etc/ssh/ssh_host_" + keyFileType(got.Type()) + "_key.pub)."
		return e
	case len(t.keys) == 0:
		return t.unknown(got)
	}
	return t.mismatch(got)
}

// checkCert verifies a host certificate against the trusted CAs: a host
// certificate, signed by one of them, for the host as written in the
// configuration, valid now.
func (t *trust) checkCert(cert *ssh.Certificate) *HostKeyError {
	e := t.fail(cert)
	e.Certificate = true
	host := t.cfg.Host
	if cert.CertType != ssh.HostCert {
		e.Reason = "which is a user certificate, not a host certificate"
		e.Hint = "Sign the host key with ssh-keygen -h."
		return e
	}
	if find(t.cas, cert.SignatureKey) == nil {
		var want []string
		for _, ca := range t.cas {
			want = append(want, ca.String())
		}
		e.Reason = fmt.Sprintf("signed by a CA that no @cert-authority line for %s names (it trusts %s)", t.cfg.Address(), joinOr(want))
		e.Hint = "If the host's certificate comes from a new CA, add a @cert-authority line for that CA; otherwise the host is not the one the configuration means."
		return e
	}
	principal, ok := certPrincipal(cert, host)
	if !ok {
		e.Reason = fmt.Sprintf("whose principals are %s: it is not for %s", strings.Join(cert.ValidPrincipals, ", "), host)
		e.Hint = fmt.Sprintf("A host certificate must name the host as the configuration writes it. Sign the host key again with that name: ssh-keygen -s <CA key> -I %s -h -n %s /etc/ssh/ssh_host_%s_key.pub.",
			cert.KeyId, host, keyFileType(cert.Key.Type()))
		return e
	}
	now := time.Now()
	if after := int64(cert.ValidAfter); after < 0 || now.Unix() < after {
		e.Reason = "which is not valid before " + certTime(cert.ValidAfter)
		e.Hint = "Check the clocks of this machine and of the CA, or sign the host key again with a validity that includes now (ssh-keygen -V)."
		return e
	}
	if before := int64(cert.ValidBefore); cert.ValidBefore != ssh.CertTimeInfinity && (before < 0 || now.Unix() >= before) {
		e.Reason = "which expired at " + certTime(cert.ValidBefore)
		e.Hint = "Sign the host key again with a validity that includes now (ssh-keygen -V) and restart sshd."
		return e
	}
	// The signature and critical options (principal and validity are
	// checked above).
	if err := (&ssh.CertChecker{}).CheckCert(principal, cert); err != nil {
		e.Reason = "which does not verify: " + strings.TrimPrefix(err.Error(), "ssh: ")
		e.Hint = "Sign the host key again with the CA."
		return e
	}
	return nil
}

// certPrincipal finds the principal of cert that names host (OpenSSH
// accepts wildcards in host certificates' principals). No principal at
// all means any host, as in OpenSSH.
func certPrincipal(cert *ssh.Certificate, host string) (string, bool) {
	if len(cert.ValidPrincipals) == 0 {
		return host, true
	}
	for _, p := range cert.ValidPrincipals {
		if wildcardMatch(strings.ToLower(p), strings.ToLower(host)) {
			return p, true
		}
	}
	return "", false
}

func certTime(t uint64) string {
	if t > 1<<62 {
		return "the end of time"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

func (t *trust) noCertificate(got ssh.PublicKey) *HostKeyError {
	e := t.fail(got)
	e.NoCertificate = true
	var at []string
	for _, ca := range t.cas {
		at = append(at, ca.at)
	}
	e.Reason = fmt.Sprintf("a plain host key, not a certificate: %s trusts only host certificates signed by a CA for this host (@cert-authority, %s)",
		t.source(), strings.Join(at, ", "))
	typ := keyFileType(got.Type())
	e.Hint = fmt.Sprintf("Give sshd a host certificate: sign its key with the CA (ssh-keygen -s <CA key> -I <name> -h -n %s /etc/ssh/ssh_host_%s_key.pub), "+
		"add HostCertificate /etc/ssh/ssh_host_%s_key-cert.pub to sshd_config and restart sshd. Or trust the plain key, checked on the host (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub): ",
		t.cfg.Host, typ, typ, typ)
	if t.file == "" {
		e.Hint += "add it to host_key."
	} else {
		e.Hint += fmt.Sprintf("ssh-keyscan -p %d -t %s %s >> %s", t.cfg.port(), typ, t.cfg.Host, t.file)
	}
	return e
}

func (t *trust) unknown(got ssh.PublicKey) *HostKeyError {
	e := t.fail(got)
	e.Unknown = true
	typ := keyFileType(got.Type())
	if len(t.otherCAs) > 0 {
		e.Hint = t.otherCAsHint() + " "
	}
	e.Hint += fmt.Sprintf("Check that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then add it: ssh-keyscan -p %d -t %s %s >> %s",
		typ, t.cfg.port(), typ, t.cfg.Host, t.file)
	return e
}

// otherCAsHint says which @cert-authority lines did not match the host,
// and the port rule that is the usual reason.
func (t *trust) otherCAsHint() string {
	var lines []string
	for _, ca := range t.otherCAs {
		lines = append(lines, ca.at+" ("+ca.pattern+")")
	}
	h := fmt.Sprintf("The @cert-authority lines of %s do not match %s: %s. A pattern without [ ]:port (a name, an address, *) matches port 22 only, and [pattern]:port that port only",
		t.file, t.cfg.Address(), strings.Join(lines, ", "))
	if p := t.cfg.port(); p != 22 {
		h += fmt.Sprintf(": for port %d write [*]:%d or [%s]:%d", p, p, t.cfg.Host, p)
	}
	return h + "."
}

// mismatch is a plain key that is not one of the host's trusted keys: the
// host was reinstalled, or someone is in the middle.
func (t *trust) mismatch(got ssh.PublicKey) *HostKeyError {
	e := t.fail(got)
	for _, k := range t.keys {
		e.Expected = append(e.Expected, k.String())
	}
	if t.file == "" {
		e.Hint = "If the host was reinstalled and the offered key is right, put its public key in host_key " +
			"(on the host: cat /etc/ssh/ssh_host_" + keyFileType(got.Type()) + "_key.pub); otherwise someone may be intercepting the connection."
	} else {
		e.Hint = fmt.Sprintf("If the host was reinstalled and the offered key is right, replace its line in %s (ssh-keygen -R %s -f %s, then ssh-keyscan); otherwise someone may be intercepting the connection.",
			t.file, knownHostsName(t.cfg.Host, strconv.Itoa(t.cfg.port())), t.file)
	}
	if len(t.cas) > 0 {
		e.Hint += " The host offered no certificate for the @cert-authority lines either."
	}
	return e
}

// knownHostsName is the host as known_hosts writes it: "host" on port 22,
// "[host]:port" on another.
func knownHostsName(host, port string) string {
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

// patternsMatch reports whether a known_hosts line's patterns match host
// and port: one pattern matches and no negated one does.
func patternsMatch(patterns []string, host, port string) bool {
	host = strings.ToLower(host)
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if !patternMatch(strings.TrimPrefix(p, "!"), host, port) {
			continue
		}
		if neg {
			return false
		}
		matched = true
	}
	return matched
}

func patternMatch(p, host, port string) bool {
	if strings.HasPrefix(p, "|") {
		return hashedMatch(p, knownHostsName(host, port))
	}
	ph, pp := p, "22"
	if h, hp, err := net.SplitHostPort(p); err == nil {
		ph, pp = h, hp
	} else if strings.HasPrefix(p, "[") {
		return false
	}
	return pp == port && wildcardMatch(strings.ToLower(ph), host)
}

// hashedMatch matches a hashed pattern ("|1|salt|hash", ssh-keygen -H).
func hashedMatch(p, name string) bool {
	parts := strings.Split(p, "|")
	if len(parts) != 4 || parts[1] != "1" {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	want, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), want)
}

// wildcardMatch matches OpenSSH's patterns: "*" any run of characters,
// "?" one character.
func wildcardMatch(pat, s string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if wildcardMatch(pat[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || pat[0] != s[0] {
				return false
			}
		}
		pat, s = pat[1:], s[1:]
	}
	return s == ""
}
