package sshhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/safetext"
)

// Conn is one SSH connection to a host.
type Conn struct {
	cfg         Config
	client      *ssh.Client
	agentSock   net.Conn // ssh-agent connection, when used for auth
	fingerprint string

	done      chan struct{} // closed when the connection is gone
	closeOnce sync.Once
	closing   bool // Close was called (under mu)

	mu     sync.Mutex
	agents map[*Agent]bool
	facts  *remoteFacts
}

// Dial connects to the host and verifies its key. A host key that does not
// verify ends the dial before authentication: nothing is done on the host.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	name := cfg.String()
	fail := func(step Step, err error) (*Conn, error) {
		return nil, &StepError{Host: name, Step: step, Err: err}
	}
	if err := cfg.validate(); err != nil {
		return fail(StepConfig, err)
	}
	hk, err := newHostKeyCheck(cfg)
	if err != nil {
		return fail(StepHostKey, err)
	}
	auth, agentSock, err := authMethods(cfg)
	if err != nil {
		return fail(StepAuth, err)
	}
	closeAgentSock := func() {
		if agentSock != nil {
			agentSock.Close()
		}
	}

	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		dial = d.DialContext
	}
	tcp, err := dial(dctx, "tcp", cfg.Address())
	if err != nil {
		closeAgentSock()
		return fail(StepDial, err)
	}
	// The handshake honours the context through a deadline and a watcher.
	if dl, ok := dctx.Deadline(); ok {
		_ = tcp.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { tcp.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(tcp, cfg.Address(), &ssh.ClientConfig{
		User:              cfg.user(),
		Auth:              auth,
		HostKeyCallback:   hk.HostKeyCallback,
		HostKeyAlgorithms: hk.algos,
		Timeout:           timeout,
	})
	stopped := stop()
	if err != nil {
		tcp.Close()
		closeAgentSock()
		switch {
		case hk.err != nil:
			return fail(StepHostKey, hk.err)
		case hk.offered == nil && len(hk.algos) > 0 && strings.Contains(err.Error(), "no common algorithm for host key"):
			hint := ""
			if hk.hint != "" {
				hint = ". " + hk.hint
			}
			return fail(StepHostKey, fmt.Errorf("the host offers no host key of the expected type (%s): %w%s", strings.Join(hk.algos, ", "), err, hint))
		case hk.offered != nil && strings.Contains(err.Error(), "unable to authenticate"):
			return fail(StepAuth, fmt.Errorf("user %s was refused (%w); is the key in ~%s/.ssh/authorized_keys on the host?", cfg.user(), err, cfg.user()))
		case !stopped && dctx.Err() != nil:
			return fail(StepDial, fmt.Errorf("SSH handshake: %w", dctx.Err()))
		}
		return fail(StepDial, fmt.Errorf("SSH handshake: %w", err))
	}
	_ = tcp.SetDeadline(time.Time{})
	c := &Conn{
		cfg:       cfg,
		client:    ssh.NewClient(sc, chans, reqs),
		agentSock: agentSock,
		done:      make(chan struct{}),
		agents:    map[*Agent]bool{},
	}
	if hk.offered != nil {
		c.fingerprint = fingerprint(hk.offered)
	}
	go func() {
		_ = c.client.Wait()
		c.markDone()
	}()
	if cfg.KeepaliveInterval >= 0 {
		iv := cfg.KeepaliveInterval
		if iv == 0 {
			iv = 15 * time.Second
		}
		go c.keepalive(iv)
	}
	return c, nil
}

func authMethods(cfg Config) ([]ssh.AuthMethod, net.Conn, error) {
	if cfg.PrivateKey != "" {
		signer, err := ssh.ParsePrivateKey([]byte(cfg.PrivateKey))
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, nil, errors.New("the private key is protected by a passphrase; load it into ssh-agent (ssh-add) and leave private_key unset")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("private key: %w", err)
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, nil, nil
	}
	sock := cfg.AgentSocket
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock == "" {
		return nil, nil, errors.New("no private key given and SSH_AUTH_SOCK is not set: set private_key or start ssh-agent")
	}
	ac, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(ac).Signers)}, ac, nil
}

