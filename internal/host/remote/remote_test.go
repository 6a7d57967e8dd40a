package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

// fakeHost records what the agent was asked and answers from its fields.
type fakeHost struct {
	docker *dockerapi.Client

	mu         sync.Mutex
	applyErr   error
	applyGate  chan struct{} // when set, Apply waits for it
	applyDone  chan error    // Apply reports its ctx's error when it ends
	facts      hostcheck.Facts
	preview    daemonconfig.Preview
	fwApplied  []firewall.Posture
	lastBefore map[string]json.RawMessage
	probeCalls int
	calls      []servedCall
}

// servedCall: the fake's method that ran, and the protocol's method that
// served it.
type servedCall struct{ hostMethod, wire string }

func (f *fakeHost) record(ctx context.Context, hostMethod string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, servedCall{hostMethod, methodOf(ctx)})
}

func (f *fakeHost) takeCalls() []servedCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeHost) ApplyDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Result, error) {
	f.record(ctx, "ApplyDaemonConfig")
	f.lastBefore = req.Before
	if f.applyGate != nil {
		<-f.applyGate
	}
	if f.applyDone != nil {
		f.applyDone <- ctx.Err()
	}
	return daemonconfig.Result{Wrote: true, Restarted: true, Why: []string{"daemon.json changes"}, Before: req.Before, Downtime: 1500 * time.Millisecond}, f.applyErr
}

func (f *fakeHost) PlanDaemonConfig(ctx context.Context, _ daemonconfig.Request) (daemonconfig.Preview, error) {
	f.record(ctx, "PlanDaemonConfig")
	return f.preview, nil
}

func (f *fakeHost) ReadDaemonJSON(ctx context.Context, path string) ([]byte, bool, error) {
	f.record(ctx, "ReadDaemonJSON")
	if path == "/missing" {
		return nil, false, nil
	}
	return []byte(`{"ipv6": true}`), true, nil
}

func (f *fakeHost) DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error) {
	f.record(ctx, "DockerVersion")
	return daemonconfig.ParseVersion("29.1.0", "1.52")
}

func (f *fakeHost) Observe(ctx context.Context, _ string) (daemonconfig.RunningState, error) {
	f.record(ctx, "Observe")
	t := true
	return daemonconfig.RunningState{IPv6: &t}, nil
}

func (f *fakeHost) Gather(ctx context.Context, _, _ string) (hostcheck.Facts, error) {
	f.record(ctx, "Gather")
	return f.facts, nil
}

func (f *fakeHost) GatherPosture(ctx context.Context) hostcheck.Facts {
	f.record(ctx, "GatherPosture")
	return f.facts
}

func (f *fakeHost) Units(ctx context.Context, unit string, others ...string) ([]string, map[string]string, error) {
	f.record(ctx, "Units")
	states := map[string]string{}
	for _, o := range others {
		states[o] = "inactive"
	}
	return []string{"-H", "fd://"}, states, nil
}

func (f *fakeHost) Firewall(ctx context.Context) (firewall.Handle, error) {
	f.record(ctx, "Firewall")
	return fakeFW{f}, nil
}

func (f *fakeHost) DockerClient() *dockerapi.Client { return f.docker }

func (f *fakeHost) ClientIP(ctx context.Context, o probe.Options) (probe.Result, error) {
	f.record(ctx, "ClientIP")
	f.mu.Lock()
	f.probeCalls++
	f.mu.Unlock()
	if o.Network == "slow" {
		<-ctx.Done()
		return probe.Result{}, ctx.Err()
	}
	return probe.Result{Verdict: "preserved", ClientAddress: "fd00:1::2", ObservedAddress: "fd00:1::2"}, nil
}

func (f *fakeHost) ContainerClientIP(ctx context.Context, o probe.ContainerOptions) (probe.ContainerResult, error) {
	f.record(ctx, "ContainerClientIP")
	if o.Container == "gone" {
		return probe.ContainerResult{}, fmt.Errorf("probe: no container %q on this host", o.Container)
	}
	trusted := true
	return probe.ContainerResult{Container: o.Container, Verdict: "masqueraded", ObservedAddress: "198.18.0.1",
		Ports: []probe.PortResult{{Port: 25, Family: "ipv6", Path: "proxy", Verdict: "masqueraded", ObservedAddress: "198.18.0.1", Trusted: &trusted}}}, nil
}

type fakeFW struct{ f *fakeHost }

