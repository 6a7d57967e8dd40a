package fleettier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fleet"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

// verdictConfig measures, on every host, what a remote IPv6 client is seen
// as on Docker's default bridge.
func verdictConfig(t *testing.T) string {
	return terraformBlock + hostsBlock(t, fleet.UserSudo, nil) + `
data "dockeripv6_client_ip" "v" {
  for_each  = toset(["mail1", "mail2", "mail3"])
  host      = each.key
  host_port = 8030
}
output "verdicts" {
  value = { for k, d in data.dockeripv6_client_ip.v : k => "${d.verdict} ${d.observed_address}" }
}
`
}

func verdicts(t *testing.T, w *workdir) map[string]string {
	t.Helper()
	var v map[string]string
	if err := json.Unmarshal(w.outputs()["verdicts"], &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The fleet example end to end, with the verdict on every host: masqueraded
// on Docker's defaults, preserved after the example, refused with the
// refuse posture, masqueraded again after destroy, which puts every host's
// daemon.json back byte for byte. A user with sudo (not root) does it all.
func TestFleet_exampleVerdictsPerHost(t *testing.T) {
	v := newWorkdir(t)
	v.write("main.tf", verdictConfig(t))
	mustSucceed(t, v.apply())
	for name, got := range verdicts(t, v) {
		t.Logf("before, %s: %s", name, got)
		if !strings.HasPrefix(got, "masqueraded ") {
			t.Errorf("%s on Docker's defaults: want masqueraded, got %q", name, got)
		}
	}
	noAgentsLeft(t)

	before := map[string][]byte{}
	for _, h := range theFleet.Hosts {
		before[h.Name], _ = readHostFile(t, h, sandbox.DaemonJSONPath())
	}
	w := fleetExample(t, theFleet.Hosts, fleet.UserSudo, "always")
	t.Cleanup(func() { w.destroy() })

	r := w.apply()
	mustSucceed(t, r)
	var out map[string]struct {
		IPv6         string `json:"ipv6"`
		IPv6Observed string `json:"ipv6_observed"`
		IPv4         string `json:"ipv4"`
		IPv6Subnet   string `json:"ipv6_subnet"`
		Docker       string `json:"docker"`
	}
	raw := w.outputs()["verdicts"]
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("want a verdict per host, got %s", raw)
	}
	for name, o := range out {
		t.Logf("after the example, %s (Docker %s, %s): IPv6 %s (seen as %s), IPv4 %s", name, o.Docker, o.IPv6Subnet, o.IPv6, o.IPv6Observed, o.IPv4)
		if o.IPv6 != "preserved" || o.IPv4 != "preserved" {
			t.Errorf("%s after the example: IPv6 %s, IPv4 %s; want preserved, preserved", name, o.IPv6, o.IPv4)
		}
	}
	noAgentsLeft(t)
	for _, h := range theFleet.Hosts {
		if nft := onHost(t, h, "nft", "list", "tables"); !strings.Contains(nft, "table inet dockeripv6") {
			t.Errorf("%s: no dockeripv6 table after the apply:\n%s", h.Name, nft)
		}
	}
	mustEmptyPlan(t, w)

	mustSucceed(t, w.apply("-var", "ipv6_clients=refuse"))
	if err := json.Unmarshal(w.outputs()["verdicts"], &out); err != nil {
		t.Fatal(err)
	}
	for name, o := range out {
		t.Logf("refuse, %s: IPv6 %s, IPv4 %s", name, o.IPv6, o.IPv4)
		if o.IPv6 != "refused" || o.IPv4 != "preserved" {
			t.Errorf("%s with ipv6_clients=refuse: IPv6 %s, IPv4 %s; want refused, preserved", name, o.IPv6, o.IPv4)
		}
	}

	mustSucceed(t, w.destroy("-var", "ipv6_clients=refuse"))
	for _, h := range theFleet.Hosts {
		after, _ := readHostFile(t, h, sandbox.DaemonJSONPath())
		if string(after) != string(before[h.Name]) {
			t.Errorf("%s: daemon.json after destroy differs from before:\n%s\nwant\n%s", h.Name, after, before[h.Name])
		}
		if nft := onHost(t, h, "nft", "list", "tables"); strings.Contains(nft, "dockeripv6") {
			t.Errorf("%s: the table is still there after destroy:\n%s", h.Name, nft)
		}
	}
	mustSucceed(t, v.apply())
	for name, got := range verdicts(t, v) {
		if !strings.HasPrefix(got, "masqueraded ") {
			t.Errorf("%s after destroy: want masqueraded again, got %q", name, got)
		}
	}
	noAgentsLeft(t)
}

func fingerprint(t *testing.T, authorizedKey string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

func agentDir(t *testing.T, h *fleet.Host) []string {
	t.Helper()
	entries, err := os.ReadDir(h.Path(sshhost.DefaultAgentDir))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// A host key that is not the host's: the plan fails before anything is
// sent, naming the key the host offered; the host is unchanged. Skipping
// verification works and warns at every plan. known_hosts works too.
func TestFleet_wrongHostKey(t *testing.T) {
	mail1, mail2 := theFleet.Hosts[0], theFleet.Hosts[1]
	w := newWorkdir(t)
	body := `data "dockeripv6_host" "m1" {
  host = "mail1"
}
`
	w.write("main.tf", terraformBlock+hostsBlock(t, "root", map[string]string{"mail1": fmt.Sprintf("      host_key = %q\n", mail2.HostKey)})+body)
	dirBefore := agentDir(t, mail1)
	djBefore, _ := readHostFile(t, mail1, sandbox.DaemonJSONPath())
	r := w.plan()
	t.Logf("wrong host key printed:\n%s", r.out)
	offered := fingerprint(t, mail1.HostKey)
	if r.code != 1 || !strings.Contains(r.out, offered) || !strings.Contains(r.out, "Error: Host Key Not Accepted") {
		t.Fatalf("want a host key error naming the offered key %s, got %s", offered, r)
	}
	if got := agentDir(t, mail1); strings.Join(got, ",") != strings.Join(dirBefore, ",") {
		t.Errorf("the agent directory changed after a refused host key: %v, before %v", got, dirBefore)
	}
	if dj, _ := readHostFile(t, mail1, sandbox.DaemonJSONPath()); string(dj) != string(djBefore) {
		t.Error("daemon.json changed after a refused host key")
	}

	w.write("main.tf", terraformBlock+hostsBlock(t, "root", map[string]string{"mail1": "      insecure_skip_host_key_verification = true\n"})+body)
	for i := 0; i < 2; i++ {
		r := w.plan()
		if r.code != 0 || !strings.Contains(r.out, "Host Key Not Verified") {
			t.Fatalf("plan %d with insecure_skip_host_key_verification: want success with a warning, got %s", i+1, r)
		}
	}

	kh, err := theFleet.KnownHosts()
	if err != nil {
		t.Fatal(err)
	}
	w.write("main.tf", terraformBlock+hostsBlock(t, "root", map[string]string{"mail1": fmt.Sprintf("      known_hosts_file = %q\n", kh)})+body)
	if r := w.plan(); r.code != 0 || strings.Contains(r.out, "Host Key Not Verified") {
		t.Fatalf("known_hosts_file: want a clean plan, got %s", r)
	}
	noAgentsLeft(t)
}

// folded is s with terraform's box drawing and line breaks folded to spaces.
func folded(s string) string {
	s = strings.NewReplacer("│", " ", "╷", " ", "╵", " ", "\n", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// A user without sudo: the error says so, names the user and the step.
func TestFleet_userWithoutSudo(t *testing.T) {
	w := newWorkdir(t)
	w.write("main.tf", terraformBlock+hostsBlock(t, fleet.UserNoSudo, nil)+`data "dockeripv6_host" "m2" {
  host = "mail2"
}
`)
	r := w.plan()
	t.Logf("user without sudo printed:\n%s", r.out)
	if f := folded(r.out); r.code != 1 || !strings.Contains(f, "Error: Cannot Reach The Host") ||
		!strings.Contains(f, "user "+fleet.UserNoSudo) || !strings.Contains(f, "`sudo -n` failed") {
		t.Fatalf("want an error about sudo naming %s, got %s", fleet.UserNoSudo, r)
	}
	// A network goes through the Docker API alone: its error says sudo too,
	// not "Cannot connect to the Docker daemon".
	w.write("main.tf", terraformBlock+hostsBlock(t, fleet.UserNoSudo, nil)+`resource "dockeripv6_network" "n" {
  host        = "mail2"
  name        = "nosudo"
  ipv6_subnet = "fd00:5:5:5::/64"
}
`)
	r = w.apply()
	if f := folded(r.out); r.code != 1 || !strings.Contains(f, "Error: Cannot Reach The Host") || !strings.Contains(f, "`sudo -n` failed") ||
		strings.Contains(f, "Cannot connect to the Docker daemon") {
		t.Fatalf("want the network's create to fail naming sudo, got %s", r)
	}
	if len(agents(t, theFleet.Hosts[1])) != 0 {
		t.Fatal("an agent runs on mail2 for a user without sudo")
	}
}

// dockerdPID is Host.DockerdPID, failing the test on an error.
func dockerdPID(t *testing.T, h *fleet.Host) int {
	t.Helper()
	pid, err := h.DockerdPID()
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// dockerdInfo is `docker info --format FORMAT` on h, and whether dockerd
// answered at all (right after a restart it may not yet).
func dockerdInfo(t *testing.T, h *fleet.Host, format string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := h.Exec(ctx, "docker", "info", "--format", format)
	if err != nil {
		return out, false
	}
	return strings.TrimSpace(out), true
}

func liveRestore(t *testing.T, h *fleet.Host) string {
	t.Helper()
	return strings.TrimSpace(onHost(t, h, "docker", "info", "--format", "{{.LiveRestoreEnabled}}"))
}

// waitFor polls cond until it holds, for at most d; on time out it fails
// with what describe says of the host then.
func waitFor(t *testing.T, d time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, describe())
		}
	}
}

// killSSHDOnceRestarting starts an apply, and kills every sshd on h as soon
// as h's dockerd (pid before) is gone, that is once the restart job runs on
// the host; sshd comes back when the apply has ended (at the latest when the
// test does). It returns what the apply printed.
func killSSHDOnceRestarting(t *testing.T, w *workdir, h *fleet.Host, before int) tfResult {
	t.Helper()
	p := w.start("apply", "-auto-approve", "-input=false", "-no-color")
	sshdBack := false
	startSSHD := func() {
		if sshdBack {
			return
		}
		sshdBack = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.StartSSHD(ctx); err != nil {
			t.Error(err)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for dockerdPID(t, h) == before {
		if time.Now().After(deadline) {
			t.Fatalf("dockerd on %s was not restarted; terraform printed:\n%s", h.Name, p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(startSSHD)
	t.Logf("sshd killed on %s while dockerd restarted", h.Name)
	r := p.wait()
	t.Logf("the apply printed:\n%s", r.out)
	startSSHD()
	return r
}

// mustHaveLostTheConnection: the apply failed saying the connection to the
// agent was lost during the transaction, for user on mail1.
func mustHaveLostTheConnection(t *testing.T, r tfResult, user string) {
	t.Helper()
	if f := folded(r.out); r.code != 1 || !strings.Contains(f, "Error: Connection To The Host Lost") || !strings.Contains(f, `host "mail1" (ssh://`+user+`@`) ||
		!strings.Contains(f, "the connection to the agent was lost") || !strings.Contains(f, "during the daemon.json transaction") {
		t.Fatalf("want the apply to fail naming the step, got %s", r)
	}
}

// sshd killed in the middle of a daemon restart, as root (the agent is
// sshd's own child) and as a sudo user (sudo sits between): the apply fails
// naming the step, the agent finishes the transaction on the host (dockerd
// runs with the new file), nothing of the provider is left running, and
// after sshd is back the next plan tells the truth and the next apply
// converges.
func TestFleet_sshdKilledMidRestart(t *testing.T) {
	for _, user := range []string{"root", fleet.UserSudo} {
		t.Run(user, func(t *testing.T) { sshdKilledMidRestart(t, user) })
	}
}

func sshdKilledMidRestart(t *testing.T, user string) {
	mail1 := theFleet.Hosts[0]
	w := newWorkdir(t)
	cfg := func(lr bool) string {
		return terraformBlock + hostsBlock(t, user, nil) + fmt.Sprintf(`resource "dockeripv6_daemon_config" "d" {
  host         = "mail1"
  live_restore = %t
}
`, lr)
	}
	w.write("main.tf", cfg(true))
	t.Cleanup(func() { w.destroy() })
	mustSucceed(t, w.apply())
	if got := liveRestore(t, mail1); got != "true" {
		t.Fatalf("live-restore after the first apply: %s", got)
	}

	w.write("main.tf", cfg(false))
	r := killSSHDOnceRestarting(t, w, mail1, dockerdPID(t, mail1))
	mustHaveLostTheConnection(t, r, user)
	// The agent ran the transaction to its end: dockerd runs with the file
	// (the host may still be finishing the restart: wait for it).
	waitFor(t, 2*time.Minute, func() bool {
		lr, up := dockerdInfo(t, mail1, "{{.LiveRestoreEnabled}}")
		return up && lr == "false"
	}, func() string {
		lr, up := dockerdInfo(t, mail1, "{{.LiveRestoreEnabled}}")
		return fmt.Sprintf("dockerd on mail1 does not run with live-restore false (dockerd answers: %t, live-restore: %s); daemon.json:\n%s",
			up, lr, onHost(t, mail1, "cat", sandbox.DaemonJSONPath()))
	})
	noAgentsLeft(t)

	r = w.plan()
	t.Logf("the next plan printed:\n%s", r.out)
	if r.code == 1 {
		t.Fatalf("the plan after the lost connection failed: %s", r)
	}
	mustSucceed(t, w.apply())
	mustEmptyPlan(t, w)
	if got := liveRestore(t, mail1); got != "false" {
		t.Fatalf("live-restore after converging: %s", got)
	}
}

// A file dockerd refuses, and sshd killed once the restart job runs: with no
// connection left, the agent still sees dockerd fail, puts the previous file
// back and restarts dockerd with it, as root and as a sudo user.
func TestFleet_sshdKilledMidRestartRolledBack(t *testing.T) {
	for _, user := range []string{"root", fleet.UserSudo} {
		t.Run(user, func(t *testing.T) { sshdKilledMidRestartRolledBack(t, user) })
	}
}

func sshdKilledMidRestartRolledBack(t *testing.T, user string) {
	mail1 := theFleet.Hosts[0]
	orig, ok := readHostFile(t, mail1, sandbox.DaemonJSONPath())
	if !ok {
		t.Fatal("mail1 has no daemon.json")
	}
	// A key nobody manages, harmless while IPv6 is off and fatal once it is
	// on: a default IPv6 gateway outside the subnet the apply sets.
	stray := bytes.Replace(orig, []byte("{"), []byte("{\n  \"default-gateway-v6\": \"fd3a:9c1e:77b0:77::1\","), 1)
	writeHostFile(t, mail1, sandbox.DaemonJSONPath(), stray)
	t.Cleanup(func() {
		writeHostFile(t, mail1, sandbox.DaemonJSONPath(), orig)
		restartDockerd(t, mail1)
	})
	restartDockerd(t, mail1)

	w := newWorkdir(t)
	w.write("main.tf", terraformBlock+hostsBlock(t, user, nil)+`resource "dockeripv6_daemon_config" "d" {
  host                = "mail1"
  default_bridge_ipv6 = true
  fixed_cidr_v6       = "fd3a:9c1e:77b0:ff::/64"
}
`)
	t.Cleanup(func() { w.destroy() })
	before := dockerdPID(t, mail1)
	r := killSSHDOnceRestarting(t, w, mail1, before)
	mustHaveLostTheConnection(t, r, user)

	// The host finishes on its own: the previous file back, and dockerd
	// started again with it.
	waitFor(t, 3*time.Minute, func() bool {
		got, _ := readHostFile(t, mail1, sandbox.DaemonJSONPath())
		_, up := dockerdInfo(t, mail1, "{{.ID}}")
		return bytes.Equal(got, stray) && up
	}, func() string {
		got, _ := readHostFile(t, mail1, sandbox.DaemonJSONPath())
		_, up := dockerdInfo(t, mail1, "{{.ID}}")
		return fmt.Sprintf("mail1 did not roll back: dockerd answers: %t; daemon.json:\n%s\nwant the previous file:\n%s", up, got, stray)
	})
	if pid := dockerdPID(t, mail1); pid == before {
		t.Fatalf("dockerd on mail1 (pid %d) is the one from before the apply", pid)
	}
	if v6, _ := dockerdInfo(t, mail1, "{{json .}}"); strings.Contains(v6, "fd3a:9c1e:77b0:ff::") {
		t.Fatal("dockerd on mail1 runs the refused file")
	}
	noAgentsLeft(t)
}

// writeHostFile writes p on h (mode 0644).
func writeHostFile(t *testing.T, h *fleet.Host, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(h.Path(p), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// restartDockerd restarts h's docker.service through its systemd and waits
// (bounded) until a new dockerd answers.
func restartDockerd(t *testing.T, h *fleet.Host) {
	t.Helper()
	before := dockerdPID(t, h)
	onHost(t, h, "busctl", "--system", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "RestartUnit", "ss", "docker.service", "replace")
	waitFor(t, 2*time.Minute, func() bool {
		pid := dockerdPID(t, h)
		_, up := dockerdInfo(t, h, "{{.ID}}")
		return pid != 0 && pid != before && up
	}, func() string { return h.Name + ": dockerd did not come back after a restart" })
}

// A new provider build replaces the agent kept on the host: the directory
// holds only the build that ran last.
func TestFleet_newBuildReplacesAgent(t *testing.T) {
	mail3 := theFleet.Hosts[2]
	bin := providerBinary(t)
	newBin := filepath.Join(tmpRoot, "agent-build-b")
	if err := copyFile(bin, newBin, []byte("\nanother build\n")); err != nil {
		t.Fatal(err)
	}
	w := newWorkdir(t)
	cfg := func(extra string) string {
		return terraformBlock + hostsBlock(t, "root", map[string]string{"mail3": fmt.Sprintf("      host_key = %q\n", mail3.HostKey) + extra}) +
			`data "dockeripv6_host" "m3" {
  host = "mail3"
}
`
	}
	w.write("main.tf", cfg(""))
	mustEmptyPlan(t, w)
	if got, want := agentDir(t, mail3), []string{sha256File(t, bin)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("agent directory after a plan with build A: %v, want %v", got, want)
	}
	w.write("main.tf", cfg(fmt.Sprintf("      agent_binary = %q\n", newBin)))
	mustEmptyPlan(t, w)
	if got, want := agentDir(t, mail3), []string{sha256File(t, newBin)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("agent directory after a plan with build B: %v, want %v", got, want)
	}
	w.write("main.tf", cfg(""))
	mustEmptyPlan(t, w)
	if got, want := agentDir(t, mail3), []string{sha256File(t, bin)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("agent directory after going back to build A: %v, want %v", got, want)
	}
	noAgentsLeft(t)
}

// Drift on one host of three shows only on that host; imports name the host.
func TestFleet_driftOnOneHost(t *testing.T) {
	w := newWorkdir(t)
	w.write("main.tf", terraformBlock+hostsBlock(t, fleet.UserSudo, nil)+`
resource "dockeripv6_firewall" "fw" {
  for_each     = toset(["mail1", "mail2", "mail3"])
  host         = each.key
  ipv6_clients = "refuse"
  ports        = [25, 587]
}
resource "dockeripv6_network" "n" {
  for_each    = toset(["mail1", "mail2", "mail3"])
  host        = each.key
  name        = "drift"
  ipv6_subnet = cidrsubnet(provider::dockeripv6::ula_prefix("${each.key}.fleet.test"), 16, 7)
}
`)
	t.Cleanup(func() { w.destroy() })
	mustSucceed(t, w.apply())
	mustEmptyPlan(t, w)

	mail2 := theFleet.Hosts[1]
	onHost(t, mail2, "nft", "delete", "table", "inet", "dockeripv6")
	onHost(t, mail2, "docker", "network", "rm", "drift")
	logins := sshLogins(t, mail2)
	r := w.plan()
	// One connection per host per run, shared by both objects on the host.
	if n := sshLogins(t, mail2) - logins; n != 1 {
		t.Errorf("the plan logged in to mail2 %d times, want once for its two objects", n)
	}
	t.Logf("plan after drift on mail2:\n%s", r.out)
	if r.code != 2 {
		t.Fatalf("want a plan with changes, got %s", r)
	}
	changed := regexp.MustCompile(`# (dockeripv6_\w+\.\w+\["(mail\d)"\]) will be`).FindAllStringSubmatch(r.out, -1)
	if len(changed) != 2 {
		t.Fatalf("want 2 objects to change (the table and the network on mail2), got %v", changed)
	}
	for _, c := range changed {
		if c[2] != "mail2" {
			t.Errorf("%s changes, but only mail2 drifted", c[1])
		}
	}
	mustSucceed(t, w.apply())
	mustEmptyPlan(t, w)

	// Import names the host: HOST:ID.
	for _, addr := range []string{`dockeripv6_network.n["mail3"]`, `dockeripv6_firewall.fw["mail3"]`} {
		mustSucceed(t, w.run("state", "rm", addr))
	}
	mustSucceed(t, w.run("import", "-no-color", `dockeripv6_network.n["mail3"]`, "mail3:drift"))
	mustSucceed(t, w.run("import", "-no-color", `dockeripv6_firewall.fw["mail3"]`, "mail3:dockeripv6"))
	mustEmptyPlan(t, w)
}

// sshLogins counts the logins in h's sshd log.
func sshLogins(t *testing.T, h *fleet.Host) int {
	t.Helper()
	b, err := os.ReadFile(h.SSHDLog())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "Accepted publickey for ")
}

// Authentication through an SSH agent (no private_key): the keys of the
// agent at ssh_agent_socket log in.
func TestFleet_sshAgent(t *testing.T) {
	signer, err := ssh.ParseRawPrivateKey([]byte(theFleet.Keys["root"]))
	if err != nil {
		t.Fatal(err)
	}
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: signer}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(tmpRoot, "ssh-agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	mail3 := theFleet.Hosts[2]
	w := newWorkdir(t)
	w.write("main.tf", terraformBlock+fmt.Sprintf(`provider "dockeripv6" {
  hosts = {
    mail3 = {
      address          = %q
      host_key         = %q
      ssh_agent_socket = %q
    }
  }
}
data "dockeripv6_host" "m3" {
  host = "mail3"
}
output "docker_version" {
  value = data.dockeripv6_host.m3.docker_version
}
`, mail3.Addr.String(), mail3.HostKey, sock))
	mustSucceed(t, w.apply())
	var v string
	if err := json.Unmarshal(w.outputs()["docker_version"], &v); err != nil || v == "" {
		t.Fatalf("docker_version of mail3 through the SSH agent's key: %q %v", v, err)
	}
	noAgentsLeft(t)
}
