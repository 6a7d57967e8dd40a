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

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

// Serve is the agent: it serves the Host that newHost makes (for the
// docker_host the workstation names in its hello) on stream until the
// stream ends, then waits for the calls still running. A daemon.json
// transaction in flight when the connection drops runs to its end (its
// rollback included); other calls are cancelled.
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
		return nil, errors.New("protocol: a call before hello")
	}
	return s.h, nil
}

func (s *server) serve(base context.Context, st net.Conn) {
	defer st.Close()
	r := bufio.NewReader(st)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		writeResponse(st, nil, fmt.Errorf("protocol: %w", err))
		return
	}
	// The daemon.json transaction is not cancelled by a lost connection:
	// it must end in a known state (applied, or rolled back) on the host.
	if req.Method == mDaemonApply {
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
	if req.Method == mDocker {
		s.proxyDocker(st, r)
		return
	}
	if req.Method != mDaemonApply {
		// The workstation gave up on the call (its context ended): stop.
		go func() {
			_, _ = r.ReadByte() // nothing more is sent; this returns when the stream closes
			cancel()
		}()
	}
	result, err := s.call(ctx, req)
	writeResponse(st, result, err)
}

func writeResponse(w io.Writer, result any, err error) {
	resp := response{Error: encodeError(err)}
	if result != nil { // also with an error: a transaction's result says what it did
		b, merr := json.Marshal(result)
		if merr != nil {
			resp.Error = encodeError(fmt.Errorf("protocol: %w", merr))
		}
		resp.Result = b
	}
	b, _ := json.Marshal(resp)
	_, _ = w.Write(append(b, '\n'))
}

func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if len(raw) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("protocol: %w", err)
	}
	return v, nil
}

type pathArg struct {
	Path string `json:"path"`
}

type readResult struct {
	Data   []byte `json:"data"`
	Exists bool   `json:"exists"`
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

func (s *server) call(ctx context.Context, req request) (any, error) {
	if req.Method == mHello {
		a, err := decode[helloArgs](req.Args)
		if err != nil {
			return nil, err
		}
		if a.Protocol != Protocol {
			return nil, protocolError(Protocol)
		}
		s.mu.Lock()
		if s.h == nil {
			s.h = s.newHost(a.DockerHost)
		}
		s.mu.Unlock()
		hn, _ := os.Hostname()
		return helloResult{Protocol: Protocol, Hostname: hn, PID: os.Getpid(), UID: os.Getuid(), Version: s.version}, nil
	}
	h, err := s.host()
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case mDaemonApply, mDaemonPlan:
		a, err := decode[daemonRequest](req.Args)
		if err != nil {
			return nil, err
		}
		restoreAbsent(a.Before, a.Absent)
		if req.Method == mDaemonApply {
			res, err := h.ApplyDaemonConfig(ctx, a.Request)
			return daemonResult{res, absentKeys(res.Before)}, err
		}
		p, err := h.PlanDaemonConfig(ctx, a.Request)
		if err != nil {
			return nil, err
		}
		out := previewResult{Preview: p, ObserveErr: encodeError(p.ObserveErr)}
		out.Preview.ObserveErr = nil
		return out, nil
	case mDaemonRead:
		a, err := decode[pathArg](req.Args)
		if err != nil {
			return nil, err
		}
		data, exists, err := h.ReadDaemonJSON(ctx, a.Path)
		return readResult{data, exists}, err
	case mDockerVersion:
		return h.DockerVersion(ctx)
	case mObserve:
		a, err := decode[unitsArgs](req.Args)
		if err != nil {
			return nil, err
		}
		return h.Observe(ctx, a.Unit)
	case mGather:
		a, err := decode[gatherArgs](req.Args)
		if err != nil {
			return nil, err
		}
		return h.Gather(ctx, a.DaemonJSON, a.Unit)
	case mGatherPosture:
		return h.GatherPosture(ctx), nil
	case mUnits:
		a, err := decode[unitsArgs](req.Args)
		if err != nil {
			return nil, err
		}
		flags, states, err := h.Units(ctx, a.Unit, a.Others...)
		return unitsResult{flags, states}, err
	case mFirewallApply, mFirewallRead, mFirewallDelete, mFirewallExists, mFirewallOthers:
		return s.firewall(ctx, h, req)
	case mProbe:
		o, err := decode[probe.Options](req.Args)
		if err != nil {
			return nil, err
		}
		return h.ClientIP(ctx, o)
	}
	return nil, fmt.Errorf("protocol: unknown method %q", req.Method)
}

// firewall opens the host's firewall for one call: each call is one
// nftables transaction (Apply) or one read.
func (s *server) firewall(ctx context.Context, h host.Host, req request) (any, error) {
	fw, err := h.Firewall(ctx)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	switch req.Method {
	case mFirewallApply:
		p, err := decode[firewall.Posture](req.Args)
		if err != nil {
			return nil, err
		}
		return nil, fw.Apply(ctx, p)
	case mFirewallRead:
		a, err := decode[tableArg](req.Args)
		if err != nil {
			return nil, err
		}
		p, found, drift, err := fw.Read(ctx, a.Table)
		return fwReadResult{p, found, drift}, err
	case mFirewallDelete:
		a, err := decode[tableArg](req.Args)
		if err != nil {
			return nil, err
		}
		return nil, fw.Delete(ctx, a.Table)
	case mFirewallExists:
		a, err := decode[tableArg](req.Args)
		if err != nil {
			return nil, err
		}
		exists, ours, err := fw.Exists(ctx, a.Table)
		return fwExistsResult{exists, ours}, err
	default: // mFirewallOthers
		a, err := decode[tableArg](req.Args)
		if err != nil {
			return nil, err
		}
		return fw.OtherFirewalls(ctx, a.Table)
	}
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
