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
//
// The protocol is one table (protocol.go): each method's name, what it does
// in words, its request and result types, its handler on the host and its
// bound there. The client (client.go) and the server (server.go) are made
// from it. Both ends check every line they read: its size, its fields, its
// method and its arguments; the workstation escapes the control characters
// of every text the host sends before it reaches a diagnostic.
package remote

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
)

// Protocol is the version both ends must speak; the hello call checks it.
// Bump it with every change to the table or to a method's arguments or
// results: the agent on a host is always the build the provider uploaded,
// but agent_binary or a test may pair two builds.
const Protocol = 3

// maxLine bounds every line either end reads (a request, a response, the
// Docker stream's header): the largest answer (daemon.json, the facts) is
// far smaller, and a host that sends more is not heard out.
const maxLine = 16 << 20

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

// ProtocolError: a line that does not follow the protocol (too long, not
// JSON, an unknown method or field, a missing argument). The agent sends
// the ones it finds back as themselves.
type ProtocolError struct {
	Method  string `json:"method,omitempty"` // the call, when it is known
	Problem string `json:"problem"`
}

func (e *ProtocolError) Error() string {
	if e.Method == "" {
		return "protocol: " + e.Problem
	}
	return "protocol: " + e.Method + ": " + e.Problem
}

// VersionError: the workstation and the agent speak different protocols.
type VersionError struct {
	Agent    int `json:"agent"`
	Provider int `json:"provider"`
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("the agent speaks protocol %d, this provider %d: the agent binary is another build (check agent_binary)", e.Agent, e.Provider)
}

// wireError carries an error, and the typed errors the provider tells
// apart (errors.As), across the stream.
type wireError struct {
	Message     string                        `json:"message"`
	Refused     *daemonconfig.RefusedError    `json:"refused,omitempty"`
	RolledBack  *daemonconfig.RolledBackError `json:"rolled_back,omitempty"`
	Unreachable *string                       `json:"unreachable,omitempty"` // dockerapi.UnreachableError's Host
	Cause       string                        `json:"cause,omitempty"`       // its Err
	Protocol    *ProtocolError                `json:"protocol,omitempty"`
	Version     *VersionError                 `json:"version,omitempty"`
}

func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Message: err.Error()}
	var refused *daemonconfig.RefusedError
	var rolled *daemonconfig.RolledBackError
	var unreachable *dockerapi.UnreachableError
	var perr *ProtocolError
	var verr *VersionError
	switch {
	case errors.As(err, &refused):
		w.Refused = refused
	case errors.As(err, &rolled):
		w.RolledBack = rolled
	case errors.As(err, &unreachable):
		w.Unreachable, w.Cause = &unreachable.Host, unreachable.Err.Error()
	case errors.As(err, &perr):
		w.Protocol = perr
	case errors.As(err, &verr):
		w.Version = verr
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

// decode is the agent's error as the workstation shows it: every text in
// it comes from the host, so its control characters are escaped.
func (w *wireError) decode() error {
	if w == nil {
		return nil
	}
	escapeStrings(w)
	e := &agentError{msg: w.Message}
	switch {
	case w.Refused != nil:
		e.inner = w.Refused
	case w.RolledBack != nil:
		e.inner = w.RolledBack
	case w.Unreachable != nil:
		e.inner = &dockerapi.UnreachableError{Host: *w.Unreachable, Err: errors.New(w.Cause)}
	case w.Protocol != nil:
		e.inner = w.Protocol
	case w.Version != nil:
		e.inner = w.Version
	}
	return e
}

// newSession wraps the agent's stream in yamux; the workstation is the
// client (it opens the streams), the agent the server. yamux's window
// bounds what a stream buffers; readLine bounds what a call keeps.
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

// errLineTooLong: a line was longer than maxLine; the rest was not read.
var errLineTooLong = fmt.Errorf("the line is longer than %d MiB", maxLine>>20)

// readLine reads one line, without its newline, of at most limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+1 {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// strictUnmarshal decodes one JSON value that has no field v lacks and
// nothing after it.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(describeJSON(err))
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// describeJSON says in words what is wrong with a JSON value.
func describeJSON(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("field %q is a JSON %s, not a %s", typeErr.Field, typeErr.Value, typeErr.Type)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("a JSON %s, not a %s", typeErr.Value, typeErr.Type)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not JSON (" + strings.TrimPrefix(err.Error(), "json: ") + ")"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// missingFields lists the fields of struct type t that JSON always carries
// (no omitempty) and the object raw lacks: a request of this build always
// has them, so an absent one is a missing argument.
func missingFields(raw json.RawMessage, t reflect.Type) ([]string, error) {
	if t.Kind() != reflect.Struct {
		return nil, nil
	}
	var got map[string]json.RawMessage
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(raw, &got); errors.As(err, &typeErr) {
		return nil, fmt.Errorf("a JSON %s, not an object", typeErr.Value)
	} else if err != nil {
		return nil, errors.New(describeJSON(err))
	}
	var missing []string
	for _, name := range requiredFields(t) {
		if !hasKey(got, name) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

func requiredFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			names = append(names, requiredFields(f.Type)...)
			continue
		case strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"):
			continue
		case tag == "":
			tag = f.Name
		}
		names = append(names, tag)
	}
	return names
}

// hasKey matches as encoding/json does: exactly, else without case.
func hasKey(m map[string]json.RawMessage, name string) bool {
	if _, ok := m[name]; ok {
		return true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
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
