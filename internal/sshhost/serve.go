package sshhost

import (
	"fmt"
	"io"
	"os"
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
// prints cannot corrupt it), asks the kernel to kill the process when its
// parent (sshd's session or sudo) dies, writes the Banner and calls serve.
// serve must return when the stream's reads end (io.EOF: the workstation
// closed the agent or the connection is gone); the process then exits, so
// nothing stays running on the host.
func ServeAgent(serve func(stream io.ReadWriteCloser) error) error {
	out, err := takeStdout()
	if err != nil {
		return err
	}
	dieWithParent()
	if _, err := io.WriteString(out, Banner); err != nil {
		return err
	}
	return serve(stdio{os.Stdin, out})
}

// stdio is the stream: stdin and the moved stdout; Close closes both.
type stdio struct {
	in  *os.File
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
