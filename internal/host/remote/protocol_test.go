package remote

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/yamux"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
)

// Every method of host.Host and of the firewall's Handle goes over the
// wire (not answered on the workstation), is served on the host by the
// same method of the host's Host, and is named in the table with a step.
// Every method of the table is reached by one of them.
func TestEveryHostCallIsServed(t *testing.T) {
	fake := &fakeHost{}
	h, _, _ := pair(t, fake)
	ctx := context.Background()
	if _, err := h.DockerVersion(ctx); err != nil { // the agent is up
		t.Fatal(err)
	}
	fake.takeCalls()
	used := map[string]bool{mHello.name: true, mDocker.name: true} // the session's own
	check := func(prefix string, target reflect.Value, iface reflect.Type, skip ...string) {
		for m := range iface.Methods() {
			if slices.Contains(skip, m.Name) {
				continue
			}
			want := prefix + m.Name
			out := target.MethodByName(m.Name).Call(zeroArgs(m.Type))
			if err, _ := out[len(out)-1].Interface().(error); err != nil {
				var pe *ProtocolError
				var lost *LostError
				if errors.As(err, &pe) || errors.As(err, &lost) {
					t.Errorf("%s: %v", want, err)
				}
			}
			calls := fake.takeCalls()
			if len(calls) == 0 || calls[len(calls)-1].hostMethod != want {
				t.Errorf("%s is not served by the host's %s: the host saw %v", want, want, calls)
				continue
			}
			wire := calls[len(calls)-1].wire
			entry, ok := methods[wire]
			if !ok {
				t.Errorf("%s is served as %q, which the table does not name", want, wire)
				continue
			}
			if entry.info().step == "" {
				t.Errorf("%s (%s) has no step", want, wire)
			}
			used[wire] = true
		}
	}
	// DockerClient is the docker.dial stream (TestDockerThroughTheAgent);
	// Firewall opens a handle on the workstation, served per call.
	check("", reflect.ValueOf(h), reflect.TypeFor[host.Host](), "DockerClient", "Firewall")
	fw, err := h.Firewall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("Handle.", reflect.ValueOf(fw), reflect.TypeFor[firewall.Handle](), "Close")
	for name := range methods {
		if !used[name] {
			t.Errorf("method %s of the table serves no call of host.Host or firewall.Handle", name)
		}
	}
}

// zeroArgs are a background context and zero values for a method's
// parameters (none for a variadic one).
func zeroArgs(m reflect.Type) []reflect.Value {
	var args []reflect.Value
	for i := range m.NumIn() {
		in := m.In(i)
		switch {
		case m.IsVariadic() && i == m.NumIn()-1:
		case in == reflect.TypeFor[context.Context]():
			args = append(args, reflect.ValueOf(context.Background()))
		default:
			args = append(args, reflect.Zero(in))
		}
	}
	return args
}

// Each entry says what it does in words that fit "lost ... during <step>."
// and every call that can hang on the host has a bound there.
func TestTableEntries(t *testing.T) {
	for name, m := range methods {
		s := m.info()
		if s.name != name {
			t.Errorf("%s is registered as %s", s.name, name)
		}
		if !strings.HasPrefix(s.step, "the ") || strings.HasSuffix(s.step, ".") {
			t.Errorf("%s: step %q should be a noun phrase (\"the read of ...\") without a full stop", name, s.step)
		}
		if strings.HasSuffix(s.lost, ".") {
			t.Errorf("%s: lost %q: LostError adds the full stop", name, s.lost)
		}
		session := m == handler(mHello) || m == handler(mDocker)
		if !session && !s.detached && s.bound <= 0 {
			t.Errorf("%s has no bound on the host: a wedged dockerd, bus or kernel would hold it for ever", name)
		}
	}
	if got := mFirewallApply.lostStep(); got != "the replacement of the nftables table. It is one transaction: it happened whole or not at all, and the next plan shows which" {
		t.Errorf("firewall.apply lost step: %q", got)
	}
	if !mDaemonApply.detached || mDaemonApply.bound != 0 {
		t.Errorf("daemon.apply must run to its end on the host (detached, no bound of the agent's): %+v", mDaemonApply.spec)
	}
}

