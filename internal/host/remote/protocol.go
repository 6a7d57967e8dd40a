package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

// A method is one call of the protocol, from Req to Res. The client sends
// a Req (callT), the agent decodes and checks it, runs serve on its local
// Host and answers with the Res and the error.
type method[Req, Res any] struct {
	spec
	serve func(ctx context.Context, h host.Host, req Req) (Res, error)
}

// spec is what both ends know of a method besides its types.
type spec struct {
	name string // on the wire
	// step says what the call does, as a noun phrase ("the read of
	// daemon.json"): a call cut off by a lost connection was lost "during"
	// it, and a call stopped by its bound names it.
	step string
	// lost, when set, says what became of the work when the connection was
	// lost (one or more sentences).
	lost string
	// bound caps how long the call runs on the host, whatever the
	// workstation's deadline (0: only that deadline).
	bound time.Duration
	// detached: the call runs to its end on the host even when the
	// connection drops or the workstation gives up.
	detached bool
}

// lostStep is the step as a lost connection tells it.
func (s *spec) lostStep() string {
	if s.lost == "" {
		return s.step
	}
	return s.step + ". " + s.lost
}

// none is the argument or result of a method that has none.
type none struct{}

func isNone[T any]() bool { return reflect.TypeFor[T]() == reflect.TypeFor[none]() }

// handler is a method as the server holds it, whatever its types.
type handler interface {
	info() *spec
	handle(ctx context.Context, h host.Host, args json.RawMessage) (any, error)
}

func (m *method[Req, Res]) info() *spec { return &m.spec }

// handle checks the arguments, runs the method under its bound and returns
// what the response carries (nil for a method with no result).
func (m *method[Req, Res]) handle(ctx context.Context, h host.Host, args json.RawMessage) (any, error) {
	req, err := decodeArgs[Req](m.name, args)
	if err != nil {
		return nil, err
	}
	if m.serve == nil { // hello and docker.dial: the server's own
		return nil, &ProtocolError{Method: m.name, Problem: "not a call of the host"}
	}
	ctx = context.WithValue(ctx, methodKey{}, m.name)
	if m.bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, m.bound, errBound)
		defer cancel()
	}
	res, err := m.serve(ctx, h, req)
	if err != nil && m.bound > 0 && errors.Is(context.Cause(ctx), errBound) {
		err = fmt.Errorf("%s did not end within %s, its bound on the host: %w", m.step, m.bound, err)
	}
	if isNone[Res]() {
		return nil, err
	}
	return res, err
}

var errBound = errors.New("the call's bound on the host")

// methodKey: the context of a call served holds its method's name.
type methodKey struct{}

// methodOf is the name of the method ctx serves ("" outside a call).
func methodOf(ctx context.Context) string {
	name, _ := ctx.Value(methodKey{}).(string)
	return name
}

// decodeArgs checks a request's arguments and decodes them: a method with
// arguments needs all of them, and a field it does not have is an error.
func decodeArgs[T any](name string, raw json.RawMessage) (T, error) {
	var v T
	absent := len(raw) == 0 || string(raw) == "null"
	switch {
	case isNone[T]() && absent:
		return v, nil
	case isNone[T]():
		return v, &ProtocolError{Method: name, Problem: "it takes no arguments, and the request has some"}
	case absent:
		return v, &ProtocolError{Method: name, Problem: "the request has no arguments"}
	}
	missing, err := missingFields(raw, reflect.TypeFor[T]())
	if err == nil && len(missing) > 0 {
		return v, &ProtocolError{Method: name, Problem: fmt.Sprintf("the request lacks the argument(s) %q", missing)}
	}
	if err == nil {
		err = strictUnmarshal(raw, &v)
	}
	if err != nil {
		return v, &ProtocolError{Method: name, Problem: "its arguments: " + err.Error()}
	}
	return v, nil
}

// methods are the protocol's methods by name; def adds one.
var methods = map[string]handler{}

func def[Req, Res any](m *method[Req, Res]) *method[Req, Res] {
	if m.name == "" || m.step == "" {
		panic("remote: a method needs a name and a step")
	}
	if _, dup := methods[m.name]; dup {
		panic("remote: method " + m.name + " twice")
	}
	methods[m.name] = m
	return m
}

