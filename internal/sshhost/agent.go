package sshhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/safetext"
)

// remoteFacts are what StartAgent learns about the host and the user once.
type remoteFacts struct {
	arch string // uname -m
	uid  int
	user string
}

// exitHashMismatch is the start script's exit code when the kept binary
// does not have the expected hash at the moment it would run.
const exitHashMismatch = 97

// exitUnsafePath is the scripts' exit code when a component of the agent's
// path is not safe (pathCheckFuncs); stderr says which and why.
const exitUnsafePath = 96

// unsafeMarker starts the line pathCheckFuncs print on stderr.
const unsafeMarker = "dockeripv6-unsafe-path: "

// rootMarker is printed by scripts that run as root, to tell a failure of
// sudo from a failure of the script.
const rootMarker = "dockeripv6-root-ok"

// Agent is the agent process on the host, seen as the stream of its stdin
// and stdout. Close ends it.
type Agent struct {
	Path     string // the binary on the host
	Hash     string // its sha256
	Uploaded bool   // this start uploaded it (false: it was there already)
	Sudo     bool   // started through sudo -n

	okUID  int // besides root, the owner accepted for directories on Path
	conn   *Conn
	sess   *ssh.Session
	stdin  io.WriteCloser
	stdout io.Reader
	stderr *tailBuffer

	exited  chan struct{}
	waitErr error

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

var _ io.ReadWriteCloser = (*Agent)(nil)

// StartAgent starts the agent on the host: localBinary (or
// Config.AgentBinary, when set) must be a Linux ELF binary for the host's
// architecture that serves the agent when run with the argument "agent"
// (MaybeServeAgent). It is uploaded only when the host does not already
// keep a file with its sha256, and the hash of what the host keeps is
// checked right before it runs.
func (c *Conn) StartAgent(ctx context.Context, localBinary string) (*Agent, error) {
	if c.cfg.AgentBinary != "" {
		localBinary = c.cfg.AgentBinary
	}
	if !c.Alive() {
		return nil, c.stepErr(StepArch, ErrConnectionLost)
	}

	ba, err := elfArch(localBinary)
	if err != nil {
		return nil, c.stepErr(StepArch, err)
	}
	facts, err := c.remoteFacts(ctx)
	if err != nil {
		return nil, c.stepErr(StepArch, err)
	}
	if !ba.runsOn(facts.arch) {
		return nil, c.stepErr(StepArch, fmt.Errorf(
			"the host is %s but the agent binary %s is built for %s; point agent_binary at a build for the host "+
				"(GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -o terraform-provider-dockeripv6_linux_%s .)",
			facts.arch, localBinary, ba.goarch, goarchOf(facts.arch), strings.Fields(goarchOf(facts.arch))[0]))
	}

	prefix, err := c.rootPrefix(facts)
	if err != nil {
		return nil, c.stepErr(StepSudo, err)
	}
	hash, err := fileSHA256(localBinary)
	if err != nil {
		return nil, c.stepErr(StepUpload, err)
	}
	dir := c.cfg.agentDir()
	file := dir + "/" + hash

	// The user's own directories are accepted on the agent's path when the
	// user becomes root with sudo (whoever can write them is root anyway).
	okUID := facts.uid
	a := &Agent{Path: file, Hash: hash, Sudo: prefix != "", conn: c, okUID: okUID}
	// Start what the host keeps; the start script checks its hash first and
	// refuses a missing or different file, and only then is the binary
	// uploaded (one session and one hash on the host for a warm start).
	for attempt := 0; ; attempt++ {
		err = c.start(ctx, a, prefix)
		if err == nil {
			break
		}
		if !errors.Is(err, errHashChanged) || attempt > 1 {
			return nil, err
		}
		if err := c.upload(ctx, prefix, dir, hash, localBinary, okUID); err != nil {
			return nil, err
		}
		a.Uploaded = true
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		a.Close()
		return nil, c.stepErr(StepStart, errors.New("the connection was closed while the agent started"))
	}
	c.agents[a] = true
	c.mu.Unlock()
	return a, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (c *Conn) remoteFacts(ctx context.Context) (remoteFacts, error) {
	c.mu.Lock()
	if c.facts != nil {
		f := *c.facts
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()
	out, _, err := c.run(ctx, "uname -m; id -u; id -un", nil)
	if err != nil {
		return remoteFacts{}, fmt.Errorf("uname -m; id -u: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 3 {
		return remoteFacts{}, fmt.Errorf("uname -m; id -u; id -un printed %q", safetext.Line(string(out), 256))
	}
	uid, err := strconv.Atoi(lines[1])
	if err != nil {
		return remoteFacts{}, fmt.Errorf("id -u printed %q", safetext.Line(lines[1], 64))
	}
	// What the host says goes into messages: bounded and escaped.
	f := remoteFacts{arch: safetext.Line(lines[0], 64), uid: uid, user: safetext.Line(lines[2], 64)}
	c.mu.Lock()
	c.facts = &f
	c.mu.Unlock()
	return f, nil
}

// rootPrefix is what runs a command as root: nothing for root, sudo -n otherwise.
func (c *Conn) rootPrefix(f remoteFacts) (string, error) {
	if f.uid == 0 {
		return "", nil
	}
	if c.cfg.Sudo == SudoNever {
		return "", fmt.Errorf("user %s (uid %d) is not root and sudo is set to never; the agent needs root: connect as root or allow sudo", f.user, f.uid)
	}
	return "sudo -n -- ", nil
}

func (c *Conn) sudoError(f remoteFacts, err error) error {
	return fmt.Errorf("user %s (uid %d) is not root and `sudo -n` failed (%v); the agent needs root: connect as root, or give %s passwordless sudo (sudoers: %s ALL=(root) NOPASSWD: ALL)",
		f.user, f.uid, err, f.user, f.user)
}

// asRoot wraps a script so that it runs as root.
func asRoot(prefix, script string) string {
	return prefix + "sh -c " + shellQuote("echo "+rootMarker+"; "+script)
}

// upload writes the binary under a temporary name of its own (mktemp: two
// uploads at once never touch each other's file), checks its hash, renames
// it into place and removes the other builds the agent kept (names of 64
// hex digits; nothing else in the directory is touched). The directory
// and every one above it are checked first (pathCheckFuncs); missing ones
// are made (root's, 0700).
func (c *Conn) upload(ctx context.Context, prefix, dir, hash, local string, okUID int) error {
	f, err := os.Open(local)
	if err != nil {
		return c.stepErr(StepUpload, err)
	}
	defer f.Close()
	script := `set -eu; umask 077
` + pathCheckFuncs(okUID) + `
d=` + dir + `; f=$d/` + hash + `
safedirs "$d" make
chown 0:0 "$d"; chmod 0700 "$d"
if [ -e "$f" ] || [ -L "$f" ]; then safe1 "$f" file 0; fi
t=$(mktemp "$d/.upload.XXXXXXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
` + hashFunc + `
h=$(sha "$t")
[ "$h" = ` + hash + ` ] || { echo "the uploaded file has sha256 $h, not ` + hash + ` (transfer damaged)" >&2; exit 1; }
chmod 0700 "$t"; mv -f "$t" "$f"
for o in "$d"/*; do
  n=${o##*/}
  [ "$n" != ` + hash + ` ] && [ ${#n} -eq 64 ] || continue
  case $n in *[!0-9a-f]*) continue;; esac
  if [ -f "$o" ] && [ ! -L "$o" ]; then rm -f "$o"; fi
done
find "$d" -maxdepth 1 -type f -name '.upload.??????????' -mmin +60 -exec rm -f {} + 2>/dev/null || :
echo uploaded`
	out, stderr, err := c.run(ctx, asRoot(prefix, script), f)
	if err == nil && !strings.Contains(string(out), "\nuploaded") {
		err = fmt.Errorf("no confirmation from the host (printed %q)", safetext.Line(string(out), 512))
	}
	if err != nil {
		if u := unsafePath(dir, stderr); u != nil {
			return c.stepErr(StepUpload, u)
		}
		return c.stepErr(StepUpload, fmt.Errorf("%s to %s: %w", local, dir+"/"+hash, err))
	}
	return nil
}

// pathCheckFuncs defines, in the host's shell (run as root):
//
//	safe1 PATH TYPE UID   PATH is a TYPE (directory or file), not a symbolic
//	                      link, owned by root or by UID, and not writable by
//	                      its group or by others; else exitUnsafePath
//	safedirs DIR [make]   safe1 for / and every directory down to DIR (with
//	                      okUID: a sudo user's own directories are accepted,
//	                      that user can become root anyway); make: make the
//	                      missing ones. Without make it returns 1 at the first
//	                      missing one.
//
// A non-root user who could write one of them could swap the binary that
// runs as root; once all of them pass, only root can change what is there.
func pathCheckFuncs(okUID int) string {
	return `okuid=` + strconv.Itoa(okUID) + `
unsafe() { echo "` + unsafeMarker + `$*" >&2; exit ` + strconv.Itoa(exitUnsafePath) + `; }
command -v stat >/dev/null 2>&1 || unsafe "the host has no stat command, so the owners and modes of the agent's path cannot be checked"
safe1() {
  _s=$(LC_ALL=C stat -c '%F:%u:%a' -- "$1" 2>/dev/null) || return 1
  _t=${_s%%:*}; _r=${_s#*:}; _u=${_r%%:*}; _m=${_r#*:}
  case $_t in symbolic*) unsafe "$1 is a symbolic link (a user who can change where it points could swap the binary that runs as root)";; esac
  case $2:$_t in directory:directory|file:regular*) ;; *) unsafe "$1 is a $_t, not a $2";; esac
  [ "$_u" = 0 ] || [ "$_u" = "$3" ] || unsafe "$1 is owned by uid $_u, not root (that user could swap the binary that runs as root)"
  [ $((0$_m & 022)) -eq 0 ] || unsafe "$1 is writable by its group or by others (mode $_m), so other users could swap the binary that runs as root"
}
safedirs() {
  safe1 / directory 0 || unsafe "/ cannot be read"
  _p=; _rest=${1#/}
  while [ -n "$_rest" ]; do
    case $_rest in */*) _c=${_rest%%/*}; _rest=${_rest#*/};; *) _c=$_rest; _rest=;; esac
    _p=$_p/$_c
    if ! safe1 "$_p" directory "$okuid"; then
      [ "${2:-}" = make ] || return 1
      mkdir "$_p" 2>/dev/null || :
      safe1 "$_p" directory "$okuid" || unsafe "$_p is missing and could not be made"
    fi
  done
}`
}

// UnsafePathError is a component of the agent's path on the host that
// another user could use to swap the binary that runs as root.
type UnsafePathError struct {
	Dir    string // the agent directory
	Reason string // "/var/lib/x is owned by uid 1000, not root (...)"
}

func (e *UnsafePathError) Error() string {
	return "the agent's path on the host is not safe: " + e.Reason + ". The agent runs as root from " + e.Dir +
		": every directory from / down to it, and the agent file, must be root's (with sudo, the user's own directories will do), " +
		"a real directory or file (not a symbolic link) and not writable by group or others; fix that on the host, and the next run goes on"
}

// unsafePath is the UnsafePathError a script printed on stderr, or nil.
func unsafePath(dir string, stderr []byte) error {
	for _, l := range strings.Split(string(stderr), "\n") {
		if r, ok := strings.CutPrefix(l, unsafeMarker); ok {
			return &UnsafePathError{Dir: dir, Reason: safetext.Line(r, 1024)}
		}
	}
	return nil
}

var errHashChanged = errors.New("the host does not keep this agent build (missing, or changed before it could start)")

// hashFunc defines sha FILE in the host's shell: the file's SHA-256 in hex
// ("" when it cannot be read), with openssl when the host has it (it uses
// the CPU's SHA instructions: about 20 ms for the provider's binary where
// coreutils' sha256sum takes 120 ms), else sha256sum.
const hashFunc = `sha() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" 2>/dev/null | cut -d' ' -f1; else sha256sum "$1" 2>/dev/null | cut -d' ' -f1; fi; }`

// start runs the binary with "agent" and waits for its banner.
func (c *Conn) start(ctx context.Context, a *Agent, prefix string) error {
	sess, err := c.client.NewSession()
	if err != nil {
		return c.stepErr(StepStart, fmt.Errorf("new session: %w", err))
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return c.stepErr(StepStart, err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return c.stepErr(StepStart, err)
	}
	a.stderr = &tailBuffer{max: 16 << 10}
	sess.Stderr = a.stderr
	// The binary is opened once (fd 3), and what is hashed and run is that
	// open file (/proc/self/fd/3), never the path again: nothing can be
	// swapped in between. Its path is checked first (pathCheckFuncs), so
	// that only root can have put there what is opened. The path follows
	// as an argument, for ps (argv[0] is /proc/self/fd/3).
	dir := path.Dir(a.Path)
	mismatch := strconv.Itoa(exitHashMismatch)
	script := pathCheckFuncs(a.okUID) + `
` + hashFunc + `
f=` + a.Path + `
safedirs ` + dir + ` || exit ` + mismatch + `
safe1 "$f" file 0 || exit ` + mismatch + `
exec 3< "$f" || exit ` + mismatch + `
[ -r /proc/self/fd/3 ] || unsafe "/proc is not mounted: the agent runs from its open file (/proc/self/fd/3), so that what runs is what was hashed"
[ "$(sha /proc/self/fd/3)" = ` + a.Hash + ` ] || { echo "$f: not the expected sha256 at start" >&2; exit ` + mismatch + `; }
exec /proc/self/fd/3 ` + AgentArg + ` "$f"`
	// No root marker here: stdout is the agent's stream from the first byte.
	if err := sess.Start(prefix + "sh -c " + shellQuote(script)); err != nil {
		sess.Close()
		return c.stepErr(StepStart, err)
	}
	a.sess, a.stdin, a.stdout = sess, stdin, stdout
	a.exited, a.closed = make(chan struct{}), make(chan struct{})
	go func() {
		a.waitErr = sess.Wait()
		close(a.exited)
	}()

	banner := make(chan error, 1)
	go func() {
		buf := make([]byte, len(Banner))
		_, err := io.ReadFull(stdout, buf)
		if err == nil && string(buf) != Banner {
			err = fmt.Errorf("the agent printed %q instead of its banner (is %s a dockeripv6 build that serves the agent?)", safetext.Line(string(buf), 64), a.Path)
		}
		banner <- err
	}()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case err = <-banner:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout.C:
		err = errors.New("no banner from the agent within 60s")
	}
	if err == nil {
		return nil
	}
	// Not started: find out why from its exit.
	stdin.Close()
	select {
	case <-a.exited:
	case <-time.After(3 * time.Second):
		sess.Close()
		<-a.exited
	}
	var ee *ssh.ExitError
	if errors.As(a.waitErr, &ee) {
		if ee.ExitStatus() == exitHashMismatch {
			return errHashChanged
		}
		if u := unsafePath(path.Dir(a.Path), a.stderr.Bytes()); u != nil && ee.ExitStatus() == exitUnsafePath {
			return c.stepErr(StepStart, u)
		}
		if prefix != "" && strings.HasPrefix(strings.TrimSpace(a.stderr.String()), "sudo:") {
			f, _ := c.remoteFacts(ctx)
			return c.stepErr(StepSudo, c.sudoError(f, fmt.Errorf("%s", oneLine(a.stderr.Bytes()))))
		}
		return c.stepErr(StepStart, fmt.Errorf("%s %s exited with status %d before it was ready: %s", a.Path, AgentArg, ee.ExitStatus(), oneLine(a.stderr.Bytes())))
	}
	return c.stepErr(StepStart, fmt.Errorf("%s %s: %w", a.Path, AgentArg, err))
}

// Read reads from the agent's stdout.
func (a *Agent) Read(p []byte) (int, error) {
	n, err := a.stdout.Read(p)
	if err != nil {
		err = a.streamErr(err)
	}
	return n, err
}

// Write writes to the agent's stdin.
func (a *Agent) Write(p []byte) (int, error) {
	n, err := a.stdin.Write(p)
	if err != nil {
		err = a.streamErr(err)
	}
	return n, err
}

// streamErr explains the end of the stream: io.EOF when the agent exited
// cleanly or was closed, a StepError naming the agent step otherwise.
func (a *Agent) streamErr(err error) error {
	select {
	case <-a.closed:
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("agent closed: %w", err)
	default:
	}
	// Wait a moment for the exit status (or the connection's end).
	select {
	case <-a.exited:
	case <-a.conn.done:
	case <-time.After(2 * time.Second):
	}
	if !a.conn.Alive() {
		return a.conn.stepErr(StepAgent, fmt.Errorf("%w while the agent was running (%v)", ErrConnectionLost, err))
	}
	select {
	case <-a.exited:
		var ee *ssh.ExitError
		var missing *ssh.ExitMissingError
		switch {
		case a.waitErr == nil && errors.Is(err, io.EOF):
			return io.EOF
		case errors.As(a.waitErr, &missing):
			// The session ended without an exit status: sshd's side of it is gone.
			return a.conn.stepErr(StepAgent, fmt.Errorf("%w: the session ended without an exit status while the agent was running (sshd's session process went away)", ErrConnectionLost))
		case errors.As(a.waitErr, &ee):
			return a.conn.stepErr(StepAgent, fmt.Errorf("the agent exited with status %d: %s", ee.ExitStatus(), oneLine(a.stderr.Bytes())))
		case a.waitErr != nil:
			return a.conn.stepErr(StepAgent, fmt.Errorf("the agent's session ended: %v", a.waitErr))
		}
	default:
	}
	return a.conn.stepErr(StepAgent, err)
}

// Stderr is the tail of what the agent wrote on its stderr (at most 16
// KiB), bounded and escaped for a message (safetext.TailText).
func (a *Agent) Stderr() string { return safetext.TailText(a.stderr.String(), maxDiag) }

// Close ends the agent: its stdin is closed (the agent finishes what it
// is doing, then exits on EOF); if it is still there after 5 s it gets
// SIGTERM (the same for the agent: finish, then exit; sshd may not pass
// it on), then the session is closed. Close does not wait longer than 3 s
// more: an agent that still runs a transaction finishes it on the host
// and exits by itself. It returns an error when the agent exited with a
// failure status.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		close(a.closed)
		a.stdin.Close()
		select {
		case <-a.exited:
		case <-time.After(5 * time.Second):
			_ = a.sess.Signal(ssh.SIGTERM)
			select {
			case <-a.exited:
			case <-time.After(2 * time.Second):
			}
		}
		a.sess.Close()
		a.conn.mu.Lock()
		delete(a.conn.agents, a)
		a.conn.mu.Unlock()
		select {
		case <-a.exited:
		case <-time.After(3 * time.Second):
			return // still busy on the host: no exit status to report
		}
		var ee *ssh.ExitError
		if errors.As(a.waitErr, &ee) && ee.ExitStatus() != 0 {
			a.closeErr = a.conn.stepErr(StepAgent, fmt.Errorf("the agent exited with status %d: %s", ee.ExitStatus(), oneLine(a.stderr.Bytes())))
		}
	})
	return a.closeErr
}

// tailBuffer keeps the last max bytes written to it (the agent's stderr:
// bounded whatever the host writes; oneLine bounds and escapes it again
// for a message).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf)
}

func (t *tailBuffer) String() string { return string(t.Bytes()) }
