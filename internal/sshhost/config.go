package sshhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// SudoMode says how the agent becomes root when the SSH user is not root.
type SudoMode int

const (
	// SudoAuto (the default) runs the agent directly as root when the user
	// is root and through `sudo -n` otherwise.
	SudoAuto SudoMode = iota
	// SudoAlways is SudoAuto with the intent written down: a non-root user
	// is expected (the behaviour is the same).
	SudoAlways
	// SudoNever never uses sudo: a non-root user is an error.
	SudoNever
)

func (m SudoMode) String() string {
	switch m {
	case SudoAlways:
		return "always"
	case SudoNever:
		return "never"
	default:
		return "auto"
	}
}

// ParseSudoMode reads "auto" (or ""), "always"/"true", "never"/"false".
func ParseSudoMode(s string) (SudoMode, error) {
	switch s {
	case "", "auto":
		return SudoAuto, nil
	case "always", "true":
		return SudoAlways, nil
	case "never", "false":
		return SudoNever, nil
	}
	return SudoAuto, fmt.Errorf("sudo %q: want auto, always (true) or never (false)", s)
}

// DefaultAgentDir is where the agent binary is kept on the host, one file
// per content hash, in a directory only root can read (0700 root:root).
const DefaultAgentDir = "/var/lib/dockeripv6/agent"

// Config is how to reach one host.
type Config struct {
	Host string // name or address (an IPv6 address without brackets)
	Port int    // default 22
	User string // default root

	// PrivateKey is a PEM private key (unencrypted). Empty: the keys of the
	// ssh-agent at SSH_AUTH_SOCK (or AgentSocket).
	PrivateKey  string
	AgentSocket string // default $SSH_AUTH_SOCK

	// HostKey is the host's public key as an authorized_keys line
	// ("ssh-ed25519 AAAA... comment") or a known_hosts/ssh-keyscan line
	// ("host ssh-ed25519 AAAA..."); more lines may follow, among them
	// "@cert-authority * <CA key>" (host certificates signed by that CA)
	// and "@revoked * <key>" (never accepted); in HostKey every line is
	// about this host, whatever its host pattern. KnownHostsFile is an
	// OpenSSH known_hosts file (plain keys, @cert-authority and @revoked
	// lines; a pattern without [host]:port matches port 22 only). With
	// neither, ~/.ssh/known_hosts is used. With both, HostKey wins.
	HostKey        string
	KnownHostsFile string

	// InsecureSkipHostKeyVerification accepts any host key. Only for
	// throw-away test hosts: anyone on the path can then impersonate the
	// host and receive root's agent. The offered key's fingerprint is still
	// reported (Conn.HostKeyFingerprint) so that callers can warn.
	InsecureSkipHostKeyVerification bool

	Sudo SudoMode

	// AgentBinary, when set, is the local file uploaded as the agent
	// instead of the one StartAgent is given (a build for the host's
	// architecture: GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build).
	AgentBinary string
	// AgentDir is the root-only directory on the host that keeps agent
	// binaries by hash (default DefaultAgentDir).
	AgentDir string

	DialTimeout       time.Duration // TCP + SSH handshake; default 20s
	KeepaliveInterval time.Duration // SSH keepalive; default 15s; negative disables

	// Dial replaces the TCP dialer (tests, jump hosts, network namespaces).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c Config) port() int {
	if c.Port == 0 {
		return 22
	}
	return c.Port
}

func (c Config) user() string {
	if c.User == "" {
		return "root"
	}
	return c.User
}

// Address is host:port as dialled ("[fd00::2]:22").
func (c Config) Address() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.port())) }

// String is user@host:port, the name errors use.
func (c Config) String() string { return c.user() + "@" + c.Address() }

func (c Config) agentDir() string {
	if c.AgentDir == "" {
		return DefaultAgentDir
	}
	return filepath.Clean(c.AgentDir)
}

func (c Config) knownHostsFile() string {
	if c.KnownHostsFile != "" {
		return c.KnownHostsFile
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}

func (c Config) validate() error {
	if c.Host == "" {
		return errors.New("host is empty")
	}
	if p := c.port(); p < 1 || p > 65535 {
		return fmt.Errorf("port %d is out of range", p)
	}
	if c.AgentDir != "" && (!filepath.IsAbs(c.AgentDir) || filepath.Clean(c.AgentDir) == "/") {
		return fmt.Errorf("agent directory %q must be an absolute path below /", c.AgentDir)
	}
	if c.AgentDir != "" && !shellSafe(c.AgentDir) {
		return fmt.Errorf("agent directory %q: only letters, digits and /._- are allowed", c.AgentDir)
	}
	return nil
}

// Key identifies the connection: two Configs with the same Key share one
// connection in a Pool. Secrets enter it only hashed.
func (c Config) Key() string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field(c.Host)
	field(strconv.Itoa(c.port()))
	field(c.user())
	pk := sha256.Sum256([]byte(c.PrivateKey))
	field(hex.EncodeToString(pk[:]))
	field(c.AgentSocket)
	field(c.HostKey)
	field(c.KnownHostsFile)
	field(strconv.FormatBool(c.InsecureSkipHostKeyVerification))
	field(c.Sudo.String())
	field(c.AgentBinary)
	field(c.agentDir())
	return hex.EncodeToString(h.Sum(nil))
}

func shellSafe(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '/', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return s != ""
}