// The protocol. A new host call is one entry here and the remote.Host
// method that calls it (callT); TestEveryHostCallIsServed finds a missing
// one. Bump Protocol with every change.
var (
	// mHello is the first call: the workstation says which Docker daemon
	// the Host is for; the agent says who it is. The server serves it
	// itself (server.hello); its shape never changes, so that two builds
	// can tell each other their protocols.
	mHello = def(&method[helloArgs, helloResult]{spec: spec{name: "hello", step: "the start of the agent"}})

	// mDocker opens a stream to dockerd's socket (server.proxyDocker).
	mDocker = def(&method[none, none]{spec: spec{name: "docker.dial", step: "the connection to the Docker API"}})

	mDaemonApply = def(&method[daemonRequest, daemonResult]{
		spec: spec{
			name: "daemon.apply",
			step: "the daemon.json transaction (write, restart of the Docker unit, verification, rollback)",
			lost: "The agent finishes it on the host unless the host itself went down: the next plan reads daemon.json " +
				"and the running dockerd again (restart_pending, drift) and the next apply converges",
			// It must end in a known state (applied, or rolled back) on the
			// host; daemonconfig.Apply bounds its own steps.
			detached: true,
		},
		serve: func(ctx context.Context, h host.Host, a daemonRequest) (daemonResult, error) {
			restoreAbsent(a.Before, a.Absent)
			res, err := h.ApplyDaemonConfig(ctx, a.Request)
			return daemonResult{res, absentKeys(res.Before)}, err
		},
	})

	mDaemonPlan = def(&method[daemonRequest, previewResult]{
		spec: spec{name: "daemon.plan", step: "the read of daemon.json and the running dockerd", bound: 5 * time.Minute},
		serve: func(ctx context.Context, h host.Host, a daemonRequest) (previewResult, error) {
			restoreAbsent(a.Before, a.Absent)
			p, err := h.PlanDaemonConfig(ctx, a.Request)
			if err != nil {
				return previewResult{}, err
			}
			out := previewResult{Preview: p, ObserveErr: encodeError(p.ObserveErr)}
			out.Preview.ObserveErr = nil
			return out, nil
		},
	})

	mDaemonRead = def(&method[pathArg, readResult]{
		spec: spec{name: "daemon.read", step: "the read of daemon.json", bound: 2 * time.Minute},
		serve: func(ctx context.Context, h host.Host, a pathArg) (readResult, error) {
			data, exists, err := h.ReadDaemonJSON(ctx, a.Path)
			return readResult{data, exists}, err
		},
	})

	mDockerVersion = def(&method[none, daemonconfig.DockerVersion]{
		spec: spec{name: "docker.version", step: "the read of dockerd's version", bound: 2 * time.Minute},
		serve: func(ctx context.Context, h host.Host, _ none) (daemonconfig.DockerVersion, error) {
			return h.DockerVersion(ctx)
		},
	})

	mObserve = def(&method[unitArg, daemonconfig.RunningState]{
		spec: spec{name: "daemon.observe", step: "the read of the running dockerd's settings", bound: 2 * time.Minute},
		serve: func(ctx context.Context, h host.Host, a unitArg) (daemonconfig.RunningState, error) {
			return h.Observe(ctx, a.Unit)
		},
	})

	mGather = def(&method[gatherArgs, hostcheck.Facts]{
		spec: spec{name: "facts.gather", step: "the gathering of the host's facts", bound: 5 * time.Minute},
		serve: func(ctx context.Context, h host.Host, a gatherArgs) (hostcheck.Facts, error) {
			return h.Gather(ctx, a.DaemonJSON, a.Unit)
		},
	})

	mGatherPosture = def(&method[none, hostcheck.Facts]{
		spec: spec{name: "facts.posture", step: "the read of the host's firewalls", bound: 2 * time.Minute},
		serve: func(ctx context.Context, h host.Host, _ none) (hostcheck.Facts, error) {
			return h.GatherPosture(ctx), nil
		},
	})

	mUnits = def(&method[unitsArgs, unitsResult]{
		spec: spec{name: "systemd.units", step: "the read of systemd's units", bound: 2 * time.Minute},
		serve: func(ctx context.Context, h host.Host, a unitsArgs) (unitsResult, error) {
			flags, states, err := h.Units(ctx, a.Unit, a.Others...)
			return unitsResult{flags, states}, err
		},
	})

	mFirewallApply = def(&method[firewall.Posture, none]{
		spec: spec{
			name:  "firewall.apply",
			step:  "the replacement of the nftables table",
			lost:  "It is one transaction: it happened whole or not at all, and the next plan shows which",
			bound: 2 * time.Minute,
		},
		serve: onFirewall(func(ctx context.Context, fw firewall.Handle, p firewall.Posture) (none, error) {
			return none{}, fw.Apply(ctx, p)
		}),
	})

	mFirewallRead = def(&method[tableArg, fwReadResult]{
		spec: spec{name: "firewall.read", step: "the read of the nftables table", bound: 2 * time.Minute},
		serve: onFirewall(func(ctx context.Context, fw firewall.Handle, a tableArg) (fwReadResult, error) {
			p, found, drift, err := fw.Read(ctx, a.Table)
			return fwReadResult{p, found, drift}, err
		}),
	})

	mFirewallDelete = def(&method[tableArg, none]{
		spec: spec{
			name:  "firewall.delete",
			step:  "the deletion of the nftables table",
			lost:  "It is one transaction: the next plan shows whether it happened",
			bound: 2 * time.Minute,
		},
		serve: onFirewall(func(ctx context.Context, fw firewall.Handle, a tableArg) (none, error) {
			return none{}, fw.Delete(ctx, a.Table)
		}),
	})

	mFirewallExists = def(&method[tableArg, fwExistsResult]{
		spec: spec{name: "firewall.exists", step: "the lookup of the nftables table", bound: 2 * time.Minute},
		serve: onFirewall(func(ctx context.Context, fw firewall.Handle, a tableArg) (fwExistsResult, error) {
			exists, ours, err := fw.Exists(ctx, a.Table)
			return fwExistsResult{exists, ours}, err
		}),
	})

	mFirewallOthers = def(&method[tableArg, []firewall.Finding]{
		spec: spec{name: "firewall.others", step: "the listing of the host's other firewalls", bound: 2 * time.Minute},
		serve: onFirewall(func(ctx context.Context, fw firewall.Handle, a tableArg) ([]firewall.Finding, error) {
			return fw.OtherFirewalls(ctx, a.Table)
		}),
	})

	mProbe = def(&method[probe.Options, probe.Result]{
		spec: spec{
			name:  "probe.run",
			step:  "the client-IP probe",
			lost:  "What it left (a container, a namespace) is removed by the next probe",
			bound: 10 * time.Minute,
		},
		serve: func(ctx context.Context, h host.Host, o probe.Options) (probe.Result, error) {
			return h.ClientIP(ctx, o)
		},
	})

	mProbeContainer = def(&method[probe.ContainerOptions, probe.ContainerResult]{
		spec: spec{
			name:  "probe.container",
			step:  "the measurement of the mail container's published ports",
			lost:  "It changes nothing in the container; the simulated client it made is removed by the next probe",
			bound: 10 * time.Minute,
		},
		serve: func(ctx context.Context, h host.Host, o probe.ContainerOptions) (probe.ContainerResult, error) {
			return h.ContainerClientIP(ctx, o)
		},
	})
)

