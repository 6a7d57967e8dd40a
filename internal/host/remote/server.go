package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
)

// Serve is the agent: it serves the Host that newHost makes (for the
// docker_host the workstation names in its hello) on stream until the
// stream ends, then waits for the calls still running. A detached call in
// flight when the connection drops (the daemon.json transaction, its
// rollback included) runs to its end; other calls are cancelled.
func Serve(stream io.ReadWriteCloser, newHost host.Factory, version string) error {
	sess, err := newSession(stream, true)
	if err != nil {
		return err
	}
	s := &server{newHost: newHost, version: version}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for {
		st, err := sess.Accept()
		if err != nil {
			cancel()
			wg.Wait()
			sess.Close()
			if errors.Is(err, io.EOF) || sess.IsClosed() {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serve(ctx, st)
		}()
	}
}

// deadlineGrace: how long past the workstation's deadline a call may run.
const deadlineGrace = 2 * time.Second

type server struct {
	newHost host.Factory
	version string

	mu sync.Mutex
	h  host.Host
}

func (s *server) host() (host.Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil, &ProtocolError{Problem: "a call before hello"}
	}
	return s.h, nil
}

func (s *server) serve(base context.Context, st net.Conn) {
	defer st.Close()
	r := bufio.NewReader(st)
	line, err := readLine(r, maxLine)
	if errors.Is(err, errLineTooLong) {
		writeResponse(st, nil, &ProtocolError{Problem: "the request is longer than the agent reads (" + err.Error() + ")"})
		return
	}
	if err != nil {
		return
	}
	req, m, err := parseRequest(line)
	if err != nil {
		writeResponse(st, nil, err)
		return
	}
	if m.info().detached {
		base = context.WithoutCancel(base)
	}
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	if req.Timeout > 0 {
		// The workstation's own deadline ends the call (it closes the
		// stream); this one, a little later, is for a workstation that
		// is gone without a word.
		ctx, cancel = context.WithTimeout(ctx, req.Timeout+deadlineGrace)
		defer cancel()
	}
	if m == handler(mDocker) {
		if _, err := decodeArgs[none](mDocker.name, req.Args); err != nil {
			writeResponse(st, nil, err)
			return
		}
		s.proxyDocker(st, r)
		return
	}
	if !m.info().detached {
		// The workstation gave up on the call (its context ended): stop.
		go func() {
			_, _ = r.ReadByte() // nothing more is sent; this returns when the stream closes
			cancel()
		}()
	}
	result, err := s.call(ctx, m, req.Args)
	writeResponse(st, result, err)
}

// parseRequest checks a request line: a JSON request of a known method.
func parseRequest(line []byte) (request, handler, error) {
	var req request
	if err := strictUnmarshal(line, &req); err != nil {
		return req, nil, &ProtocolError{Problem: "the request is not one: " + err.Error()}
	}
	m, ok := methods[req.Method]
	switch {
	case req.Method == "":
		return req, nil, &ProtocolError{Problem: "the request names no method"}
	case !ok:
		return req, nil, &ProtocolError{Problem: fmt.Sprintf("unknown method %q: the agent (protocol %d) is another build than the provider", req.Method, Protocol)}
	case req.Timeout < 0:
		return req, nil, &ProtocolError{Method: req.Method, Problem: fmt.Sprintf("the timeout %s is negative", req.Timeout)}
	}
	return req, m, nil
}

func (s *server) call(ctx context.Context, m handler, args json.RawMessage) (any, error) {
	if m == handler(mHello) {
		return s.hello(args)
	}
	h, err := s.host()
	if err != nil {
		return nil, err
	}
	return m.handle(ctx, h, args)
}

// hello checks the workstation's protocol before anything else in its
// arguments, then makes the Host for its docker_host.
func (s *server) hello(args json.RawMessage) (any, error) {
	var a helloArgs
	if len(args) == 0 {
		_, err := decodeArgs[helloArgs](mHello.name, args)
		return nil, err
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, &ProtocolError{Method: mHello.name, Problem: "its arguments: " + describeJSON(err)}
	}
	if a.Protocol != Protocol {
		return nil, &VersionError{Agent: Protocol, Provider: a.Protocol}
	}
	if _, err := decodeArgs[helloArgs](mHello.name, args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.h == nil {
		s.h = s.newHost(a.DockerHost)
	}
	s.mu.Unlock()
	hn, _ := os.Hostname()
	return helloResult{Protocol: Protocol, Hostname: hn, PID: os.Getpid(), UID: os.Getuid(), Version: s.version}, nil
}

func writeResponse(w io.Writer, result any, err error) {
	resp := response{Error: encodeError(err)}
	if result != nil { // also with an error: a transaction's result says what it did
		b, merr := json.Marshal(result)
		if merr != nil {
			resp.Error = encodeError(&ProtocolError{Problem: "the result: " + merr.Error()})
		}
		resp.Result = b
	}
	b, _ := json.Marshal(resp)
	_, _ = w.Write(append(b, '\n'))
}

// proxyDocker connects the stream to the Docker daemon's socket on this
// machine (the Host's docker_host) and copies both ways until either ends.
func (s *server) proxyDocker(st net.Conn, r *bufio.Reader) {
	h, err := s.host()
	if err != nil {
		writeResponse(st, nil, err)
		return
	}
	addr := h.DockerClient().Host
	network, target, ok := strings.Cut(addr, "://")
	if !ok || (network != "unix" && network != "tcp") {
		writeResponse(st, nil, fmt.Errorf("docker_host %q: the agent reaches only unix:// and tcp:// daemons", addr))
		return
	}
	d, err := (&net.Dialer{Timeout: 10 * time.Second}).Dial(network, target)
	if err != nil {
		writeResponse(st, nil, err)
		return
	}
	defer d.Close()
	writeResponse(st, nil, nil)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(d, r); closeWrite(d); done <- struct{}{} }()
	go func() { _, _ = io.Copy(st, d); done <- struct{}{} }()
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
