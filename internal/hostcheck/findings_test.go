package hostcheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// --- helpers ---

func ver(t *testing.T, s string) daemonconfig.DockerVersion {
	t.Helper()
	v, err := daemonconfig.ParseVersion(s, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func only(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func intp(i int) *int { return &i }

var (
	bTrue  = daemonconfig.Bool(true)
	bFalse = daemonconfig.Bool(false)
)

// reachable is a host with a global IPv6 address: remote IPv6 clients can connect.
var reachable = []string{"2a01:4f8:c17:1b2c::25"}

type expect struct {
	id       string
	severity string   // "" = the finding must be absent
	contains []string // in Message + " " + Fix
}

func check(t *testing.T, f Facts, want ...expect) []Finding {
	t.Helper()
	fs := Findings(f)
	for _, x := range fs {
		if !slices.Contains(AllIDs, x.ID) {
			t.Errorf("finding %q is not in AllIDs", x.ID)
		}
		if x.Message == "" || x.Fix == "" {
			t.Errorf("finding %q has an empty message or fix: %+v", x.ID, x)
		}
		if x.Severity != SeverityError && x.Severity != SeverityWarning && x.Severity != SeverityInfo {
			t.Errorf("finding %q has severity %q", x.ID, x.Severity)
		}
	}
	expectIn(t, fs, want...)
	return fs
}

// expectIn checks fs against want.
func expectIn(t *testing.T, fs []Finding, want ...expect) {
	t.Helper()
	for _, w := range want {
		got := only(fs, w.id)
		if w.severity == "" {
			if len(got) > 0 {
				t.Errorf("%s: want absent, got %+v", w.id, got)
			}
			continue
		}
		if len(got) == 0 {
			t.Errorf("%s: want present (%s), got only %v", w.id, w.severity, ids(fs))
			continue
		}
		if got[0].Severity != w.severity {
			t.Errorf("%s: severity %s, want %s (%s)", w.id, got[0].Severity, w.severity, got[0].Message)
		}
		text := got[0].Message + " " + got[0].Fix
		for _, c := range w.contains {
			if !strings.Contains(text, c) {
				t.Errorf("%s: %q not in\n%s", w.id, c, text)
			}
		}
	}
}

func absent(id string) expect { return expect{id: id} }

// --- recorded API answers ---

func loadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type recorded struct {
	version struct{ Version, ApiVersion string }
	info    struct {
		ServerVersion     string
		ExperimentalBuild bool
		FirewallBackend   *struct {
			Driver string
			Info   [][2]string
		}
	}
	networks   []network.Summary
	containers []container.Summary
}

func loadRecorded(t *testing.T, engine string) recorded {
	t.Helper()
	dir := filepath.Join("testdata", "engine"+engine)
	var r recorded
	loadJSON(t, filepath.Join(dir, "version.json"), &r.version)
	loadJSON(t, filepath.Join(dir, "info.json"), &r.info)
	loadJSON(t, filepath.Join(dir, "networks.json"), &r.networks)
	loadJSON(t, filepath.Join(dir, "containers.json"), &r.containers)
	return r
}

// facts builds Facts from a recording, the way the provider does.
func (r recorded) facts(t *testing.T) Facts {
	t.Helper()
	v, err := daemonconfig.ParseVersion(r.version.Version, r.version.ApiVersion)
	if err != nil {
		t.Fatal(err)
	}
	f := Facts{DockerVersion: r.version.Version, APIVersion: r.version.ApiVersion, Version: v, GlobalIPv6: reachable}
	if fb := r.info.FirewallBackend; fb != nil {
		f.FirewallBackend = fb.Driver
		f.FirewallBackendInfo = map[string]string{}
		for _, kv := range fb.Info {
			f.FirewallBackendInfo[kv[0]] = kv[1]
		}
	}
	f.Running.Version = v
	f.Running.Experimental = daemonconfig.Bool(r.info.ExperimentalBuild)
	f.Networks, f.IPv6NAT = FromDocker(r.networks, r.containers)
	return f
}

func network_(t *testing.T, ns []Network, name string) Network {
	t.Helper()
	for _, n := range ns {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no network %q in %+v", name, ns)
	return Network{}
}

func TestHostFromDockerRecorded(t *testing.T) {
	for _, engine := range []string{"20", "29"} {
		t.Run(engine, func(t *testing.T) {
			r := loadRecorded(t, engine)
			nets, nat := FromDocker(r.networks, r.containers)
			var names []string
			for _, n := range nets {
				names = append(names, n.Name)
			}
			if !slices.Equal(names, []string{"bridge", "dms", "host", "none"}) {
				t.Fatalf("networks %v", names)
			}
			br := network_(t, nets, "bridge")
			if br.IPv6 || !br.Default() || len(br.IPv6Subnets) != 0 || !slices.Equal(br.IPv4Subnets, []string{"198.18.0.0/24"}) ||
				!slices.Equal(br.IPv4Gateways, []string{"198.18.0.1"}) {
				t.Errorf("bridge %+v", br)
			}
			if got, want := br.PublishedPorts(), []string{"0.0.0.0:8081->8080/tcp", "0.0.0.0:32768->8080/tcp", "[::]:32768->8080/tcp"}; !slices.Equal(got, want) {
				t.Errorf("bridge ports %q, want %q", got, want)
			}
			dms := network_(t, nets, "dms")
			if !dms.IPv6 || dms.Default() || !slices.Equal(dms.IPv6Subnets, []string{"fd00:cafe:face:feed::/64"}) || !slices.Equal(dms.IPv4Subnets, []string{"198.18.64.0/24"}) {
				t.Errorf("dms %+v", dms)
			}
			// Docker 20.10 does not list an IPv6 gateway it picked itself; 29 does.
			wantGW6 := map[string][]string{"20": nil, "29": {"fd00:cafe:face:feed::1"}}[engine]
			if !slices.Equal(dms.IPv6Gateways, wantGW6) {
				t.Errorf("dms IPv6 gateways %v, want %v", dms.IPv6Gateways, wantGW6)
			}
			if len(dms.Containers) != 1 || dms.Containers[0].Name != "on-dms" || dms.Containers[0].IPv6Address != "fd00:cafe:face:feed::2" || !dms.Containers[0].HasIPv6 {
				t.Errorf("dms containers %+v", dms.Containers)
			}
			if got := dms.PublishedPorts(); !slices.Equal(got, []string{"0.0.0.0:8082->8080/tcp", "[::]:8082->8080/tcp"}) {
				t.Errorf("dms ports %q", got)
			}
			for _, c := range br.Containers {
				if c.HasIPv6 || c.IPv6Address != "" {
					t.Errorf("container %s on the IPv4-only bridge has IPv6: %+v", c.Name, c)
				}
			}
			if len(nat) != 1 || nat[0].Name != "ipv6nat" || nat[0].Image != "robbertkl/ipv6nat:0.4.4" {
				t.Errorf("ipv6nat containers %+v", nat)
			}
			host := network_(t, nets, "host")
			if len(host.Containers) != 1 || host.Containers[0].Name != "ipv6nat" || len(host.PublishedPorts()) != 0 {
				t.Errorf("host network %+v", host)
			}
		})
	}
}

// The recorded hosts judged as Docker releases the sandbox does not run would
// judge them: same networks and containers, daemon.json without IPv6 keys.
func TestHostFindingsRecordedAcrossVersions(t *testing.T) {
	for _, c := range []struct {
		engine, version string
		ip6tablesOn     bool
	}{
		{"20", "20.10.24", false},
		{"20", "24.0.9", false},
		{"20", "26.1.4", false},
		{"29", "27.3.1", true},
		{"29", "28.0.4", true},
		{"29", "29.8.0", true},
	} {
		t.Run(c.version, func(t *testing.T) {
			f := loadRecorded(t, c.engine).facts(t)
			f.Version, f.Running.Version = ver(t, c.version), ver(t, c.version)
			nat := expect{id: IDIPv6NATRunning, severity: SeverityWarning, contains: []string{"ipv6nat (robbertkl/ipv6nat:0.4.4)", "unmaintained"}}
			noNAT := expect{id: IDIPv6NetworkWithoutIP6Tabs, severity: SeverityError,
				contains: []string{`Network "dms"`, "fd00:cafe:face:feed::/64", "Docker " + c.version + " defaults ip6tables to false", "on-dms ([::]:8082->8080/tcp)", "experimental = true"}}
			if c.ip6tablesOn {
				nat = expect{id: IDIPv6NATRunning, severity: SeverityError, contains: []string{"two programs write the same ip6tables chains"}}
				noNAT = absent(IDIPv6NetworkWithoutIP6Tabs)
			}
			fs := check(t, f,
				expect{id: IDIPv4OnlyPublishedOnIPv6, severity: SeverityError,
					contains: []string{`Network "bridge" is IPv4-only`, "container pub-all ([::]:32768->8080/tcp)", "198.18.0.1 (the network's gateway)", "fixed_cidr_v6"}},
				expect{id: IDExampleULAInUse, severity: SeverityWarning, contains: []string{`Network "dms" uses fd00:cafe:face:feed::/64`, "docker-mailserver"}},
				nat, noNAT,
				absent(IDIP6TablesNeedsExperiment), absent(IDExperimentalUnneeded), absent(IDUFWActive), absent(IDRestartPending),
			)
			if got := only(fs, IDIPv4OnlyPublishedOnIPv6); len(got) != 1 || strings.Contains(got[0].Message, "pub-v4") || strings.Contains(got[0].Message, "on-dms") {
				t.Errorf("only pub-all on the bridge publishes on IPv6: %+v", got)
			}
			if fs[0].Severity != SeverityError || fs[len(fs)-1].Severity == SeverityError {
				t.Errorf("findings not sorted by severity: %v", fs)
			}
		})
	}
}

// --- rule by rule ---

func TestHostDaemonJSONMalformed(t *testing.T) {
	check(t, Facts{DaemonJSONPath: "/etc/docker/daemon.json", DaemonJSONError: "line 3, column 9: invalid character '\"'"},
		expect{IDDaemonJSONMalformed, SeverityError, []string{"/etc/docker/daemon.json", "line 3, column 9", "refuses to start"}})
	check(t, Facts{DaemonJSONPath: "/etc/docker/daemon.json"}, absent(IDDaemonJSONMalformed))
}

func TestHostVersionRules(t *testing.T) {
	cases := []struct {
		name    string
		version string
		file    daemonconfig.Settings
		flags   []string
		want    []expect
	}{
		{"19.03 with ip6tables cannot start", "19.03.15", daemonconfig.Settings{IP6Tables: bTrue, Experimental: bTrue}, nil,
			[]expect{{IDIP6TablesUnsupported, SeverityError, []string{"19.3.15", "does not know the option"}}, absent(IP6NeedsExp)}},
		{"19.03 without", "19.03.15", daemonconfig.Settings{}, nil,
			[]expect{{IDIP6TablesUnsupported, SeverityWarning, []string{"no native IPv6 NAT"}}}},
		{"20.10 ip6tables without experimental", "20.10.24", daemonconfig.Settings{IP6Tables: bTrue}, nil,
			[]expect{{IP6NeedsExp, SeverityError, []string{"Docker 20.10.24", "experimental is not set", "ip6tables = true in daemon.json"}}, absent(IDIP6TablesUnsupported)}},
		{"24.0 ip6tables with experimental false", "24.0.9", daemonconfig.Settings{IP6Tables: bTrue, Experimental: bFalse}, nil,
			[]expect{{IP6NeedsExp, SeverityError, []string{"experimental = false in daemon.json", "Docker 24.0.9"}}}},
		{"26.1 ip6tables from the unit's flag", "26.1.4", daemonconfig.Settings{}, []string{"-H", "fd://", "--ip6tables"},
			[]expect{{IP6NeedsExp, SeverityError, []string{"dockerd's --ip6tables flag", "Docker 26.1.4"}}}},
		{"26.1 experimental from the flag", "26.1.4", daemonconfig.Settings{IP6Tables: bTrue}, []string{"--experimental=true"},
			[]expect{absent(IP6NeedsExp), absent(IDExperimentalUnneeded)}},
		{"26.1 ip6tables with experimental", "26.1.4", daemonconfig.Settings{IP6Tables: bTrue, Experimental: bTrue}, nil,
			[]expect{absent(IP6NeedsExp), absent(IDExperimentalUnneeded)}},
		{"26.1 ip6tables false", "26.1.4", daemonconfig.Settings{IP6Tables: bFalse}, nil,
			[]expect{absent(IP6NeedsExp)}},
		{"27.3 ip6tables alone", "27.3.1", daemonconfig.Settings{IP6Tables: bTrue}, nil,
			[]expect{absent(IP6NeedsExp), absent(IDExperimentalUnneeded)}},
		{"27.3 experimental for nothing", "27.3.1", daemonconfig.Settings{IP6Tables: bTrue, Experimental: bTrue}, nil,
			[]expect{{IDExperimentalUnneeded, SeverityWarning, []string{"Docker 27.3.1", "(daemon.json)", "experimental = false in dockeripv6_daemon_config"}}}},
		{"28.0 experimental from the flag", "28.0.4", daemonconfig.Settings{}, []string{"--experimental"},
			[]expect{{IDExperimentalUnneeded, SeverityWarning, []string{"dockerd's --experimental flag"}}}},
		{"29 experimental false", "29.8.0", daemonconfig.Settings{Experimental: bFalse}, nil,
			[]expect{absent(IDExperimentalUnneeded)}},
		{"26.1 ipv6 without fixed-cidr-v6", "26.1.4", daemonconfig.Settings{IPv6: bTrue}, nil,
			[]expect{{IDIPv6WithoutFixedCIDR, SeverityError, []string{"Docker 26.1.4 (before 28)", "fixed_cidr_v6"}}}},
		{"27.3 ipv6 without fixed-cidr-v6", "27.3.1", daemonconfig.Settings{IPv6: bTrue}, nil,
			[]expect{{IDIPv6WithoutFixedCIDR, SeverityError, []string{"Docker 27.3.1"}}}},
		{"27.3 ipv6 with fixed-cidr-v6 as a flag", "27.3.1", daemonconfig.Settings{IPv6: bTrue}, []string{"--fixed-cidr-v6", "fd7e:3c1a:95d2:ff::/64"},
			[]expect{absent(IDIPv6WithoutFixedCIDR)}},
		{"24.0 ipv6 with fixed-cidr-v6", "24.0.9", daemonconfig.Settings{IPv6: bTrue, FixedCIDRv6: daemonconfig.String("fd7e:3c1a:95d2:ff::/64")}, nil,
			[]expect{absent(IDIPv6WithoutFixedCIDR)}},
		{"28.0 ipv6 alone", "28.0.4", daemonconfig.Settings{IPv6: bTrue}, nil,
			[]expect{absent(IDIPv6WithoutFixedCIDR)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, Facts{Version: ver(t, c.version), DaemonJSON: c.file, DaemonFlags: c.flags}, c.want...)
		})
	}
	// An unknown version judges nothing by version.
	check(t, Facts{DaemonJSON: daemonconfig.Settings{IP6Tables: bTrue, IPv6: bTrue, Experimental: bTrue}},
		absent(IP6NeedsExp), absent(IDIPv6WithoutFixedCIDR), absent(IDExperimentalUnneeded), absent(IDIP6TablesUnsupported))
	// On 27+ the running daemon's experimental counts when the file does not say.
	f := Facts{Version: ver(t, "29.8.0")}
	f.Running.Experimental = bTrue
	check(t, f, expect{IDExperimentalUnneeded, SeverityWarning, []string{"(the running daemon)"}})
}

const IP6NeedsExp = IDIP6TablesNeedsExperiment

// mailHost is an IPv4-only compose network whose mailserver publishes 25 and
// 587 without a host IP (both families), and 993 on 0.0.0.0 only.
func mailHost(t *testing.T, version string) Facts {
	v := ver(t, version)
	f := Facts{Version: v, GlobalIPv6: reachable}
	f.Running.Version = v
	f.Networks = []Network{{
		Name: "mail_default", ID: "a1", Driver: "bridge",
		IPv4Subnets: []string{"198.18.20.0/24"}, IPv4Gateways: []string{"198.18.20.1"},
		Containers: []Container{{Name: "mailserver", Ports: []Port{
			{HostIP: "0.0.0.0", HostPort: 25, ContainerPort: 25, Proto: "tcp"},
			{HostIP: "::", HostPort: 25, ContainerPort: 25, Proto: "tcp"},
			{HostIP: "0.0.0.0", HostPort: 587, ContainerPort: 587, Proto: "tcp"},
			{HostIP: "::", HostPort: 587, ContainerPort: 587, Proto: "tcp"},
			{HostIP: "0.0.0.0", HostPort: 993, ContainerPort: 993, Proto: "tcp"},
		}}},
	}}
	return f
}

func TestHostIPv4OnlyPublishedOnIPv6(t *testing.T) {
	present := func(extra ...string) expect {
		return expect{IDIPv4OnlyPublishedOnIPv6, SeverityError, append([]string{`Network "mail_default" is IPv4-only`,
			"container mailserver ([::]:25->25/tcp, [::]:587->587/tcp)", "198.18.20.1 (the network's gateway)", "dockeripv6_network", "dockeripv6_firewall"}, extra...)}
	}
	cases := []struct {
		name    string
		version string
		edit    func(*Facts)
		want    expect
	}{
		{"24.0 default userland-proxy", "24.0.9", func(*Facts) {},
			present("the default: daemon.json has no userland-proxy key", "experimental = true in dockeripv6_daemon_config (Docker 24.0.9 needs both)")},
		{"28.0 userland-proxy true in the file", "28.0.4", func(f *Facts) { f.DaemonJSON.UserlandProxy = bTrue },
			present("userland-proxy = true in daemon.json", "Docker 28.0.4 turns it on by default")},
		{"29 says so in /info", "29.8.0", func(f *Facts) { f.FirewallBackendInfo = map[string]string{"EnableUserlandProxy": "true"} },
			present("the daemon's /info")},
		{"docker-proxy seen", "27.3.1", func(f *Facts) { f.Running.UserlandProxy = bTrue }, present("docker-proxy processes serve")},
		{"all addresses (empty host IP)", "27.3.1", func(f *Facts) {
			f.Networks[0].Containers[0].Ports = []Port{{HostIP: "", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}
		}, expect{IDIPv4OnlyPublishedOnIPv6, SeverityError, []string{"container mailserver (:25->25/tcp)"}}},
		{"a specific IPv6 address", "27.3.1", func(f *Facts) {
			f.Networks[0].Containers[0].Ports = []Port{{HostIP: "2a01:4f8:c17:1b2c::25", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}
		}, expect{IDIPv4OnlyPublishedOnIPv6, SeverityError, []string{"[2a01:4f8:c17:1b2c::25]:25->25/tcp"}}},
		{"no global IPv6 address on the host", "27.3.1", func(f *Facts) { f.GlobalIPv6 = []string{} },
			expect{IDIPv4OnlyPublishedOnIPv6, SeverityWarning, []string{"no global IPv6 address now"}}},
		{"global addresses not observed", "27.3.1", func(f *Facts) { f.GlobalIPv6 = nil }, present()},
		{"default bridge", "26.1.4", func(f *Facts) {
			f.Networks[0].Name = "bridge"
			f.Networks[0].Options = map[string]string{"com.docker.network.bridge.default_bridge": "true"}
		}, expect{IDIPv4OnlyPublishedOnIPv6, SeverityError, []string{`Network "bridge"`, "ipv6 and fixed_cidr_v6 in dockeripv6_daemon_config"}}},

		{"userland-proxy false in the file", "24.0.9", func(f *Facts) { f.DaemonJSON.UserlandProxy = bFalse }, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"userland-proxy false as a flag", "24.0.9", func(f *Facts) { f.DaemonFlags = []string{"--userland-proxy=false"} }, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"no docker-proxy running", "27.3.1", func(f *Facts) { f.Running.UserlandProxy = bFalse }, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"29 /info says off", "29.8.0", func(f *Facts) { f.FirewallBackendInfo = map[string]string{"EnableUserlandProxy": "false"} }, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"published on 0.0.0.0 only", "27.3.1", func(f *Facts) {
			f.Networks[0].Containers[0].Ports = []Port{{HostIP: "0.0.0.0", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}
		}, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"published on 127.0.0.1 and ::1? ::1 is IPv6", "27.3.1", func(f *Facts) {
			f.Networks[0].Containers[0].Ports = []Port{{HostIP: "127.0.0.1", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}
		}, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"container has IPv6 on another network", "27.3.1", func(f *Facts) { f.Networks[0].Containers[0].HasIPv6 = true }, absent(IDIPv4OnlyPublishedOnIPv6)},
		{"network has IPv6", "27.3.1", func(f *Facts) {
			f.Networks[0].IPv6 = true
			f.Networks[0].IPv6Subnets = []string{"fd7e:3c1a:95d2:1::/64"}
		}, absent(IDIPv4OnlyPublishedOnIPv6)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mailHost(t, c.version)
			c.edit(&f)
			check(t, f, c.want)
		})
	}
}

func TestHostIPv6NetworkWithoutIP6Tables(t *testing.T) {
	dmsHost := func(version string) Facts {
		v := ver(t, version)
		f := Facts{Version: v, GlobalIPv6: reachable}
		f.Running.Version = v
		f.Networks = []Network{{Name: "dms", Driver: "bridge", IPv6: true,
			IPv6Subnets: []string{"fd7e:3c1a:95d2:1::/64"}, IPv6Gateways: []string{"fd7e:3c1a:95d2:1::1"},
			Containers: []Container{{Name: "mailserver", IPv6Address: "fd7e:3c1a:95d2:1::2", HasIPv6: true, Ports: []Port{
				{HostIP: "::", HostPort: 25, ContainerPort: 25, Proto: "tcp"}, {HostIP: "0.0.0.0", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}}}}}
		return f
	}
	cases := []struct {
		name    string
		version string
		edit    func(*Facts)
		want    expect
	}{
		{"24.0 default", "24.0.9", func(*Facts) {}, expect{IDIPv6NetworkWithoutIP6Tabs, SeverityError,
			[]string{`Network "dms" has IPv6 (fd7e:3c1a:95d2:1::/64)`, "Docker 24.0.9 defaults ip6tables to false", "fd7e:3c1a:95d2:1::1 (the network's IPv6 gateway)", "[::]:25->25/tcp", "experimental = true"}}},
		{"29 with ip6tables false", "29.8.0", func(f *Facts) { f.DaemonJSON.IP6Tables = bFalse }, expect{IDIPv6NetworkWithoutIP6Tabs, SeverityError,
			[]string{"ip6tables = false in daemon.json", "remove an explicit false"}}},
		{"file says on, running daemon has no chain (restart pending)", "26.1.4", func(f *Facts) {
			f.DaemonJSON.IP6Tables, f.DaemonJSON.Experimental = bTrue, bTrue
			f.Running.IP6TablesChain = bFalse
		}, expect{IDIPv6NetworkWithoutIP6Tabs, SeverityError, []string{"DOCKER chain is missing"}}},
		{"no host IPv6 yet", "24.0.9", func(f *Facts) { f.GlobalIPv6 = []string{} }, expect{IDIPv6NetworkWithoutIP6Tabs, SeverityWarning, nil}},
		{"26.1 with ip6tables and experimental", "26.1.4", func(f *Facts) { f.DaemonJSON.IP6Tables, f.DaemonJSON.Experimental = bTrue, bTrue }, absent(IDIPv6NetworkWithoutIP6Tabs)},
		{"27.3 default", "27.3.1", func(*Facts) {}, absent(IDIPv6NetworkWithoutIP6Tabs)},
		{"userland-proxy off", "24.0.9", func(f *Facts) { f.DaemonJSON.UserlandProxy = bFalse }, absent(IDIPv6NetworkWithoutIP6Tabs)},
		{"container without an IPv6 address", "24.0.9", func(f *Facts) { f.Networks[0].Containers[0].IPv6Address = "" }, absent(IDIPv6NetworkWithoutIP6Tabs)},
		{"unknown version, nothing configured", "", func(f *Facts) { f.Version = daemonconfig.DockerVersion{} }, absent(IDIPv6NetworkWithoutIP6Tabs)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.version
			if v == "" {
				v = "24.0.9"
			}
			f := dmsHost(v)
			c.edit(&f)
			check(t, f, c.want, absent(IDIPv4OnlyPublishedOnIPv6))
		})
	}
}

func TestHostIPv6NAT(t *testing.T) {
	nat := []Container{{Name: "ipv6nat", Image: "robbertkl/ipv6nat:0.4.4"}}
	check(t, Facts{Version: ver(t, "24.0.9"), IPv6NAT: nat},
		expect{IDIPv6NATRunning, SeverityWarning, []string{"ipv6nat (robbertkl/ipv6nat:0.4.4)", "unmaintained", "experimental = true"}})
	check(t, Facts{Version: ver(t, "24.0.9"), IPv6NAT: nat, DaemonJSON: daemonconfig.Settings{IP6Tables: bTrue, Experimental: bTrue}},
		expect{IDIPv6NATRunning, SeverityError, []string{"ip6tables = true in daemon.json", "two programs"}})
	check(t, Facts{Version: ver(t, "28.0.4"), IPv6NAT: nat},
		expect{IDIPv6NATRunning, SeverityError, []string{"Docker 28.0.4 defaults ip6tables to true"}})
	check(t, Facts{Version: ver(t, "28.0.4")}, absent(IDIPv6NATRunning))
}

func TestHostForwardingWithoutAcceptRA(t *testing.T) {
	cases := []struct {
		name  string
		fwd   *bool
		route Route
		ra    *int
		want  expect
	}{
		{"RA-learned IPv6 route", bTrue, Route{"eth0", "ipv6", "ra"}, intp(1),
			expect{IDForwardingWithoutAcceptRA, SeverityError, []string{"eth0", "accept_ra = 1", "came from one", "net.ipv6.conf.eth0.accept_ra = 2"}}},
		{"static IPv6 route", bTrue, Route{"ens3", "ipv6", "static"}, intp(0),
			expect{IDForwardingWithoutAcceptRA, SeverityWarning, []string{"ens3", "accept_ra = 0", "protocol static"}}},
		{"IPv4 route only", bTrue, Route{"eth0", "ipv4", "dhcp"}, intp(1),
			expect{IDForwardingWithoutAcceptRA, SeverityWarning, []string{"IPv4 default route", "no IPv6 default route"}}},
		{"accept_ra 2", bTrue, Route{"eth0", "ipv6", "ra"}, intp(2), absent(IDForwardingWithoutAcceptRA)},
		{"forwarding off", bFalse, Route{"eth0", "ipv6", "ra"}, intp(1), absent(IDForwardingWithoutAcceptRA)},
		{"IPv6 disabled", nil, Route{"eth0", "ipv4", "dhcp"}, nil, absent(IDForwardingWithoutAcceptRA)},
		{"no default route", bTrue, Route{}, nil, absent(IDForwardingWithoutAcceptRA)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, Facts{IPv6Forwarding: c.fwd, DefaultRoute: c.route, AcceptRA: c.ra}, c.want)
		})
	}
}

func TestHostRestartPending(t *testing.T) {
	f := Facts{DaemonJSONPath: "/etc/docker/daemon.json", PendingKeys: []string{"ip6tables", "experimental", "fixed-cidr-v6"},
		DaemonJSON: daemonconfig.Settings{IP6Tables: bTrue, Experimental: bTrue, FixedCIDRv6: daemonconfig.String("fd7e:3c1a:95d2:ff::/64")}}
	f.Running.Experimental = bFalse
	f.Running.FixedCIDRv6 = daemonconfig.String("fd7e:3c1a:95d2:ee::/64")
	check(t, f, expect{IDRestartPending, SeverityWarning, []string{"/etc/docker/daemon.json was changed after dockerd started",
		"experimental (file: true; running: false)", "ip6tables (file: ip6tables on; running: no ip6tables DOCKER chain)",
		"fixed-cidr-v6 (file: fd7e:3c1a:95d2:ff::/64; running: fd7e:3c1a:95d2:ee::/64)", "dockeripv6_daemon_config"}})
	g := Facts{PendingKeys: []string{"live-restore"}}
	g.Running.LiveRestore = bTrue
	check(t, g, expect{IDRestartPending, SeverityWarning, []string{"live-restore (file: absent (default); running: true)"}})
	check(t, Facts{}, absent(IDRestartPending))
}

func TestHostFirewalls(t *testing.T) {
	dockerOnly := []firewall.Finding{{Name: "ip nat", Kind: firewall.KindDockerIptables, Detail: "Docker's iptables chains"}}
	check(t, Facts{OtherFirewalls: dockerOnly}, absent(IDUFWActive), absent(IDFirewalldActive))

	ufw := firewall.MergeUnitStates(append(dockerOnly, firewall.Finding{Name: "ip6 filter", Kind: firewall.KindUFW, Detail: "UFW's chains: 2"}),
		map[string]string{"ufw.service": "active", "firewalld.service": "inactive"})
	check(t, Facts{OtherFirewalls: ufw, Version: ver(t, "24.0.9")},
		expect{IDUFWActive, SeverityWarning, []string{"ufw.service: systemd unit ufw.service is active", "ip6 filter: UFW's chains: 2", "dockeripv6_firewall", "DOCKER-USER"}},
		absent(IDFirewalldActive))

	// The unit alone (no chains seen, e.g. iptables-legacy) is enough.
	fwd := firewall.MergeUnitStates(nil, map[string]string{"ufw.service": "inactive", "firewalld.service": "active"})
	check(t, Facts{OtherFirewalls: fwd},
		expect{IDFirewalldActive, SeverityWarning, []string{"firewalld.service is active", "zone \"docker\""}}, absent(IDUFWActive))

	// With ip6tables on and an IPv6 network publishing, the message names what bypasses UFW.
	f := Facts{OtherFirewalls: ufw, Version: ver(t, "28.0.4"), Networks: []Network{{Name: "dms", IPv6: true, IPv6Subnets: []string{"fd7e:3c1a:95d2:1::/64"},
		Containers: []Container{{Name: "mailserver", IPv6Address: "fd7e:3c1a:95d2:1::2", Ports: []Port{{HostIP: "::", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}}}}}}
	check(t, f, expect{IDUFWActive, SeverityWarning, []string{`Here IPv6 to these ports bypasses it: network "dms": container mailserver ([::]:25->25/tcp)`}})
	f.Version = ver(t, "24.0.9") // ip6tables off: docker-proxy carries IPv6, UFW sees it
	fs := check(t, f, expect{IDUFWActive, SeverityWarning, nil})
	if m := only(fs, IDUFWActive)[0].Message; strings.Contains(m, "bypasses it:") {
		t.Errorf("ip6tables is off, nothing bypasses UFW: %s", m)
	}
}

func TestHostGatewayModes(t *testing.T) {
	nw := func(mode string) Facts {
		return Facts{Networks: []Network{{Name: "dms", IPv6: true, IPv6Subnets: []string{"fd7e:3c1a:95d2:1::/64"},
			Options: map[string]string{"com.docker.network.bridge.gateway_mode_ipv6": mode}}}}
	}
	check(t, nw("nat-unprotected"), expect{IDIPv6NATUnprotected, SeverityWarning, []string{`"dms"`, "published or not"}}, absent(IDIPv6RoutedNetwork))
	check(t, nw("routed"), expect{IDIPv6RoutedNetwork, SeverityInfo, []string{"fd7e:3c1a:95d2:1::/64", "SPF"}}, absent(IDIPv6NATUnprotected))
	check(t, nw("nat"), absent(IDIPv6RoutedNetwork), absent(IDIPv6NATUnprotected))
}

func TestHostPrefixes(t *testing.T) {
	net6 := func(name, subnet string) Network {
		return Network{Name: name, Driver: "bridge", IPv6: true, IPv6Subnets: []string{subnet}}
	}
	cases := []struct {
		name string
		f    Facts
		want []expect
	}{
		{"docker-mailserver's example", Facts{Networks: []Network{net6("dms", "fd00:cafe:face:feed::/64")}},
			[]expect{{IDExampleULAInUse, SeverityWarning, []string{`Network "dms" uses fd00:cafe:face:feed::/64`, "docker-mailserver's IPv6 page", "dockeripv6_ula_prefix"}}}},
		{"ipv6nat's example in fixed-cidr-v6", Facts{DaemonJSONPath: "/etc/docker/daemon.json", DaemonJSON: daemonconfig.Settings{FixedCIDRv6: daemonconfig.String("fd00:dead:beef::/64")}},
			[]expect{{IDExampleULAInUse, SeverityWarning, []string{"Fixed-cidr-v6 in /etc/docker/daemon.json uses fd00:dead:beef::/64", "ipv6nat"}}}},
		{"mailcow's in a pool", Facts{DaemonJSON: daemonconfig.Settings{DefaultAddressPools: daemonconfig.Pools(
			daemonconfig.Pool{Base: "198.18.64.0/18", Size: 24}, daemonconfig.Pool{Base: "fd4d:6169:6c63:6f77::/64", Size: 80})}},
			[]expect{{IDExampleULAInUse, SeverityWarning, []string{"Default-address-pools[1] in daemon.json", "mailcow"}}}},
		{"documentation prefix", Facts{Networks: []Network{net6("dms", "2001:db8:1::/64")}},
			[]expect{{IDDocumentationPrefixInUse, SeverityWarning, []string{"2001:db8:1::/64", "RFC 3849"}}, absent(IDExampleULAInUse)}},
		{"RFC 9637 documentation prefix", Facts{Networks: []Network{net6("dms", "3fff:1::/64")}},
			[]expect{{IDDocumentationPrefixInUse, SeverityWarning, []string{"3fff:1::/64"}}}},
		{"fc00::/8", Facts{Networks: []Network{net6("dms", "fc00:1:2:3::/64")}},
			[]expect{{IDReservedULAInUse, SeverityWarning, []string{"fc00:1:2:3::/64", "L bit 0"}}}},
		{"a random ULA", Facts{Networks: []Network{net6("dms", "fd7e:3c1a:95d2:1::/64")}, DaemonJSON: daemonconfig.Settings{FixedCIDRv6: daemonconfig.String("fd7e:3c1a:95d2:ff::/64")}},
			[]expect{absent(IDExampleULAInUse), absent(IDDocumentationPrefixInUse), absent(IDReservedULAInUse)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.f, c.want...) })
	}
	// The default bridge's subnet and the fixed-cidr-v6 it came from are reported once.
	f := Facts{DaemonJSON: daemonconfig.Settings{FixedCIDRv6: daemonconfig.String("fd00:cafe:face:feed::/64")},
		Networks: []Network{{Name: "bridge", Driver: "bridge", IPv6: true, IPv6Subnets: []string{"fd00:cafe:face:feed::/64"},
			Options: map[string]string{"com.docker.network.bridge.default_bridge": "true"}}}}
	fs := check(t, f, expect{IDExampleULAInUse, SeverityWarning, []string{"The default bridge"}})
	if n := len(only(fs, IDExampleULAInUse)); n != 1 {
		t.Errorf("%d example-ula findings for one prefix: %v", n, fs)
	}
}

func TestHostGaiConf(t *testing.T) {
	g := ParseGaiConf([]byte("# glibc\n#precedence fc00::/7 99\nprecedence  ::1/128       50\nprecedence ::ffff:0:0/96 10   # v4\nprecedence fc00::/7 45\nlabel fc00::/7 6\nprecedence fc00::/7 x\nprecedence 198.18.0.0/15 3\n"))
	if g.ULAPrecedence == nil || *g.ULAPrecedence != 45 || g.IPv4Precedence == nil || *g.IPv4Precedence != 10 || g.Precedences != 3 {
		t.Fatalf("ParseGaiConf: %+v", g)
	}
	check(t, Facts{GaiConf: g}, expect{IDGaiConfULAPrecedence, SeverityInfo, []string{"/etc/gai.conf sets precedence 45", "above IPv4 (::ffff:0:0/96, 10)", "prefer a ULA address over IPv4"}})
	check(t, Facts{GaiConf: GaiConf{Path: "/x/gai.conf", ULAPrecedence: intp(3), IPv4Precedence: intp(35)}},
		expect{IDGaiConfULAPrecedence, SeverityInfo, []string{"/x/gai.conf", "prefer IPv4 over a ULA address"}})
	check(t, Facts{GaiConf: GaiConf{ULAPrecedence: intp(30), Precedences: 1}},
		expect{IDGaiConfULAPrecedence, SeverityInfo, []string{"ignores its built-in table"}})
	empty := ParseGaiConf([]byte("# all commented out\n#precedence fc00::/7 45\n"))
	if empty.ULAPrecedence != nil || empty.Precedences != 0 {
		t.Fatalf("commented lines count: %+v", empty)
	}
	check(t, Facts{GaiConf: empty}, absent(IDGaiConfULAPrecedence))
}

func TestHostFactsIncomplete(t *testing.T) {
	check(t, Facts{Gaps: []string{"nftables: operation not permitted", "systemd: no bus"}},
		expect{IDFactsIncomplete, SeverityInfo, []string{"nftables: operation not permitted; systemd: no bus"}})
	check(t, Facts{}, absent(IDFactsIncomplete))
}

func TestHostCleanHost(t *testing.T) {
	// A well-kept Docker 28 mail host: nothing to report.
	v := ver(t, "28.0.4")
	f := Facts{Version: v, GlobalIPv6: reachable, IPv6Forwarding: bTrue, DefaultRoute: Route{"eth0", "ipv6", "ra"}, AcceptRA: intp(2),
		DaemonJSON:     daemonconfig.Settings{UserlandProxy: bTrue},
		OtherFirewalls: []firewall.Finding{{Name: "inet docker-bridges", Kind: firewall.KindDockerNftables}},
		Networks: []Network{{Name: "mail", Driver: "bridge", IPv6: true, IPv6Subnets: []string{"fd7e:3c1a:95d2:1::/64"}, IPv4Subnets: []string{"198.18.20.0/24"},
			Containers: []Container{{Name: "mailserver", IPv6Address: "fd7e:3c1a:95d2:1::2", HasIPv6: true, Ports: []Port{
				{HostIP: "0.0.0.0", HostPort: 25, ContainerPort: 25, Proto: "tcp"}, {HostIP: "::", HostPort: 25, ContainerPort: 25, Proto: "tcp"}}}}}}}
	f.Running.Version = v
	if fs := Findings(f); len(fs) != 0 {
		t.Fatalf("clean host has findings: %+v", fs)
	}
}

// One minimal host per finding ID: every ID in AllIDs can be produced, and
// nothing produces an ID outside AllIDs (check).
func TestHostEveryID(t *testing.T) {
	nat := []Container{{Name: "ipv6nat", Image: "robbertkl/ipv6nat"}}
	v6net := func(subnet, mode string) []Network {
		return []Network{{Name: "dms", IPv6: true, IPv6Subnets: []string{subnet}, Options: map[string]string{"com.docker.network.bridge.gateway_mode_ipv6": mode}}}
	}
	hosts := map[string]Facts{
		IDDaemonJSONMalformed:       {DaemonJSONError: "bad"},
		IDIP6TablesUnsupported:      {Version: ver(t, "19.03.15")},
		IDIP6TablesNeedsExperiment:  {Version: ver(t, "20.10.24"), DaemonJSON: daemonconfig.Settings{IP6Tables: bTrue}},
		IDIPv6WithoutFixedCIDR:      {Version: ver(t, "20.10.24"), DaemonJSON: daemonconfig.Settings{IPv6: bTrue}},
		IDIPv4OnlyPublishedOnIPv6:   mailHost(t, "29.8.0"),
		IDIPv6NetworkWithoutIP6Tabs: {Version: ver(t, "29.8.0"), DaemonJSON: daemonconfig.Settings{IP6Tables: bFalse}, Networks: []Network{{Name: "dms", IPv6: true, Containers: []Container{{Name: "m", IPv6Address: "fd7e:3c1a:95d2:1::2", Ports: []Port{{HostIP: "::", HostPort: 25, ContainerPort: 25}}}}}}},
		IDIPv6NATRunning:            {IPv6NAT: nat},
		IDForwardingWithoutAcceptRA: {IPv6Forwarding: bTrue, DefaultRoute: Route{"eth0", "ipv6", "ra"}, AcceptRA: intp(1)},
		IDRestartPending:            {PendingKeys: []string{"experimental"}},
		IDExperimentalUnneeded:      {Version: ver(t, "29.8.0"), DaemonJSON: daemonconfig.Settings{Experimental: bTrue}},
		IDUFWActive:                 {OtherFirewalls: []firewall.Finding{{Name: "ufw.service", Kind: firewall.KindUFW}}},
		IDFirewalldActive:           {OtherFirewalls: []firewall.Finding{{Name: "inet firewalld", Kind: firewall.KindFirewalld}}},
		IDIPv6NATUnprotected:        {Networks: v6net("fd7e:3c1a:95d2:1::/64", "nat-unprotected")},
		IDExampleULAInUse:           {Networks: v6net("fd00:cafe:face:feed::/64", "nat")},
		IDDocumentationPrefixInUse:  {Networks: v6net("2001:db8::/64", "nat")},
		IDReservedULAInUse:          {Networks: v6net("fc00::/64", "nat")},
		IDIPv6RoutedNetwork:         {Networks: v6net("fd7e:3c1a:95d2:1::/64", "routed")},
		IDGaiConfULAPrecedence:      {GaiConf: GaiConf{ULAPrecedence: intp(45)}},
		IDFactsIncomplete:           {Gaps: []string{"x"}},
		IDMasqueradedClientsTrusted: {Clients: []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks}}},
	}
	for _, id := range AllIDs {
		f, ok := hosts[id]
		if !ok {
			t.Errorf("no example host for %q", id)
			continue
		}
		if fs := check(t, f); len(only(fs, id)) == 0 {
			t.Errorf("example host for %q produces %v", id, ids(fs))
		}
	}
	if len(hosts) != len(AllIDs) {
		t.Errorf("%d example hosts for %d IDs", len(hosts), len(AllIDs))
	}
}