func (w fakeFW) Apply(ctx context.Context, p firewall.Posture) error {
	w.f.record(ctx, "Handle.Apply")
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.fwApplied = append(w.f.fwApplied, p)
	return nil
}

func (w fakeFW) Read(ctx context.Context, table string) (*firewall.Posture, bool, []string, error) {
	w.f.record(ctx, "Handle.Read")
	if table == "none" {
		return nil, false, nil, nil
	}
	return &firewall.Posture{Table: table, IPv6Clients: "refuse", Ports: []uint16{25}}, true, []string{"a rule was added"}, nil
}

func (w fakeFW) Delete(ctx context.Context, _ string) error {
	w.f.record(ctx, "Handle.Delete")
	return errors.New("table is busy")
}

func (w fakeFW) Exists(ctx context.Context, _ string) (bool, bool, error) {
	w.f.record(ctx, "Handle.Exists")
	return true, false, nil
}

func (w fakeFW) OtherFirewalls(ctx context.Context, _ string) ([]firewall.Finding, error) {
	w.f.record(ctx, "Handle.OtherFirewalls")
	return []firewall.Finding{{Name: "inet firewalld", Kind: "firewalld", Detail: "x"}}, nil
}
func (fakeFW) Close() error { return nil }

// pair serves fake on one end of a pipe and returns the Host on the other.
// drop cuts the pipe, as a lost SSH connection does.
func pair(t *testing.T, fake *fakeHost) (h *Host, drop func(), served chan error) {
	t.Helper()
	served = make(chan error, 1)
	var mu sync.Mutex
	var conns []net.Conn
	connect := func(context.Context) (io.ReadWriteCloser, error) {
		a, b := net.Pipe()
		mu.Lock()
		conns = append(conns, a, b)
		mu.Unlock()
		go func() {
			served <- Serve(b, func(string) host.Host { return fake }, "test")
		}()
		return a, nil
	}
	h = New("mail1", "ssh://test@[fd00::2]:22", "", connect)
	drop = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(func() { _ = h.Close(); drop() })
	return h, drop, served
}

