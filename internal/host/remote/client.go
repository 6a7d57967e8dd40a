package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

var _ host.Host = (*Host)(nil)

// Connect starts the agent on the machine and returns its stream
// (sshhost: Pool.Get, then Conn.StartAgent).
type Connect func(ctx context.Context) (io.ReadWriteCloser, error)

// Host is a machine whose agent serves its local Host. The agent is
// started by the first call and shared by every later one; when its
// connection is lost, the call that was running says so and the next
// call starts a new agent.
type Host struct {
	name       string // what the configuration calls it ("mail1")
	where      string // how it is reached ("ssh://fleet-sudo@[fd5f::2]:22")
	dockerHost string // docker_host on the machine
	connect    Connect
	docker     *dockerapi.Client

	mu    sync.Mutex
	sess  *yamux.Session
	agent io.ReadWriteCloser
	hello helloResult
}

// New is the Host called name, reached as where, whose Docker daemon is at
// dockerHost on it ("" for the default socket).
func New(name, where, dockerHost string, connect Connect) *Host {
	if dockerHost == "" {
		dockerHost = dockerapi.DefaultHost
	}
	h := &Host{name: name, where: where, dockerHost: dockerHost, connect: connect}
	h.docker = dockerapi.NewVia(dockerHost, where, h.dialDocker, func(ctx context.Context) error {
		_, err := h.session(ctx)
		return err
	})
	return h
}

// session returns the agent's session, starting the agent when there is none.
func (h *Host) session(ctx context.Context) (*yamux.Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sess != nil && !h.sess.IsClosed() {
		return h.sess, nil
	}
	if h.agent != nil {
		_ = h.agent.Close()
		h.agent, h.sess = nil, nil
	}
	agent, err := h.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("host %q: %w", h.name, err) // err names the connection
	}
	sess, err := newSession(agent, false)
	if err != nil {
		_ = agent.Close()
		return nil, fmt.Errorf("host %q (%s): %w", h.name, h.where, err)
	}
	hello, err := roundTrip(ctx, sess, mHello, helloArgs{Protocol: Protocol, DockerHost: h.dockerHost})
	if err == nil && hello.Protocol != Protocol {
		err = &VersionError{Agent: hello.Protocol, Provider: Protocol}
	}
	if agent, ok := protocol1Mismatch(err); ok {
		err = &VersionError{Agent: agent, Provider: Protocol}
	}
	if err != nil {
		sess.Close()
		_ = agent.Close()
		return nil, fmt.Errorf("host %q (%s): starting the agent: %w", h.name, h.where, err)
	}
	h.sess, h.agent, h.hello = sess, agent, hello
	return sess, nil
}

// protocol1Mismatch reads the refusal of an agent of protocol 1, which
// said so in words only, with its own number twice.
func protocol1Mismatch(err error) (agent int, ok bool) {
	var ae *agentError
	if !errors.As(err, &ae) || ae.inner != nil {
		return 0, false
	}
	var provider int
	n, _ := fmt.Sscanf(ae.msg, "the agent speaks protocol %d, this provider %d:", &agent, &provider)
	return agent, n == 2
}

// Agent says which agent serves the host (zero before the first call).
func (h *Host) Agent() (hostname string, pid, uid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hello.Hostname, h.hello.PID, h.hello.UID
}

// Close ends the agent (it exits when its stream ends) and the session.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	if h.sess != nil {
		_ = h.sess.Close()
	}
	if h.agent != nil {
		err = h.agent.Close()
	}
	h.sess, h.agent = nil, nil
	return err
}

// callT runs method m on the agent, starting it first when needed. An
// error the agent returned comes back as it was; a connection that broke
// is a *LostError that says what was under way (m's step).
func callT[Req, Res any](ctx context.Context, h *Host, m *method[Req, Res], req Req) (Res, error) {
	sess, err := h.session(ctx)
	if err != nil {
		var zero Res
		return zero, err
	}
	res, err := roundTrip(ctx, sess, m, req)
	var ae *agentError
	var pe *ProtocolError
	switch {
	case err == nil, errors.As(err, &ae), ctx.Err() != nil:
		return res, err
	case errors.As(err, &pe): // the agent's answer is not one
		return res, fmt.Errorf("host %q (%s): %w", h.name, h.where, err)
	}
	// The stream broke: the connection or the agent is gone.
	h.mu.Lock()
	if h.sess == sess {
		_ = sess.Close()
	}
	h.mu.Unlock()
	return res, &LostError{Host: h.name, Where: h.where, Step: m.lostStep(), Err: err}
}

