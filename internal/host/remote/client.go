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
	var hello helloResult
	if err := roundTrip(ctx, sess, mHello, helloArgs{Protocol: Protocol, DockerHost: h.dockerHost}, &hello); err != nil {
		sess.Close()
		_ = agent.Close()
		return nil, fmt.Errorf("host %q (%s): starting the agent: %w", h.name, h.where, err)
	}
	if hello.Protocol != Protocol {
		sess.Close()
		_ = agent.Close()
		return nil, fmt.Errorf("host %q (%s): %w", h.name, h.where, protocolError(hello.Protocol))
	}
	h.sess, h.agent, h.hello = sess, agent, hello
	return sess, nil
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

// steps say, for a call cut off by a lost connection, what was under way
// and what became of it.
var steps = map[string]string{
	mDaemonApply: "the daemon.json transaction (write, restart of the Docker unit, verification, rollback). " +
		"The agent finishes it on the host unless the host itself went down: the next plan reads daemon.json " +
		"and the running dockerd again (restart_pending, drift) and the next apply converges",
	mDaemonPlan:     "the read of daemon.json and the running dockerd",
	mDaemonRead:     "the read of daemon.json",
	mDockerVersion:  "the read of dockerd's version",
	mObserve:        "the read of the running dockerd's settings",
	mGather:         "the gathering of the host's facts",
	mGatherPosture:  "the read of the host's firewalls",
	mUnits:          "the read of systemd's units",
	mFirewallApply:  "the replacement of the nftables table. It is one transaction: it happened whole or not at all, and the next plan shows which",
	mFirewallRead:   "the read of the nftables table",
	mFirewallDelete: "the deletion of the nftables table. It is one transaction: the next plan shows whether it happened",
	mFirewallExists: "the lookup of the nftables table",
	mFirewallOthers: "the listing of the host's other firewalls",
	mProbe:          "the client-IP probe. What it left (a container, a namespace) is removed by the next probe",
}

// call runs method on the agent, starting it first when needed.
func (h *Host) call(ctx context.Context, method string, args, result any) error {
	sess, err := h.session(ctx)
	if err != nil {
		return err
	}
	err = roundTrip(ctx, sess, method, args, result)
	var ae *agentError
	if err == nil || errors.As(err, &ae) || ctx.Err() != nil {
		return err
	}
	// The stream broke: the connection or the agent is gone.
	h.mu.Lock()
	if h.sess == sess {
		_ = sess.Close()
	}
	h.mu.Unlock()
	return &LostError{Host: h.name, Where: h.where, Step: steps[method], Err: err}
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

// roundTrip is one call on its own stream.
func roundTrip(ctx context.Context, sess *yamux.Session, method string, args, result any) error {
	st, err := sess.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	req := request{Method: method}
	if dl, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(dl), time.Millisecond)
	}
	if args != nil {
		if req.Args, err = json.Marshal(args); err != nil {
			return err
		}
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	if _, err := st.Write(append(line, '\n')); err != nil {
		return err
	}
	resp, err := bufio.NewReader(st).ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	var r response
	if err := json.Unmarshal(resp, &r); err != nil {
		return fmt.Errorf("protocol: %w", err)
	}
	if result != nil && len(r.Result) > 0 && string(r.Result) != "null" {
		if err := json.Unmarshal(r.Result, result); err != nil && r.Error == nil {
			return fmt.Errorf("protocol: %w", err)
		}
	}
	if r.Error != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the call was stopped on the host because the caller gave up
		}
		return r.Error.decode()
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
	line, _ := json.Marshal(request{Method: mDocker})
	if _, err := st.Write(append(line, '\n')); err != nil {
		st.Close()
		return nil, err
	}
	br := bufio.NewReader(st)
	resp, err := br.ReadBytes('\n')
	if err != nil {
		st.Close()
		return nil, err
	}
	var r response
	if err := json.Unmarshal(resp, &r); err != nil {
		st.Close()
		return nil, fmt.Errorf("protocol: %w", err)
	}
	if r.Error != nil {
		st.Close()
		return nil, r.Error.decode()
	}
	return &bufferedConn{Conn: st, r: br}, nil
}

