package daemonconfig

import (
	"slices"
	"testing"
)

func TestDockerdFlags(t *testing.T) {
	argv := []string{"/usr/bin/dockerd", "-H", "fd://", "--config-file", "/etc/docker/daemon.json", "--config-file=/x.json", "--ipv6=false", "--fixed-cidr-v6", "fd00::/64"}
	flags := DockerdFlags(argv)
	if want := []string{"-H", "fd://", "--ipv6=false", "--fixed-cidr-v6", "fd00::/64"}; !slices.Equal(flags, want) {
		t.Fatalf("DockerdFlags = %q, want %q", flags, want)
	}
	for _, tc := range []struct {
		name    string
		boolean bool
		value   string
		found   bool
	}{
		{"ipv6", true, "false", true},
		{"fixed-cidr-v6", false, "fd00::/64", true},
		{"H", false, "fd://", true},
		{"experimental", true, "", false},
	} {
		if v, ok := LookupFlag(flags, tc.name, tc.boolean); v != tc.value || ok != tc.found {
			t.Errorf("LookupFlag(%q) = %q, %t; want %q, %t", tc.name, v, ok, tc.value, tc.found)
		}
	}
	if v, ok := LookupFlag([]string{"--live-restore"}, "live-restore", true); v != "true" || !ok {
		t.Errorf("bare boolean flag = %q, %t", v, ok)
	}
	if !SetsOwnedKey(flags) || !SetsOwnedKey([]string{"--default-address-pool", "base=fd00::/56,size=64"}) || SetsOwnedKey([]string{"-H", "fd://", "--containerd=/run/containerd.sock"}) {
		t.Error("SetsOwnedKey disagrees with the owned flags")
	}
}