// The protocol's shape (its methods, their argument and result types, down
// to every JSON field) is pinned to the Protocol number: a change to either
// without the other fails here.
func TestProtocolNumberFollowsTheTable(t *testing.T) {
	const protocol, shape = 3, "755af1f159abea8b"
	var names []string
	for name := range methods {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		rt := reflect.TypeOf(methods[name]).Elem() // method[Req, Res]
		serve, _ := rt.FieldByName("serve")
		fmt.Fprintf(&b, "%s(%s) %s\n", name, typeShape(serve.Type.In(2), nil), typeShape(serve.Type.Out(0), nil))
	}
	sum := sha256.Sum256([]byte(b.String()))
	got := hex.EncodeToString(sum[:8])
	if Protocol != protocol || got != shape {
		t.Fatalf("the protocol changed (Protocol %d, shape %s; pinned: %d, %s).\n"+
			"Bump Protocol in wire.go and pin the new number and shape in this test.\nThe shape now:\n%s",
			Protocol, got, protocol, shape, b.String())
	}
}

// typeShape is what JSON makes of t.
func typeShape(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen == nil {
		seen = map[reflect.Type]bool{}
	}
	if t.Implements(reflect.TypeFor[json.Marshaler]()) || t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return t.String() // its own encoding
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeShape(t.Elem(), seen)
	case reflect.Slice, reflect.Array:
		return "[]" + typeShape(t.Elem(), seen)
	case reflect.Map:
		return "map[" + typeShape(t.Key(), seen) + "]" + typeShape(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return t.String()
		}
		seen[t] = true
		var fields []string
		for f := range t.Fields() {
			if f.IsExported() || f.Anonymous {
				fields = append(fields, f.Name+" "+string(f.Tag)+" "+typeShape(f.Type, seen))
			}
		}
		return "{" + strings.Join(fields, "; ") + "}"
	}
	return t.Kind().String()
}

// rawSession is a workstation's session to a real agent serving fake, to
// send it lines no Host would.
func rawSession(t *testing.T) *yamux.Session {
	t.Helper()
	a, b := net.Pipe()
	go func() { _ = Serve(b, func(string) host.Host { return &fakeHost{} }, "test") }()
	sess, err := newSession(a, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close(); a.Close(); b.Close() })
	return sess
}

// rawCall sends line and returns the agent's error.
func rawCall(t *testing.T, sess *yamux.Session, line string) error {
	t.Helper()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	go func() { _, _ = io.WriteString(st, line+"\n") }()
	resp, err := bufio.NewReader(st).ReadBytes('\n')
	if err != nil {
		t.Fatalf("%.80s: no answer: %v", line, err)
	}
	var r response
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("%.80s: answer %q: %v", line, resp, err)
	}
	return r.Error.decode()
}

