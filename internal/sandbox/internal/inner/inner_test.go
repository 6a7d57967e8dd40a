package inner

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

func TestDaemonJSON(t *testing.T) {
	bench := netip.MustParsePrefix("198.18.0.0/15")
	forbidden := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	}
	for _, engine := range []string{"20", "29"} {
		b, err := DaemonJSON(Config{Engine: engine, Engine29Bin: "/cache/bin"})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		bip := netip.MustParsePrefix(m["bip"].(string))
		pool := netip.MustParsePrefix(m["default-address-pools"].([]any)[0].(map[string]any)["base"].(string))
		for _, p := range []netip.Prefix{bip, pool} {
			if !bench.Contains(p.Addr()) || p.Bits() < bench.Bits() {
				t.Errorf("engine %s: %s outside %s", engine, p, bench)
			}
			for _, f := range forbidden {
				if f.Overlaps(p) {
					t.Errorf("engine %s: %s overlaps %s", engine, p, f)
				}
			}
		}
		_, hasRuntime := m["default-runtime"]
		if (engine == "29") != hasRuntime {
			t.Errorf("engine %s: default-runtime present=%v", engine, hasRuntime)
		}
		if engine == "29" {
			if m["userland-proxy-path"] != "/cache/bin/docker-proxy" || m["default-runtime"] != "runc12" ||
				m["runtimes"].(map[string]any)["runc12"].(map[string]any)["path"] != "/cache/bin/runc" {
				t.Errorf("engine 29 daemon.json: %s", b)
			}
		}
	}
	// Only paths on the command line: a setting both there and in
	// daemon.json makes dockerd refuse to start.
	for _, a := range DockerdArgs() {
		if strings.HasPrefix(a, "--") && !map[string]bool{"--config-file": true, "--host": true, "--data-root": true, "--exec-root": true, "--pidfile": true}[a] {
			t.Errorf("dockerd flag %s is not a path flag", a)
		}
	}
}

func TestCommandEnv(t *testing.T) {
	env := CommandEnv([]string{
		"HOME=/root", "GOCACHE=/c", "GOMODCACHE=/m", "GOPATH=/g", "PATH=/usr/local/go/bin:/usr/bin",
		"DOCKER_HOST=tcp://elsewhere:2376", "DOCKER_TLS_VERIFY=1", "DOCKER_CONTEXT=remote",
	}, Config{Engine: "29", Engine29Bin: "/cache/bin"})
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
	}
	want := map[string]string{
		"HOME": "/root", "GOCACHE": "/c", "GOMODCACHE": "/m", "GOPATH": "/g",
		"PATH":                       "/run/dockeripv6-sandbox/bin:/usr/local/go/bin:/usr/bin",
		"DOCKER_HOST":                "unix:///run/docker.sock",
		"DBUS_SYSTEM_BUS_ADDRESS":    "unix:path=/run/dbus/system_bus_socket",
		"DOCKERIPV6_SANDBOX":         "1",
		"DOCKERIPV6_SANDBOX_ENGINE":  "29",
		"DOCKERIPV6_SANDBOX_DOCKERD": "/cache/bin/dockerd",
		"DOCKERIPV6_SANDBOX_SYSTEMD": "fake",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"DOCKER_TLS_VERIFY", "DOCKER_CONTEXT"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s leaked into the sandbox", k)
		}
	}
}

// TestDaemonJSONIPv4 checks that a dockerd given its own IPv4 (a fleet
// host's) gets exactly that, and nothing of IPv6.
func TestDaemonJSONIPv4(t *testing.T) {
	b, err := DaemonJSON(Config{Engine: "20", IPv4: IPv4{BIP: "198.19.136.1/24", PoolBase: "198.19.140.0/22", PoolSize: 26}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	pool := m["default-address-pools"].([]any)[0].(map[string]any)
	if m["bip"] != "198.19.136.1/24" || pool["base"] != "198.19.140.0/22" || pool["size"] != 26.0 {
		t.Errorf("daemon.json: %s", b)
	}
	for _, k := range []string{"ipv6", "fixed-cidr-v6", "ip6tables", "experimental"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s set: %s", k, b)
		}
	}
}