func TestCallsRoundTrip(t *testing.T) {
	yes := true
	fake := &fakeHost{
		facts: hostcheck.Facts{DockerVersion: "29.1.0", DaemonJSONPath: "/etc/docker/daemon.json", DaemonJSONExists: true,
			IPv6Forwarding: &yes, GlobalIPv6: []string{"fd00:1::1"}, Gaps: []string{"routes: x"},
			OtherFirewalls: []firewall.Finding{{Name: "ufw.service", Kind: "ufw"}}},
		preview: daemonconfig.Preview{Changed: true, Restart: true, Why: []string{"daemon.json changes"},
			ObserveErr: errors.New("dockerd does not answer")},
	}
	h, _, _ := pair(t, fake)
	ctx := context.Background()

	// Before's nil values mean "the key was absent": they must come back
	// nil, not as the JSON literal null (destroy would write that).
	before := map[string]json.RawMessage{"ip6tables": nil, "ipv6": json.RawMessage(`false`)}
	res, err := h.ApplyDaemonConfig(ctx, daemonconfig.Request{Path: "/etc/docker/daemon.json", Before: before})
	if err != nil || !res.Wrote || !res.Restarted || res.Downtime != 1500*time.Millisecond || res.Why[0] != "daemon.json changes" {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if v, ok := res.Before["ip6tables"]; !ok || v != nil || string(res.Before["ipv6"]) != "false" {
		t.Fatalf("Before came back as %q, want ip6tables absent (nil) and ipv6 false", res.Before)
	}
	if v, ok := fake.lastBefore["ip6tables"]; !ok || v != nil {
		t.Fatalf("Before reached the host as %q, want ip6tables absent (nil)", fake.lastBefore)
	}
	p, err := h.PlanDaemonConfig(ctx, daemonconfig.Request{})
	if err != nil || !p.Restart || p.ObserveErr == nil || p.ObserveErr.Error() != "dockerd does not answer" {
		t.Fatalf("plan: %+v %v", p, err)
	}
	data, exists, err := h.ReadDaemonJSON(ctx, "/etc/docker/daemon.json")
	if err != nil || !exists || string(data) != `{"ipv6": true}` {
		t.Fatalf("read: %q %v %v", data, exists, err)
	}
	if _, exists, err := h.ReadDaemonJSON(ctx, "/missing"); err != nil || exists {
		t.Fatalf("read missing: %v %v", exists, err)
	}
	v, err := h.DockerVersion(ctx)
	if err != nil || v.Major != 29 || v.Minor != 1 {
		t.Fatalf("version: %+v %v", v, err)
	}
	obs, err := h.Observe(ctx, "docker.service")
	if err != nil || obs.IPv6 == nil || !*obs.IPv6 {
		t.Fatalf("observe: %+v %v", obs, err)
	}
	f, err := h.Gather(ctx, "/etc/docker/daemon.json", "docker.service")
	if err != nil || !reflect.DeepEqual(f, fake.facts) {
		t.Fatalf("gather: %+v %v\nwant %+v", f, err, fake.facts)
	}
	if f := h.GatherPosture(ctx); !reflect.DeepEqual(f, fake.facts) {
		t.Fatalf("posture facts: %+v", f)
	}
	flags, states, err := h.Units(ctx, "docker.service", "ufw.service")
	if err != nil || strings.Join(flags, " ") != "-H fd://" || states["ufw.service"] != "inactive" {
		t.Fatalf("units: %v %v %v", flags, states, err)
	}
	r, err := h.ClientIP(ctx, probe.Options{Network: "mail"})
	if err != nil || r.Verdict != "preserved" {
		t.Fatalf("probe: %+v %v", r, err)
	}

	fw, _ := h.Firewall(ctx)
	want := firewall.Posture{Table: "dockeripv6", IPv6Clients: "refuse", Ports: []uint16{25, 587}}
	if err := fw.Apply(ctx, want); err != nil {
		t.Fatal(err)
	}
	if len(fake.fwApplied) != 1 || !reflect.DeepEqual(fake.fwApplied[0], want) {
		t.Fatalf("firewall apply reached the host as %+v", fake.fwApplied)
	}
	got, found, drift, err := fw.Read(ctx, "dockeripv6")
	if err != nil || !found || got.IPv6Clients != "refuse" || len(drift) != 1 {
		t.Fatalf("firewall read: %+v %v %v %v", got, found, drift, err)
	}
	if got, found, _, err := fw.Read(ctx, "none"); err != nil || found || got != nil {
		t.Fatalf("firewall read of no table: %+v %v %v", got, found, err)
	}
	if err := fw.Delete(ctx, "dockeripv6"); err == nil || err.Error() != "table is busy" {
		t.Fatalf("firewall delete: the host's error should come back as it was: %v", err)
	}
	if exists, ours, err := fw.Exists(ctx, "dockeripv6"); err != nil || !exists || ours {
		t.Fatalf("exists: %v %v %v", exists, ours, err)
	}
	if others, err := fw.OtherFirewalls(ctx, ""); err != nil || len(others) != 1 || others[0].Name != "inet firewalld" {
		t.Fatalf("others: %v %v", others, err)
	}
	if name, pid, _ := h.Agent(); name == "" || pid != os.Getpid() {
		t.Fatalf("agent: %q %d", name, pid)
	}
}

// The provider tells these errors apart with errors.As: they must survive
// the trip from the host.
func TestTypedErrorsCrossTheWire(t *testing.T) {
	refused := &daemonconfig.RefusedError{Summary: "Invalid daemon.json", Detail: "dockerd --validate said no"}
	rolled := &daemonconfig.RolledBackError{Failure: "the restart job failed", Restored: "the previous daemon.json is back",
		Up: "dockerd is up", DaemonUp: true, Said: "bad pool"}

	h, _, _ := pair(t, &fakeHost{applyErr: refused})
	_, err := h.ApplyDaemonConfig(context.Background(), daemonconfig.Request{})
	var gotRefused *daemonconfig.RefusedError
	if err == nil || err.Error() != refused.Error() || !errors.As(err, &gotRefused) || *gotRefused != *refused {
		t.Fatalf("RefusedError came back as %#v", err)
	}

	h, _, _ = pair(t, &fakeHost{applyErr: rolled})
	_, err = h.ApplyDaemonConfig(context.Background(), daemonconfig.Request{})
	var gotRolled *daemonconfig.RolledBackError
	if err == nil || err.Error() != rolled.Error() || !errors.As(err, &gotRolled) || !reflect.DeepEqual(gotRolled, rolled) {
		t.Fatalf("RolledBackError came back as %#v", err)
	}
}

// The Docker API goes through the agent to the socket at the Host's
// docker_host on the machine.
func TestDockerThroughTheAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/version"):
			_, _ = io.WriteString(w, `{"Version":"27.5.1","ApiVersion":"1.47"}`)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })

	fake := &fakeHost{docker: dockerapi.New("unix://" + sock)}
	h, _, _ := pair(t, fake)
	v, err := h.DockerClient().ServerVersion(context.Background())
	if err != nil || v.Server != "27.5.1" {
		t.Fatalf("docker version through the agent: %+v %v", v, err)
	}
	if got := h.DockerClient().Where(); got != dockerapi.DefaultHost+" on ssh://test@[fd00::2]:22" {
		t.Fatalf("Where: %q", got)
	}

	// A daemon that is not there: the host's error, with the address.
	fake2 := &fakeHost{docker: dockerapi.New("unix://" + filepath.Join(t.TempDir(), "none.sock"))}
	h2, _, _ := pair(t, fake2)
	_, err = h2.DockerClient().ServerVersion(context.Background())
	var ue *dockerapi.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach the Docker daemon at "+dockerapi.DefaultHost+" on ssh://test@[fd00::2]:22") {
		t.Fatalf("unreachable daemon through the agent: %v", err)
	}
}