// bufferedConn reads what the header's reader already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// ApplyDaemonConfig runs the daemon.json transaction on the host.
func (h *Host) ApplyDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Result, error) {
	var res daemonResult
	err := h.call(ctx, mDaemonApply, daemonRequest{req, absentKeys(req.Before)}, &res)
	h.docker.Reset() // dockerd may have restarted
	restoreAbsent(res.Before, res.Absent)
	return res.Result, err
}

// PlanDaemonConfig previews it on the host.
func (h *Host) PlanDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Preview, error) {
	var res previewResult
	if err := h.call(ctx, mDaemonPlan, daemonRequest{req, absentKeys(req.Before)}, &res); err != nil {
		return daemonconfig.Preview{}, err
	}
	res.Preview.ObserveErr = res.ObserveErr.decode()
	return res.Preview, nil
}

// ReadDaemonJSON reads daemon.json on the host.
func (h *Host) ReadDaemonJSON(ctx context.Context, path string) ([]byte, bool, error) {
	var res readResult
	err := h.call(ctx, mDaemonRead, pathArg{path}, &res)
	return res.Data, res.Exists, err
}

// DockerVersion is the release of the host's dockerd.
func (h *Host) DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error) {
	var v daemonconfig.DockerVersion
	err := h.call(ctx, mDockerVersion, nil, &v)
	return v, err
}

// Observe reads what the host's dockerd shows of the owned settings.
func (h *Host) Observe(ctx context.Context, unit string) (daemonconfig.RunningState, error) {
	var s daemonconfig.RunningState
	err := h.call(ctx, mObserve, unitsArgs{Unit: unit}, &s)
	return s, err
}

// Gather reads the host's facts on the host.
func (h *Host) Gather(ctx context.Context, daemonJSON, dockerUnit string) (hostcheck.Facts, error) {
	var f hostcheck.Facts
	err := h.call(ctx, mGather, gatherArgs{daemonJSON, dockerUnit}, &f)
	return f, err
}

// GatherPosture reads the firewall's facts on the host; a failed call is a
// gap in them, as a failed read is locally.
func (h *Host) GatherPosture(ctx context.Context) hostcheck.Facts {
	var f hostcheck.Facts
	if err := h.call(ctx, mGatherPosture, nil, &f); err != nil {
		f.Gaps = append(f.Gaps, "the host: "+err.Error())
	}
	return f
}

// Units reads systemd's units on the host.
func (h *Host) Units(ctx context.Context, dockerUnit string, others ...string) ([]string, map[string]string, error) {
	var res unitsResult
	err := h.call(ctx, mUnits, unitsArgs{dockerUnit, others}, &res)
	return res.Flags, res.States, err
}

// DockerClient is the Docker API of the host's dockerd, through the agent.
func (h *Host) DockerClient() *dockerapi.Client { return h.docker }

// ClientIP runs the client-IP probe on the host.
func (h *Host) ClientIP(ctx context.Context, o probe.Options) (probe.Result, error) {
	var res probe.Result
	err := h.call(ctx, mProbe, o, &res)
	return res, err
}

// Firewall is the host's nftables, one agent call per operation.
func (h *Host) Firewall(context.Context) (firewall.Handle, error) { return remoteFirewall{h}, nil }

type remoteFirewall struct{ h *Host }

func (f remoteFirewall) Apply(ctx context.Context, p firewall.Posture) error {
	return f.h.call(ctx, mFirewallApply, p, nil)
}

func (f remoteFirewall) Read(ctx context.Context, table string) (*firewall.Posture, bool, []string, error) {
	var res fwReadResult
	err := f.h.call(ctx, mFirewallRead, tableArg{table}, &res)
	return res.Posture, res.Found, res.Drift, err
}

func (f remoteFirewall) Delete(ctx context.Context, table string) error {
	return f.h.call(ctx, mFirewallDelete, tableArg{table}, nil)
}

func (f remoteFirewall) Exists(ctx context.Context, table string) (bool, bool, error) {
	var res fwExistsResult
	err := f.h.call(ctx, mFirewallExists, tableArg{table}, &res)
	return res.Exists, res.Ours, err
}

func (f remoteFirewall) OtherFirewalls(ctx context.Context, ownTable string) ([]firewall.Finding, error) {
	var res []firewall.Finding
	err := f.h.call(ctx, mFirewallOthers, tableArg{ownTable}, &res)
	return res, err
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