// The agent checks every request when it arrives and says what is wrong.
func TestBadRequests(t *testing.T) {
	sess := rawSession(t)
	hello := fmt.Sprintf(`{"method":"hello","args":{"protocol":%d,"docker_host":""}}`, Protocol)
	for _, c := range []struct{ line, want string }{
		{`{"method":"docker.version"}`, "protocol: a call before hello"},
		{`{"method":"hello"}`, "protocol: hello: the request has no arguments"},
		{`{"method":"hello","args":{"protocol":1,"docker_host":"","extra":true}}`,
			"the agent speaks protocol 3, this provider 1: the agent binary is another build (check agent_binary)"},
		{`{"method":"hello","args":{"protocol":3}}`, `protocol: hello: the request lacks the argument(s) ["docker_host"]`},
		{hello, ""},
		{`hello`, "protocol: the request is not one: not JSON (invalid character 'h' looking for beginning of value)"},
		{`{"method":"docker.version"} {}`, "protocol: the request is not one: more than one JSON value"},
		{`{"method":"docker.version","user":"root"}`, `protocol: the request is not one: unknown field "user"`},
		{`{"method":7}`, `protocol: the request is not one: field "method" is a JSON number, not a string`},
		{`{}`, "protocol: the request names no method"},
		{`{"method":"daemon.frobnicate"}`, `protocol: unknown method "daemon.frobnicate": the agent (protocol 3) is another build than the provider`},
		{`{"method":"docker.version","timeout":-5}`, "protocol: docker.version: the timeout -5ns is negative"},
		{`{"method":"docker.version","args":{"unit":"x"}}`, "protocol: docker.version: it takes no arguments, and the request has some"},
		{`{"method":"docker.dial","args":[]}`, "protocol: docker.dial: it takes no arguments, and the request has some"},
		{`{"method":"daemon.read"}`, "protocol: daemon.read: the request has no arguments"},
		{`{"method":"daemon.read","args":null}`, "protocol: daemon.read: the request has no arguments"},
		{`{"method":"daemon.read","args":[1]}`, "protocol: daemon.read: its arguments: a JSON array, not an object"},
		{`{"method":"daemon.read","args":{"path":"/etc/docker/daemon.json","mode":420}}`, `protocol: daemon.read: its arguments: unknown field "mode"`},
		{`{"method":"daemon.read","args":{"path":7}}`, `protocol: daemon.read: its arguments: field "path" is a JSON number, not a string`},
		{`{"method":"systemd.units","args":{"unit":"docker.service"}}`, `protocol: systemd.units: the request lacks the argument(s) ["others"]`},
		{`{"method":"daemon.apply","args":{"Path":"/etc/docker/daemon.json"}}`,
			`protocol: daemon.apply: the request lacks the argument(s) ["Set" "Release" "Before" "Destroy" "Pending" "Restart"]`},
		{`{"method":"firewall.apply","args":{"Table":"t","IPv6Clients":"refuse","Ports":[25],"AllowIPv6From":[],"RejectWith":"","Extra":1}}`,
			`protocol: firewall.apply: its arguments: unknown field "Extra"`},
		{`{"method":"daemon.read","args":{"path":"/etc/docker/daemon.json"}}`, ""},
	} {
		err := rawCall(t, sess, c.line)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.line, err)
			}
			continue
		}
		var pe *ProtocolError
		var ve *VersionError
		if err == nil || err.Error() != c.want || (!errors.As(err, &pe) && !errors.As(err, &ve)) {
			t.Errorf("%s:\n got %v (%T)\nwant %s, as a *ProtocolError or *VersionError", c.line, err, errors.Unwrap(err), c.want)
		}
	}
	// A request line longer than any the provider sends is not read.
	err := rawCall(t, sess, `{"method":"daemon.read","args":{"path":"`+strings.Repeat("a", maxLine)+`"}}`)
	if err == nil || err.Error() != "protocol: the request is longer than the agent reads (the line is longer than 16 MiB)" {
		t.Errorf("oversized request: %v", err)
	}
}

// The version handshake says which protocol each end speaks, whichever
// end is newer, even when the newer hello has fields the older lacks.
func TestProtocolMismatchBothWays(t *testing.T) {
	sess := rawSession(t)
	_, err := roundTrip(context.Background(), sess, mHello, helloArgs{Protocol: Protocol + 1})
	var ve *VersionError
	if !errors.As(err, &ve) || err.Error() != "the agent speaks protocol 3, this provider 4: the agent binary is another build (check agent_binary)" {
		t.Fatalf("a newer provider: %v", err)
	}

	h := rawAgent(t, false, func(req request, w io.Writer) {
		_, _ = io.WriteString(w, `{"result":{"protocol":4,"hostname":"mail1","pid":1,"uid":0,"version":"x","features":["new"]}}`+"\n")
	})
	_, err = h.DockerVersion(context.Background())
	if !errors.As(err, &ve) || err.Error() != `host "mail1" (ssh://test@[fd00::2]:22): starting the agent: the agent speaks protocol 4, this provider 3: the agent binary is another build (check agent_binary)` {
		t.Fatalf("a newer agent: %v", err)
	}

	// An agent of protocol 1 refused in words, with its own number twice.
	h = rawAgent(t, false, func(req request, w io.Writer) {
		_, _ = io.WriteString(w, `{"error":{"message":"the agent speaks protocol 1, this provider 1: the agent binary is another build (check agent_binary)"}}`+"\n")
	})
	_, err = h.DockerVersion(context.Background())
	if !errors.As(err, &ve) || err.Error() != `host "mail1" (ssh://test@[fd00::2]:22): starting the agent: the agent speaks protocol 1, this provider 3: the agent binary is another build (check agent_binary)` {
		t.Fatalf("an agent of protocol 1: %v", err)
	}
}