// A connection lost in the middle of the daemon.json transaction: the call
// says which step it was in, the transaction runs to its end on the host
// (its context is not cancelled), the agent's Serve returns once it has,
// and the next call starts a new agent.
func TestLostConnectionMidTransaction(t *testing.T) {
	fake := &fakeHost{applyGate: make(chan struct{}), applyDone: make(chan error, 1)}
	h, drop, served := pair(t, fake)
	ctx := context.Background()
	if _, err := h.DockerVersion(ctx); err != nil { // the agent is up
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := h.ApplyDaemonConfig(ctx, daemonconfig.Request{})
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond) // the call is on the host, waiting at the gate
	drop()
	err := <-errc
	var lost *LostError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "the connection to the agent was lost (unexpected EOF) during the daemon.json transaction") ||
		!strings.Contains(err.Error(), `host "mail1" (ssh://test@[fd00::2]:22)`) || !strings.Contains(err.Error(), "the next apply converges") {
		t.Fatalf("lost connection: %v", err)
	}
	select {
	case err := <-served:
		t.Fatalf("the agent stopped with the transaction still running: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(fake.applyGate)
	if ctxErr := <-fake.applyDone; ctxErr != nil {
		t.Fatalf("the transaction's context was cancelled by the lost connection: %v", ctxErr)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The next call starts a new agent.
	fake.applyGate, fake.applyDone = nil, nil
	if _, err := h.ApplyDaemonConfig(ctx, daemonconfig.Request{}); err != nil {
		t.Fatalf("after a lost connection the next call should start a new agent: %v", err)
	}
}

// Other calls stop when the workstation gives up on them.
func TestCancelledCallStopsOnTheHost(t *testing.T) {
	fake := &fakeHost{}
	h, _, _ := pair(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.ClientIP(ctx, probe.Options{Network: "slow"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call past its deadline: %v", err)
	}
	if _, err := h.ClientIP(context.Background(), probe.Options{Network: "mail"}); err != nil {
		t.Fatalf("the session should survive one cancelled call: %v", err)
	}
}

func TestConnectFailureNamesTheHost(t *testing.T) {
	h := New("mail2", "ssh://x@[fd00::3]:22", "", func(context.Context) (io.ReadWriteCloser, error) {
		return nil, errors.New("dial: connection refused")
	})
	_, err := h.DockerVersion(context.Background())
	if err == nil || err.Error() != `host "mail2": dial: connection refused` {
		t.Fatalf("got %v", err)
	}
	// The Docker API says the same, not the Docker client's "Cannot connect".
	_, err = h.DockerClient().API(context.Background())
	if err == nil || err.Error() != `host "mail2": dial: connection refused` {
		t.Fatalf("Docker API: got %v", err)
	}
}

func TestProtocolMismatch(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() { _ = Serve(b, func(string) host.Host { return &fakeHost{} }, "old") }()
	sess, err := newSession(a, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = roundTrip(context.Background(), sess, mHello, helloArgs{Protocol: Protocol + 1})
	if err == nil || !strings.Contains(err.Error(), "the agent binary is another build") {
		t.Fatalf("protocol mismatch: %v", err)
	}
}
