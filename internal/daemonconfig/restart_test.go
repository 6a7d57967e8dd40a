package daemonconfig

import (
	"strings"
	"testing"
)

func TestRestartPending(t *testing.T) {
	yes, no := Bool(true), Bool(false)
	tests := []struct {
		name    string
		file    Settings
		running RunningState
		want    []string
	}{
		{"nothing observed", Settings{IPv6: yes, IP6Tables: yes, Experimental: yes, LiveRestore: yes, UserlandProxy: no}, RunningState{}, nil},
		{"all in line", Settings{IPv6: yes, FixedCIDRv6: String("fd12:3456:789a:1::/64"), IP6Tables: yes, Experimental: yes, LiveRestore: yes, UserlandProxy: no},
			RunningState{IPv6: yes, FixedCIDRv6: String("fd12:3456:789a:1:0:0:0:0/64"), IP6TablesChain: yes, Experimental: yes, LiveRestore: yes, UserlandProxy: no}, nil},
		{"ipv6 set, bridge has none", Settings{IPv6: yes}, RunningState{IPv6: no}, []string{KeyIPv6}},
		{"ipv6 removed from the file is not compared without defaults", Settings{}, RunningState{IPv6: yes}, nil},
		{"ipv6 removed, defaults known", Settings{}, RunningState{IPv6: yes, Version: v20_10, AbsentMeansDefault: true}, []string{KeyIPv6}},
		{"defaults need a known version", Settings{}, RunningState{IPv6: yes, AbsentMeansDefault: true}, nil},
		{"fixed-cidr-v6 changed", Settings{IPv6: yes, FixedCIDRv6: String("fd12:3456:789a:2::/64")}, RunningState{IPv6: yes, FixedCIDRv6: String("fd12:3456:789a:1::/64")}, []string{KeyFixedCIDRv6}},
		{"fixed-cidr-v6 not compared when ipv6 is off", Settings{IPv6: no, FixedCIDRv6: String("fd12:3456:789a:2::/64")}, RunningState{IPv6: no, FixedCIDRv6: String("")}, nil},
		{"ip6tables on, chain missing", Settings{IP6Tables: yes}, RunningState{IP6TablesChain: no}, []string{KeyIP6Tables}},
		{"ip6tables off, chain present: may be stale, not pending", Settings{IP6Tables: no}, RunningState{IP6TablesChain: yes}, nil},
		{"ip6tables default on 27, chain missing", Settings{}, RunningState{IP6TablesChain: no, Version: v27_0, AbsentMeansDefault: true}, []string{KeyIP6Tables}},
		{"ip6tables default off on 26", Settings{}, RunningState{IP6TablesChain: no, Version: v26_1, AbsentMeansDefault: true}, nil},
		{"ip6tables default unknown before 20.10", Settings{}, RunningState{IP6TablesChain: no, Version: v19_03, AbsentMeansDefault: true}, nil},
		{"experimental differs", Settings{Experimental: yes}, RunningState{Experimental: no}, []string{KeyExperimental}},
		{"live-restore differs", Settings{LiveRestore: no}, RunningState{LiveRestore: yes}, []string{KeyLiveRestore}},
		{"userland-proxy off, docker-proxy seen", Settings{UserlandProxy: no}, RunningState{UserlandProxy: yes}, []string{KeyUserlandProxy}},
		{"userland-proxy unknown", Settings{UserlandProxy: no}, RunningState{}, nil},
		{"userland-proxy default on, none seen", Settings{}, RunningState{UserlandProxy: no, Version: v29_x, AbsentMeansDefault: true}, []string{KeyUserlandProxy}},
		{"several", Settings{IPv6: yes, Experimental: yes, LiveRestore: yes}, RunningState{IPv6: no, Experimental: no, LiveRestore: yes},
			[]string{KeyIPv6, KeyExperimental}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PendingKeys(tt.file, tt.running)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("PendingKeys = %v, want %v", got, tt.want)
			}
			if RestartPending(tt.file, tt.running) != (len(tt.want) > 0) {
				t.Fatalf("RestartPending disagrees with PendingKeys")
			}
		})
	}
}