func (c *Conn) markDone() {
	c.closeOnce.Do(func() {
		close(c.done)
		if c.agentSock != nil {
			c.agentSock.Close()
		}
	})
}

// keepalive notices a host that vanished without closing the TCP
// connection (network cut, host frozen) and closes the connection.
func (c *Conn) keepalive(iv time.Duration) {
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		select {
		case <-c.done:
			return
		case err := <-res:
			if err != nil {
				c.client.Close()
				return
			}
		case <-time.After(iv):
			c.client.Close()
			return
		}
	}
}

// Config is the configuration the connection was dialled with.
func (c *Conn) Config() Config { return c.cfg }

// HostKeyFingerprint is the host key the host presented ("ssh-ed25519 SHA256:...").
func (c *Conn) HostKeyFingerprint() string { return c.fingerprint }

// Done is closed when the connection is gone (closed or lost).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Alive reports whether the connection is still up.
func (c *Conn) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close ends every agent started on the connection, then the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closing = true
	agents := make([]*Agent, 0, len(c.agents))
	for a := range c.agents {
		agents = append(agents, a)
	}
	c.mu.Unlock()
	var errs []error
	for _, a := range agents {
		if err := a.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	err := c.client.Close()
	<-c.done
	if err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Conn) stepErr(step Step, err error) error {
	if !c.Alive() {
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if !closing && !errors.Is(err, ErrConnectionLost) {
			err = fmt.Errorf("%w (%v)", ErrConnectionLost, err)
		}
	}
	return &StepError{Host: c.cfg.String(), Step: step, Err: err}
}

// run runs a shell command on the host and returns its output. A non-zero
// exit is an error carrying stderr.
func (c *Conn) run(ctx context.Context, cmd string, stdin io.Reader) (stdout, stderr []byte, err error) {
	sess, err := c.client.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("new session: %w", err)
	}
	defer sess.Close()
	var o, e bytes.Buffer
	sess.Stdout, sess.Stderr = &o, limitWriter(&e, 64<<10)
	if stdin != nil {
		sess.Stdin = stdin
	}
	res := make(chan error, 1)
	go func() { res <- sess.Run(cmd) }()
	select {
	case err = <-res:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		sess.Close()
		<-res //nolint:errcheck // ended by the signal; ctx's error is the one to report
		return o.Bytes(), e.Bytes(), ctx.Err()
	case <-c.done:
		// The session ends with the connection; give it a moment to say so.
		select {
		case err = <-res:
		case <-time.After(time.Second):
			err = io.EOF
		}
	}
	if err != nil {
		var ee *ssh.ExitError
		var missing *ssh.ExitMissingError
		if errors.As(err, &missing) || errors.Is(err, io.EOF) {
			return o.Bytes(), e.Bytes(), fmt.Errorf("%w: the session ended without an exit status", ErrConnectionLost)
		}
		if errors.As(err, &ee) {
			return o.Bytes(), e.Bytes(), fmt.Errorf("exit status %d: %s", ee.ExitStatus(), oneLine(e.Bytes()))
		}
		return o.Bytes(), e.Bytes(), err
	}
	return o.Bytes(), e.Bytes(), nil
}

// maxDiag bounds the host's text in one error message.
const maxDiag = 2048

// oneLine is what a host wrote on stderr, for an error message: its end
// (at most maxDiag bytes: where a failure is said), lines joined by "; ",
// every control character and invalid byte escaped (safetext), so that a
// broken or hostile host cannot flood or rewrite the operator's terminal.
func oneLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(no output)"
	}
	s = safetext.TailText(s, maxDiag)
	return strings.NewReplacer("\n", "; ", "\t", " ").Replace(s)
}

type limited struct {
	w io.Writer
	n int
}

func limitWriter(w io.Writer, n int) io.Writer { return &limited{w, n} }

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		q := p
		if len(q) > l.n {
			q = q[:l.n]
		}
		_, _ = l.w.Write(q) // a log of the remote's stderr: best effort
		l.n -= len(q)
	}
	return len(p), nil
}