// rawAgent is a Host whose agent answers every request with answer, but
// hello as this build does when hello is set.
func rawAgent(t *testing.T, hello bool, answer func(req request, w io.Writer)) *Host {
	t.Helper()
	connect := func(context.Context) (io.ReadWriteCloser, error) {
		a, b := net.Pipe()
		sess, err := newSession(b, true)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { sess.Close(); a.Close(); b.Close() })
		go func() {
			for {
				st, err := sess.Accept()
				if err != nil {
					return
				}
				go func() {
					defer st.Close()
					line, err := bufio.NewReader(st).ReadBytes('\n')
					var req request
					if err != nil || json.Unmarshal(line, &req) != nil {
						return
					}
					if req.Method != mHello.name || !hello {
						answer(req, st)
						return
					}
					writeResponse(st, helloResult{Protocol: Protocol, Hostname: "mail1"}, nil)
				}()
			}
		}()
		return a, nil
	}
	h := New("mail1", "ssh://test@[fd00::2]:22", "", connect)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// A host that answers without end is not heard out: the call stops at
// maxLine and says why, and the session serves the next call.
func TestResponseLineIsBounded(t *testing.T) {
	var endless atomic.Bool
	endless.Store(true)
	h := rawAgent(t, true, func(req request, w io.Writer) {
		if !endless.Load() {
			writeResponse(w, daemonconfig.DockerVersion{Major: 29}, nil)
			return
		}
		_, _ = io.WriteString(w, `{"result":{"Raw":"`)
		chunk := []byte(strings.Repeat("a", 64<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the workstation stopped reading
			}
		}
	})
	_, err := h.DockerVersion(context.Background())
	var pe *ProtocolError
	want := `host "mail1" (ssh://test@[fd00::2]:22): protocol: docker.version: the agent's answer is longer than any answer ` +
		"of this provider's agent (the line is longer than 16 MiB), and it was not read: is the agent on the host this provider's build?"
	if !errors.As(err, &pe) || err.Error() != want {
		t.Fatalf("an endless answer:\n got %v\nwant %s", err, want)
	}
	endless.Store(false)
	if v, err := h.DockerVersion(context.Background()); err != nil || v.Major != 29 {
		t.Fatalf("the next call: %+v %v", v, err)
	}
}

// The workstation checks the answers too.
func TestBadResponses(t *testing.T) {
	for _, c := range []struct{ answer, want string }{
		{"not json", "protocol: docker.version: the agent's answer is not one: not JSON (invalid character 'o' in literal null (expecting 'u'))"},
		{`{"result":{},"extra":1}`, `protocol: docker.version: the agent's answer is not one: unknown field "extra"`},
		{`{"result":{"Major":"29"}}`, `protocol: docker.version: the agent's result: field "Major" is a JSON string, not a int`},
		{`{"result":{"Major":29,"Colour":"\u001b[31mred"}}`, `protocol: docker.version: the agent's result: unknown field "Colour"`},
	} {
		h := rawAgent(t, true, func(req request, w io.Writer) { _, _ = io.WriteString(w, c.answer+"\n") })
		_, err := h.DockerVersion(context.Background())
		var pe *ProtocolError
		if !errors.As(err, &pe) || err.Error() != `host "mail1" (ssh://test@[fd00::2]:22): `+c.want {
			t.Errorf("answer %s:\n got %v\nwant %s", c.answer, err, c.want)
		}
	}
}

