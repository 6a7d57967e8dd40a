// Package remote is the Host of a machine reached over SSH: the provider's
// own binary runs there as an agent (sshhost.StartAgent) and serves the
// machine's local Host (internal/host/local) over the agent's stdio.
//
// The stream is multiplexed with yamux. Each call is one yamux stream: one
// JSON line of request, one JSON line of response, then the stream ends. The
// Docker API is a stream too: after its header line the stream is a raw
// connection to dockerd's socket on the host, so the Docker client works
// unchanged. Calls are coarse (the daemon.json transaction, the probe and
// the facts are one call each), so a plan or an apply costs a handful of
// round trips per host, and the work that must finish on the host (the
// transaction and its rollback) runs there to its end even when the
// connection drops.
package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
)

// Protocol is the version both ends must speak; the hello call checks it.
// Bump it with every change to a method's arguments or results: the agent
// on a host is always the build the provider uploaded, but a test may pair
// two builds.
const Protocol = 1

// Methods.
const (
	mHello          = "hello"
	mDaemonApply    = "daemon.apply"
	mDaemonPlan     = "daemon.plan"
	mDaemonRead     = "daemon.read"
	mDockerVersion  = "docker.version"
	mObserve        = "daemon.observe"
	mGather         = "facts.gather"
	mGatherPosture  = "facts.posture"
	mUnits          = "systemd.units"
	mFirewallApply  = "firewall.apply"
	mFirewallRead   = "firewall.read"
	mFirewallDelete = "firewall.delete"
	mFirewallExists = "firewall.exists"
	mFirewallOthers = "firewall.others"
	mProbe          = "probe.run"
	mDocker         = "docker.dial"
)

// request is the first line of every stream.
type request struct {
	Method string `json:"method"`
	// Timeout is what was left of the caller's deadline (0: none).
	Timeout time.Duration   `json:"timeout,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// response is the line the agent answers with.
type response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

// wireError carries an error, and the typed errors the provider tells
// apart (errors.As), across the stream.
type wireError struct {
	Message     string                        `json:"message"`
	Refused     *daemonconfig.RefusedError    `json:"refused,omitempty"`
	RolledBack  *daemonconfig.RolledBackError `json:"rolled_back,omitempty"`
	Unreachable *string                       `json:"unreachable,omitempty"` // dockerapi.UnreachableError's Host
	Cause       string                        `json:"cause,omitempty"`       // its Err
}

func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Message: err.Error()}
	var refused *daemonconfig.RefusedError
	var rolled *daemonconfig.RolledBackError
	var unreachable *dockerapi.UnreachableError
	switch {
	case errors.As(err, &refused):
		w.Refused = refused
	case errors.As(err, &rolled):
		w.RolledBack = rolled
	case errors.As(err, &unreachable):
		w.Unreachable, w.Cause = &unreachable.Host, unreachable.Err.Error()
	}
	return w
}

// agentError is an error the agent returned: its message as the agent
// wrote it, and the typed error inside when there was one.
type agentError struct {
	msg   string
	inner error
}

func (e *agentError) Error() string { return e.msg }
func (e *agentError) Unwrap() error { return e.inner }

func (w *wireError) decode() error {
	if w == nil {
		return nil
	}
	e := &agentError{msg: w.Message}
	switch {
	case w.Refused != nil:
		e.inner = w.Refused
	case w.RolledBack != nil:
		e.inner = w.RolledBack
	case w.Unreachable != nil:
		e.inner = &dockerapi.UnreachableError{Host: *w.Unreachable, Err: errors.New(w.Cause)}
	}
	return e
}

// newSession wraps the agent's stream in yamux; the workstation is the
// client (it opens the streams), the agent the server.
func newSession(rwc io.ReadWriteCloser, server bool) (*yamux.Session, error) {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.EnableKeepAlive = true
	cfg.KeepAliveInterval = 10 * time.Second
	cfg.ConnectionWriteTimeout = 30 * time.Second
	cfg.StreamOpenTimeout = 30 * time.Second
	if server {
		return yamux.Server(rwc, cfg)
	}
	return yamux.Client(rwc, cfg)
}

// daemonRequest and daemonResult carry the transaction's Before map, whose
// nil values mean "the key was absent": JSON would bring a nil RawMessage
// back as the literal null, which Apply would then write into daemon.json.
type daemonRequest struct {
	daemonconfig.Request
	Absent []string `json:"absent,omitempty"`
}

type daemonResult struct {
	daemonconfig.Result
	Absent []string `json:"absent,omitempty"`
}

func absentKeys(before map[string]json.RawMessage) []string {
	var keys []string
	for k, v := range before {
		if v == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

func restoreAbsent(before map[string]json.RawMessage, keys []string) {
	if before == nil {
		return
	}
	for _, k := range keys {
		before[k] = nil
	}
}

// hello is the first call: the workstation says which Docker daemon the
// Host is for; the agent says who it is.
type helloArgs struct {
	Protocol   int    `json:"protocol"`
	DockerHost string `json:"docker_host"`
}

type helloResult struct {
	Protocol int    `json:"protocol"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
	UID      int    `json:"uid"`
	Version  string `json:"version"`
}

func protocolError(agent int) error {
	return fmt.Errorf("the agent speaks protocol %d, this provider %d: the agent binary is another build (check agent_binary)", agent, Protocol)
}
