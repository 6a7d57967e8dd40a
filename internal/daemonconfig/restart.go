package daemonconfig

import (
	"net/netip"
	"strings"
)

// RunningState is what the running dockerd shows of the owned settings, as
// gathered by the provider. A nil field was not observed (or cannot be told)
// and never makes a restart pending.
type RunningState struct {
	// Version of the running daemon; used only with AbsentMeansDefault.
	Version DockerVersion

	// IPv6 is EnableIPv6 of the default "bridge" network (network inspect).
	IPv6 *bool
	// FixedCIDRv6 is the IPv6 subnet of the default bridge's IPAM config.
	FixedCIDRv6 *string
	// IP6TablesChain: whether `ip6tables -t nat -S DOCKER` finds Docker's
	// chain. Leave nil when that says nothing about the ip6tables option:
	// the firewall backend is nftables (/info FirewallBackend on API 1.49+),
	// "iptables" is false (daemon.json or a unit flag), or ip6tables is not
	// installed. Only a missing chain counts (the option is on, the chain is
	// not there); a chain that is present may be left over from an earlier
	// start, so it does not prove the option is on.
	IP6TablesChain *bool
	// Experimental is /info ExperimentalBuild (the daemon's experimental setting).
	Experimental *bool
	// LiveRestore is /info LiveRestoreEnabled.
	LiveRestore *bool
	// UserlandProxy: true when docker-proxy processes serve published ports,
	// false when ports are published and no docker-proxy runs, nil when no
	// port is published (nothing to see).
	UserlandProxy *bool

	// AbsentMeansDefault: the provider knows that no owned setting comes from
	// dockerd's command line (the unit's ExecStart has no such flag), so a key
	// absent from daemon.json means dockerd's default for Version (ipv6,
	// experimental, live-restore false; userland-proxy true; ip6tables false
	// before 27, true from 27). Otherwise absent keys are not compared.
	AbsentMeansDefault bool
}

// RestartPending reports whether daemon.json (fileSettings, from Parse) asks
// for something the running daemon observably does not do, i.e. the file was
// changed and dockerd not restarted since. Only observed values are compared.
func RestartPending(fileSettings Settings, running RunningState) bool {
	return len(PendingKeys(fileSettings, running)) > 0
}

// PendingKeys lists the daemon.json keys behind RestartPending, in OwnedKeys order.
func PendingKeys(file Settings, running RunningState) []string {
	expect := func(v *bool, def bool, defKnown bool) *bool {
		if v != nil {
			return v
		}
		if running.AbsentMeansDefault && running.Version.Known() && defKnown {
			return &def
		}
		return nil
	}
	differs := func(want, got *bool) bool { return want != nil && got != nil && *want != *got }

	var keys []string
	ipv6 := expect(file.IPv6, false, true)
	if differs(ipv6, running.IPv6) {
		keys = append(keys, KeyIPv6)
	}
	if ipv6 != nil && *ipv6 && running.IPv6 != nil && *running.IPv6 &&
		file.FixedCIDRv6 != nil && running.FixedCIDRv6 != nil && !samePrefix(*file.FixedCIDRv6, *running.FixedCIDRv6) {
		keys = append(keys, KeyFixedCIDRv6)
	}
	ip6t := expect(file.IP6Tables, running.Version.AtLeast(27, 0), running.Version.AtLeast(20, 10))
	if ip6t != nil && *ip6t && running.IP6TablesChain != nil && !*running.IP6TablesChain {
		keys = append(keys, KeyIP6Tables)
	}
	if differs(expect(file.Experimental, false, true), running.Experimental) {
		keys = append(keys, KeyExperimental)
	}
	if differs(expect(file.UserlandProxy, true, true), running.UserlandProxy) {
		keys = append(keys, KeyUserlandProxy)
	}
	if differs(expect(file.LiveRestore, false, true), running.LiveRestore) {
		keys = append(keys, KeyLiveRestore)
	}
	return keys
}

// samePrefix compares two prefixes in canonical form; unparsable ones as text.
func samePrefix(a, b string) bool {
	pa, errA := netip.ParsePrefix(strings.TrimSpace(a))
	pb, errB := netip.ParsePrefix(strings.TrimSpace(b))
	if errA != nil || errB != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return pa.Masked() == pb.Masked()
}