// LostError: the connection to the host's agent was lost during a call.
type LostError struct {
	Host, Where, Step string
	Err               error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("host %q (%s): the connection to the agent was lost (%v) during %s.", e.Host, e.Where, e.Err, e.Step)
}

func (e *LostError) Unwrap() error { return e.Err }

// roundTrip is one call on its own stream: the request line, then the
// response line, read with a bound and checked against m's result type.
// Every text in the result comes from the host: its control characters
// are escaped.
func roundTrip[Req, Res any](ctx context.Context, sess *yamux.Session, m *method[Req, Res], req Req) (Res, error) {
	var res Res
	st, err := sess.OpenStream()
	if err != nil {
		return res, err
	}
	defer st.Close()
	line, err := requestLine(ctx, m.name, req, !isNone[Req]())
	if err != nil {
		return res, err
	}
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	if _, err := st.Write(line); err != nil {
		return res, err
	}
	r, err := readResponse(ctx, bufio.NewReader(st), m.name)
	if err != nil {
		return res, err
	}
	if err := decodeResult(m.name, r, &res); err != nil {
		return res, err
	}
	escapeStrings(&res)
	if r.Error != nil {
		if ctx.Err() != nil {
			return res, ctx.Err() // the call was stopped on the host because the caller gave up
		}
		return res, r.Error.decode()
	}
	return res, nil
}

// requestLine is the request for method with args, and what is left of
// ctx's deadline.
func requestLine(ctx context.Context, method string, args any, hasArgs bool) ([]byte, error) {
	req := request{Method: method}
	if dl, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(dl), time.Millisecond)
	}
	if hasArgs {
		var err error
		if req.Args, err = json.Marshal(args); err != nil {
			return nil, err
		}
	}
	line, err := json.Marshal(req)
	return append(line, '\n'), err
}

// readResponse reads and checks the agent's response line.
func readResponse(ctx context.Context, br *bufio.Reader, method string) (response, error) {
	var r response
	line, err := readLine(br, maxLine)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return r, ctx.Err()
	case errors.Is(err, errLineTooLong):
		return r, &ProtocolError{Method: method, Problem: "the agent's answer is longer than any answer of this provider's agent (" +
			err.Error() + "), and it was not read: is the agent on the host this provider's build?"}
	case errors.Is(err, io.EOF):
		return r, io.ErrUnexpectedEOF
	default:
		return r, err
	}
	if err := strictUnmarshal(line, &r); err != nil {
		return r, &ProtocolError{Method: method, Problem: "the agent's answer is not one: " + escapeText(err.Error())}
	}
	return r, nil
}

// decodeResult decodes r's result into res. With an error, the result is
// what there is of it: a transaction's result says what it did.
func decodeResult[Res any](method string, r response, res *Res) error {
	if len(r.Result) == 0 || string(r.Result) == "null" {
		return nil
	}
	if isNone[Res]() {
		return &ProtocolError{Method: method, Problem: "the agent answered with a result, and this method has none"}
	}
	if err := strictUnmarshal(r.Result, res); err != nil && r.Error == nil {
		return &ProtocolError{Method: method, Problem: "the agent's result: " + escapeText(err.Error())}
	}
	return nil
}

// dialDocker opens a connection to dockerd's socket on the host.
func (h *Host) dialDocker(ctx context.Context, _, _ string) (net.Conn, error) {
	sess, err := h.session(ctx)
	if err != nil {
		return nil, err
	}
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	line, err := requestLine(context.Background(), mDocker.name, none{}, false)
	if err == nil {
		_, err = st.Write(line)
	}
	br := bufio.NewReader(st)
	var r response
	if err == nil {
		r, err = readResponse(ctx, br, mDocker.name)
	}
	if err == nil {
		err = decodeResult(mDocker.name, r, &none{})
	}
	if err == nil && r.Error != nil {
		err = r.Error.decode()
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return &bufferedConn{Conn: st, r: br}, nil
}

// bufferedConn reads what the header's reader already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// The Host's methods: each is one call of the table (protocol.go).

// ApplyDaemonConfig runs the daemon.json transaction on the host.
func (h *Host) ApplyDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Result, error) {
	res, err := callT(ctx, h, mDaemonApply, daemonRequest{req, absentKeys(req.Before)})
	h.docker.Reset() // dockerd may have restarted
	restoreAbsent(res.Before, res.Absent)
	return res.Result, err
}

