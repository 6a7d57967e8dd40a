package fleettier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fleet"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/tfcli"
)

const tfTimeout = 8 * time.Minute

var (
	theFleet *fleet.Fleet
	tmpRoot  string
)

func TestMain(m *testing.M) {
	fleet.MaybeRunHost()
	if os.Getenv(sandbox.EnvSandbox) == "" {
		fmt.Fprintln(os.Stderr, "fleettier: these tests run inside the sandbox only (make test, make testfleet)")
		os.Exit(1)
	}
	var err error
	if tmpRoot, err = os.MkdirTemp("", "fleettier-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	start := time.Now()
	theFleet, err = fleet.Start(ctx, 3)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleettier: starting the fleet:", err)
		os.RemoveAll(tmpRoot)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "fleettier: 3 hosts up in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	_ = theFleet.Close()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// providerBinary is the provider binary terraform runs and uploads as the
// agent (tfcli.PluginDir).
func providerBinary(t testing.TB) string {
	t.Helper()
	dir, err := tfcli.PluginDir(tmpRoot)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, tfcli.BinaryName)
}

// copyFile copies src to dst (mode 0755), then appends extra.
func copyFile(src, dst string, extra []byte) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if _, err := out.Write(extra); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func sha256File(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// workdir is a Terraform working directory on the workstation.
type workdir struct {
	t   testing.TB
	dir string
	env []string
	tf  string
}

func newWorkdir(t testing.TB) *workdir {
	t.Helper()
	d, err := tfcli.NewDir(tmpRoot)
	if err != nil {
		t.Fatal(err)
	}
	return &workdir{t: t, dir: d.Path, tf: d.Terraform, env: d.Env}
}

func (w *workdir) write(name, text string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workdir) writeJSON(name string, v any) {
	w.t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		w.t.Fatal(err)
	}
	w.write(name, string(b))
}

type tfResult struct {
	args string
	out  string
	code int
	took time.Duration
}

func (r tfResult) String() string {
	return fmt.Sprintf("terraform %s: exit %d in %s\n%s", r.args, r.code, r.took.Round(10*time.Millisecond), r.out)
}

// start runs terraform on the workstation; wait with tfProc.wait.
type tfProc struct {
	w     *workdir
	cmd   *exec.Cmd
	out   *bytes.Buffer
	args  []string
	start time.Time
	stop  context.CancelFunc
}

func (w *workdir) start(args ...string) *tfProc {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tfTimeout)
	cmd := fleet.WorkstationCommand(ctx, w.tf, args...)
	cmd.Dir = w.dir
	cmd.Env = fleet.WorkstationEnv(w.env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	p := &tfProc{w: w, cmd: cmd, out: &out, args: args, start: time.Now(), stop: cancel}
	if err := cmd.Start(); err != nil {
		cancel()
		w.t.Fatal(err)
	}
	return p
}

func (p *tfProc) wait() tfResult {
	p.w.t.Helper()
	defer p.stop()
	err := p.cmd.Wait()
	r := tfResult{args: strings.Join(p.args, " "), out: p.out.String(), took: time.Since(p.start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		p.w.t.Fatalf("terraform %s: %v", r.args, err)
	}
	p.w.t.Logf("terraform %s: exit %d in %s", r.args, r.code, r.took.Round(10*time.Millisecond))
	return r
}

func (w *workdir) run(args ...string) tfResult { w.t.Helper(); return w.start(args...).wait() }

func (w *workdir) apply(vars ...string) tfResult {
	w.t.Helper()
	return w.run(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
}

func (w *workdir) plan(vars ...string) tfResult {
	w.t.Helper()
	return w.run(append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, vars...)...)
}

func (w *workdir) destroy(vars ...string) tfResult {
	w.t.Helper()
	return w.run(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
}

func (w *workdir) outputs() map[string]json.RawMessage {
	w.t.Helper()
	r := w.run("output", "-json")
	if r.code != 0 {
		w.t.Fatalf("%s", r)
	}
	var raw map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(r.out), &raw); err != nil {
		w.t.Fatalf("terraform output -json: %v\n%s", err, r.out)
	}
	out := map[string]json.RawMessage{}
	for k, v := range raw {
		out[k] = v.Value
	}
	return out
}

func mustSucceed(t testing.TB, r tfResult) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("want success, got %s", r)
	}
}

func mustEmptyPlan(t testing.TB, w *workdir, vars ...string) {
	t.Helper()
	if r := w.plan(vars...); r.code != 0 {
		t.Fatalf("want an empty plan (exit 0), got %s", r)
	}
}

// keyFile writes user's private key for terraform's file().
func keyFile(t testing.TB, user string) string {
	t.Helper()
	p := filepath.Join(tmpRoot, "key-"+user)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if err := os.WriteFile(p, []byte(theFleet.Keys[user]), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostsBlock is a provider block with every host of the fleet as user.
func hostsBlock(t testing.TB, user string, extra map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("provider \"dockeripv6\" {\n  hosts = {\n")
	for _, h := range theFleet.Hosts {
		fmt.Fprintf(&b, "    %s = {\n      address = %q\n      user = %q\n      private_key = file(%q)\n", h.Name, h.Addr.String(), user, keyFile(t, user))
		if e, ok := extra[h.Name]; ok {
			b.WriteString(e)
		} else {
			fmt.Fprintf(&b, "      host_key = %q\n", h.HostKey)
		}
		b.WriteString("    }\n")
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

const terraformBlock = `terraform {
  required_providers {
    dockeripv6 = { source = "dockeripv6/dockeripv6" }
  }
}
`

// agents lists the agent processes running on h.
func agents(t testing.TB, h *fleet.Host) []fleet.Process {
	t.Helper()
	ps, err := h.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var out []fleet.Process
	for _, p := range ps {
		// "/proc/self/fd/3 agent /var/lib/dockeripv6/agent/HASH": the
		// agent runs from the file its start script opened and hashed.
		if f := strings.Fields(p.Cmdline); len(f) >= 3 && f[1] == sshhost.AgentArg && strings.HasPrefix(f[2], sshhost.DefaultAgentDir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// noAgentsLeft: nothing of the provider runs on any host after a run.
func noAgentsLeft(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range theFleet.Hosts {
		for {
			a := agents(t, h)
			if len(a) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: agent processes still running after the run: %+v", h.Name, a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// onHost runs a command on h as root and returns its output.
func onHost(t testing.TB, h *fleet.Host, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h.Exec(ctx, name, args...)
	if err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", h.Name, name, strings.Join(args, " "), err, out)
	}
	return out
}

func readHostFile(t testing.TB, h *fleet.Host, p string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(h.Path(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}