// onFirewall serves a firewall method: it opens the host's firewall for
// the one call (one nftables transaction, or one read) and closes it.
func onFirewall[Req, Res any](f func(context.Context, firewall.Handle, Req) (Res, error)) func(context.Context, host.Host, Req) (Res, error) {
	return func(ctx context.Context, h host.Host, req Req) (Res, error) {
		fw, err := h.Firewall(ctx)
		if err != nil {
			var zero Res
			return zero, err
		}
		defer fw.Close()
		return f(ctx, fw, req)
	}
}

// Arguments and results.

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

// The hello is read leniently, whatever build sent it, so that a
// protocol mismatch is reported as one and not as an unknown field.
func (a *helloArgs) UnmarshalJSON(b []byte) error {
	type plain helloArgs
	return json.Unmarshal(b, (*plain)(a))
}

func (r *helloResult) UnmarshalJSON(b []byte) error {
	type plain helloResult
	return json.Unmarshal(b, (*plain)(r))
}

type pathArg struct {
	Path string `json:"path"`
}

type readResult struct {
	Data   []byte `json:"data"`
	Exists bool   `json:"exists"`
}

type unitArg struct {
	Unit string `json:"unit"`
}

type gatherArgs struct {
	DaemonJSON string `json:"daemon_json"`
	Unit       string `json:"unit"`
}

type unitsArgs struct {
	Unit   string   `json:"unit"`
	Others []string `json:"others"`
}

type unitsResult struct {
	Flags  []string          `json:"flags"`
	States map[string]string `json:"states"`
}

type previewResult struct {
	Preview    daemonconfig.Preview `json:"preview"`
	ObserveErr *wireError           `json:"observe_err,omitempty"`
}

type tableArg struct {
	Table string `json:"table"`
}

type fwReadResult struct {
	Posture *firewall.Posture `json:"posture"`
	Found   bool              `json:"found"`
	Drift   []string          `json:"drift"`
}

type fwExistsResult struct {
	Exists bool `json:"exists"`
	Ours   bool `json:"ours"`
}