// Texts from the host reach the operator's terminal with their control
// characters escaped: in errors, in the typed errors inside them and in
// results.
func TestHostTextIsEscaped(t *testing.T) {
	rolled := &daemonconfig.RolledBackError{Failure: "the restart job failed\x1b[2J", Restored: "back", Up: "up",
		Said: "line 1\nline 2\r\x1b]0;owned\x07"}
	fake := &fakeHost{applyErr: rolled}
	fake.facts.Gaps = []string{"routes: \x1b[31mred\x1b[0m"}
	h, _, _ := pair(t, fake)
	_, err := h.ApplyDaemonConfig(context.Background(), daemonconfig.Request{})
	var got *daemonconfig.RolledBackError
	if !errors.As(err, &got) || got.Failure != `the restart job failed\x1b[2J` || got.Said != `line 1`+"\n"+`line 2\x0d\x1b]0;owned\x07` {
		t.Fatalf("typed error: %#v", got)
	}
	if strings.ContainsAny(err.Error(), "\x1b\r\x07") || !strings.Contains(err.Error(), `the restart job failed\x1b[2J`) {
		t.Fatalf("message: %q", err.Error())
	}
	if f := h.GatherPosture(context.Background()); len(f.Gaps) != 1 || f.Gaps[0] != `routes: \x1b[31mred\x1b[0m` {
		t.Fatalf("result: %q", f.Gaps)
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain words":              "plain words",
		"tab\tand\nnewline stay":   "tab\tand\nnewline stay",
		"déjà vu, 日本":              "déjà vu, 日本",
		"\x1b[31mred":              `\x1b[31mred`,
		"over\rwrite":              `over\x0dwrite`,
		"del\x7f nul\x00":          `del\x7f nul\x00`,
		"c1 \u0085 \u009b":         `c1 \u0085 \u009b`,
		"bidi \u202egnp.exe":       `bidi \u202egnp.exe`,
		"bad utf-8 \xff\xfe":       `bad utf-8 \xff\xfe`,
		"zero width \u200b joiner": `zero width \u200b joiner`,
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// A method's bound on the host stops it and says which step it was.
func TestMethodBound(t *testing.T) {
	m := &method[none, none]{
		spec: spec{name: "test.slow", step: "the slow read", bound: 50 * time.Millisecond},
		serve: func(ctx context.Context, _ host.Host, _ none) (none, error) {
			<-ctx.Done()
			return none{}, ctx.Err()
		},
	}
	_, err := m.handle(context.Background(), nil, nil)
	if err == nil || err.Error() != "the slow read did not end within 50ms, its bound on the host: context deadline exceeded" {
		t.Fatalf("bounded call: %v", err)
	}
	// The workstation's own end is not the bound's.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.handle(ctx, nil, nil); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "bound") {
		t.Fatalf("cancelled call: %v", err)
	}
}

// Whatever line arrives, the agent either knows its method or says what
// is wrong as a *ProtocolError, and never panics.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"method":"hello","args":{"protocol":3,"docker_host":""}}`,
		`{"method":"daemon.read","timeout":5,"args":{"path":"/x"}}`,
		`{"method":"x"}`, `{}`, `[]`, `null`, `{"method":"docker.dial","args":null}`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, m, err := parseRequest(line)
		var pe *ProtocolError
		switch {
		case err != nil && !errors.As(err, &pe):
			t.Fatalf("%q: %T %v", line, err, err)
		case err == nil && (m == nil || methods[req.Method] != m || req.Timeout < 0):
			t.Fatalf("%q: accepted as %+v", line, req)
		case err == nil && m != handler(mHello) && m != handler(mDocker):
			stopped, cancel := context.WithCancel(context.Background()) // the fake's slow probe returns at once
			cancel()
			if _, err := m.handle(stopped, &fakeHost{}, req.Args); err != nil && errors.As(err, &pe) && pe.Method != req.Method {
				t.Fatalf("%q: %v names another method", line, err)
			}
		}
	})
}

// Escaped text is valid UTF-8 with nothing left to escape.
func FuzzEscapeText(f *testing.F) {
	for _, seed := range []string{"plain", "\x1b[2J\r\n", "\u202e\u0085\xff", "日本\t"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := escapeText(s)
		if !utf8.ValidString(got) || needsEscape(got) || escapeText(got) != got {
			t.Fatalf("escapeText(%q) = %q", s, got)
		}
		if !needsEscape(s) && got != s {
			t.Fatalf("escapeText(%q) changed safe text to %q", s, got)
		}
	})
}