// PlanDaemonConfig previews it on the host.
func (h *Host) PlanDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Preview, error) {
	res, err := callT(ctx, h, mDaemonPlan, daemonRequest{req, absentKeys(req.Before)})
	if err != nil {
		return daemonconfig.Preview{}, err
	}
	res.Preview.ObserveErr = res.ObserveErr.decode()
	return res.Preview, nil
}

// ReadDaemonJSON reads daemon.json on the host.
func (h *Host) ReadDaemonJSON(ctx context.Context, path string) ([]byte, bool, error) {
	res, err := callT(ctx, h, mDaemonRead, pathArg{path})
	return res.Data, res.Exists, err
}

// DockerVersion is the release of the host's dockerd.
func (h *Host) DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error) {
	return callT(ctx, h, mDockerVersion, none{})
}

// Observe reads what the host's dockerd shows of the owned settings.
func (h *Host) Observe(ctx context.Context, unit string) (daemonconfig.RunningState, error) {
	return callT(ctx, h, mObserve, unitArg{unit})
}

// Gather reads the host's facts on the host.
func (h *Host) Gather(ctx context.Context, daemonJSON, dockerUnit string) (hostcheck.Facts, error) {
	return callT(ctx, h, mGather, gatherArgs{daemonJSON, dockerUnit})
}

// GatherPosture reads the firewall's facts on the host; a failed call is a
// gap in them, as a failed read is locally.
func (h *Host) GatherPosture(ctx context.Context) hostcheck.Facts {
	f, err := callT(ctx, h, mGatherPosture, none{})
	if err != nil {
		f.Gaps = append(f.Gaps, "the host: "+err.Error())
	}
	return f
}

// Units reads systemd's units on the host.
func (h *Host) Units(ctx context.Context, dockerUnit string, others ...string) ([]string, map[string]string, error) {
	res, err := callT(ctx, h, mUnits, unitsArgs{dockerUnit, others})
	return res.Flags, res.States, err
}

// DockerClient is the Docker API of the host's dockerd, through the agent.
func (h *Host) DockerClient() *dockerapi.Client { return h.docker }

// ClientIP runs the client-IP probe on the host.
func (h *Host) ClientIP(ctx context.Context, o probe.Options) (probe.Result, error) {
	return callT(ctx, h, mProbe, o)
}

// ContainerClientIP measures a running container's published ports on the
// host, with what it trusts: one agent call.
func (h *Host) ContainerClientIP(ctx context.Context, o probe.ContainerOptions) (probe.ContainerResult, error) {
	return callT(ctx, h, mProbeContainer, o)
}

// Firewall is the host's nftables, one agent call per operation.
func (h *Host) Firewall(context.Context) (firewall.Handle, error) { return remoteFirewall{h}, nil }

type remoteFirewall struct{ h *Host }

func (f remoteFirewall) Apply(ctx context.Context, p firewall.Posture) error {
	_, err := callT(ctx, f.h, mFirewallApply, p)
	return err
}

func (f remoteFirewall) Read(ctx context.Context, table string) (*firewall.Posture, bool, []string, error) {
	res, err := callT(ctx, f.h, mFirewallRead, tableArg{table})
	return res.Posture, res.Found, res.Drift, err
}

func (f remoteFirewall) Delete(ctx context.Context, table string) error {
	_, err := callT(ctx, f.h, mFirewallDelete, tableArg{table})
	return err
}

func (f remoteFirewall) Exists(ctx context.Context, table string) (bool, bool, error) {
	res, err := callT(ctx, f.h, mFirewallExists, tableArg{table})
	return res.Exists, res.Ours, err
}

func (f remoteFirewall) OtherFirewalls(ctx context.Context, ownTable string) ([]firewall.Finding, error) {
	return callT(ctx, f.h, mFirewallOthers, tableArg{ownTable})
}

func (remoteFirewall) Close() error { return nil }

// OverSSH is the Host called name reached with cfg: on its first call it
// takes the pool's connection to the machine and starts binary there as
// the agent (sshhost.Conn.StartAgent).
func OverSSH(name string, cfg sshhost.Config, dockerHost string, pool *sshhost.Pool, binary string) *Host {
	return New(name, "ssh://"+cfg.String(), dockerHost, func(ctx context.Context) (io.ReadWriteCloser, error) {
		conn, err := pool.Get(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return conn.StartAgent(ctx, binary)
	})
}
