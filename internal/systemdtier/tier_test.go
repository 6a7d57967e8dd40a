//go:build systemdtier

package systemdtier

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// The tier is what it claims: systemd is PID 1 and runs Debian's own
// docker.service, socket-activated; the network is the container's own,
// with no route out and no address outside loopback, link-local, fd00::/8
// and 198.18.0.0/15.
func TestRealSystemd_tier(t *testing.T) {
	setup(t)
	if b, _ := os.ReadFile("/proc/1/comm"); strings.TrimSpace(string(b)) != "systemd" {
		t.Fatalf("PID 1 is %q, not systemd", b)
	}
	props := map[string]string{}
	out := systemctl(t, "show", "docker.service", "-p", "FragmentPath,DropInPaths,ExecStart,Restart,StartLimitBurst,StartLimitIntervalUSec,TriggeredBy")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		props[k] = v
	}
	// Debian's unit: in /lib on 12, in /usr/lib (merged /usr) with
	// Restart=always on 13; the start limit is the same.
	fragment, restart := "/lib/systemd/system/docker.service", "on-failure"
	if release := debianRelease(t); release == "13" {
		fragment, restart = "/usr/lib/systemd/system/docker.service", "always"
	}
	if props["FragmentPath"] != fragment {
		t.Errorf("docker.service comes from %q, not Debian's unit %s", props["FragmentPath"], fragment)
	}
	if props["Restart"] != restart || props["StartLimitBurst"] != "3" || props["StartLimitIntervalUSec"] != "1min" {
		t.Errorf("docker.service Restart=%s StartLimitBurst=%s StartLimitIntervalUSec=%s, want Debian's %s, 3, 1min",
			props["Restart"], props["StartLimitBurst"], props["StartLimitIntervalUSec"], restart)
	}
	if !strings.Contains(props["TriggeredBy"], "docker.socket") || !strings.Contains(props["ExecStart"], "-H fd://") {
		t.Errorf("docker.service is not socket-activated: TriggeredBy=%s ExecStart=%s", props["TriggeredBy"], props["ExecStart"])
	}
	if !strings.Contains(props["ExecStart"], "path="+sandbox.DockerdPath()+" ") {
		t.Errorf("docker.service runs %s, want %s", props["ExecStart"], sandbox.DockerdPath())
	}
	if v := dockerInfo(t).ServerVersion; !strings.HasPrefix(v, sandbox.Engine()+".") {
		t.Errorf("dockerd is %s, want engine %s", v, sandbox.Engine())
	}
	// The sandbox helpers work against the real manager and journal.
	before := show(t, "docker.service")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sandbox.RestartDocker(ctx); err != nil {
		t.Fatalf("sandbox.RestartDocker: %v", err)
	}
	if err := sandbox.PingDocker(ctx, sandbox.DockerSocket); err != nil {
		t.Fatalf("sandbox.PingDocker after sandbox.RestartDocker: %v", err)
	}
	requireRestarted(t, before, "after sandbox.RestartDocker")
	if j, err := sandbox.Journal(ctx, "docker.service", 20); err != nil || !strings.Contains(j, "Started docker.service") {
		t.Errorf("sandbox.Journal does not show systemd's journal of docker.service (%v):\n%s", err, j)
	}
	if sandbox.DockerdLog() != "" {
		t.Errorf("sandbox.DockerdLog() = %q in the real tier, which has no such file", sandbox.DockerdLog())
	}

	raw, err := exec.Command("ip", "-j", "addr", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		Ifname   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(raw, &links); err != nil {
		t.Fatal(err)
	}
	allowed := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("198.18.0.0/15"),
	}
	for _, l := range links {
		if l.Ifname != "lo" && l.Ifname != "docker0" && !strings.HasPrefix(l.Ifname, "br-") && !strings.HasPrefix(l.Ifname, "veth") {
			t.Errorf("interface %s is not the container's own (lo, docker0, br-*, veth*)", l.Ifname)
		}
		for _, a := range l.AddrInfo {
			addr, err := netip.ParseAddr(a.Local)
			if err != nil {
				t.Fatal(err)
			}
			ok := false
			for _, p := range allowed {
				ok = ok || p.Contains(addr)
			}
			if !ok {
				t.Errorf("%s has %s, outside loopback, link-local, fd00::/8 and 198.18.0.0/15", l.Ifname, addr)
			}
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		if out, _ := exec.Command("ip", fam, "route", "show", "default").Output(); strings.TrimSpace(string(out)) != "" {
			t.Errorf("a default route (%s): %s", fam, out)
		}
	}
}

// debianRelease is the container's Debian major release (VERSION_ID in
// /etc/os-release: "12", "13").
func debianRelease(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION_ID="); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("/etc/os-release has no VERSION_ID:\n%s", b)
	return ""
}
