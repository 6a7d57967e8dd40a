package sshhost

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// AgentArg is the argument the agent binary is started with on the host.
const AgentArg = "agent"

// Banner is the first thing the agent writes on its stdout: StartAgent
// waits for it, so a started agent is known to run before the stream is
// handed over.
const Banner = "dockeripv6-agent/1\n"

// MaybeServeAgent runs serve as the agent and exits when os.Args[1] is
// "agent" (the binary was started by StartAgent); otherwise it returns at
// once. Call it first thing in main (or TestMain, for a test binary that
// serves as the agent).
func MaybeServeAgent(serve func(stream io.ReadWriteCloser) error) {
	if len(os.Args) < 2 || os.Args[1] != AgentArg {
		return
	}
	if err := ServeAgent(serve); err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6 agent: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeAgent is the host side of the stream: it takes the process's stdin
// and stdout for the stream (fd 1 is pointed at stderr, so that stray
// prints cannot corrupt it), writes the Banner and calls serve.
//
// A lost connection must not cut short what the agent is doing on the host
// (a daemon.json transaction runs to its end, its rollback included), so
// the agent is not killed with its parent (sshd's session, or sudo), and
// ignores SIGHUP and SIGPIPE: a write to a stdout or stderr that nobody
// reads any more fails (EPIPE) instead of killing the process. The end of
// the stream is how it learns it is alone: stdin at EOF (sshd's session
// went away, or the workstation closed the agent), or SIGTERM or SIGINT
// (Agent.Close's last word), which end the stream's reads as EOF does.
// serve must then start nothing new, finish what runs (or cancel what may
// be cancelled) and return; the process exits, so nothing stays running on
// the host.
func ServeAgent(serve func(stream io.ReadWriteCloser) error) error {
	out, err := takeStdout()
	if err != nil {
		return err
	}
	closeInheritedOnExec()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	in := newEndableReader(os.Stdin)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		in.end()
	}()
	if _, err := io.WriteString(out, Banner); err != nil {
		return err
	}
	return serve(stdio{in, out})
}

// endableReader is a reader whose reads can be ended (io.EOF) at any time,
// even while one waits for data: a pump copies the file into a pipe.
type endableReader struct {
	f  *os.File
	pr *io.PipeReader
	pw *io.PipeWriter
}

func newEndableReader(f *os.File) *endableReader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, f)
		pw.CloseWithError(err) // nil: EOF
	}()
	return &endableReader{f: f, pr: pr, pw: pw}
}

func (r *endableReader) Read(p []byte) (int, error) { return r.pr.Read(p) }

// end makes every read from now on return io.EOF (what was not read yet is
// dropped).
func (r *endableReader) end() { r.pw.Close() }

func (r *endableReader) Close() error {
	r.end()
	r.pr.Close()
	return r.f.Close()
}

// stdio is the stream: stdin and the moved stdout; Close closes both.
type stdio struct {
	in  io.ReadCloser
	out *os.File
}

func (s stdio) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error {
	err := s.in.Close()
	if e := s.out.Close(); err == nil {
		err = e
	}
	return err
}
