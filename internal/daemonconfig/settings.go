package daemonconfig

import "slices"

// The daemon.json keys the dockeripv6_daemon_config resource owns.
const (
	KeyIPv6                = "ipv6"
	KeyFixedCIDRv6         = "fixed-cidr-v6"
	KeyIP6Tables           = "ip6tables"
	KeyExperimental        = "experimental"
	KeyUserlandProxy       = "userland-proxy"
	KeyDefaultAddressPools = "default-address-pools"
	KeyLiveRestore         = "live-restore"
)

// OwnedKeys lists the owned keys in the order Merge appends new ones.
var OwnedKeys = []string{
	KeyIPv6, KeyFixedCIDRv6, KeyIP6Tables, KeyExperimental,
	KeyUserlandProxy, KeyDefaultAddressPools, KeyLiveRestore,
}

func isOwned(key string) bool { return slices.Contains(OwnedKeys, key) }

// Pool is one entry of default-address-pools.
type Pool struct {
	Base string
	Size int
}

// Settings are the owned daemon.json settings. A nil field is not managed (or,
// from Parse, not present in the file): Merge leaves its key alone.
type Settings struct {
	IPv6, IP6Tables, Experimental, UserlandProxy, LiveRestore *bool
	FixedCIDRv6                                               *string
	// DefaultAddressPools: nil is unmanaged; a non-nil empty slice is managed as [].
	DefaultAddressPools *[]Pool
}

// Keys returns the daemon.json keys that s sets (its non-nil fields), in OwnedKeys order.
func (s Settings) Keys() []string {
	var keys []string
	for _, k := range OwnedKeys {
		if s.has(k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s Settings) has(key string) bool {
	switch key {
	case KeyIPv6:
		return s.IPv6 != nil
	case KeyFixedCIDRv6:
		return s.FixedCIDRv6 != nil
	case KeyIP6Tables:
		return s.IP6Tables != nil
	case KeyExperimental:
		return s.Experimental != nil
	case KeyUserlandProxy:
		return s.UserlandProxy != nil
	case KeyDefaultAddressPools:
		return s.DefaultAddressPools != nil
	case KeyLiveRestore:
		return s.LiveRestore != nil
	}
	return false
}

func (s *Settings) boolField(key string) **bool {
	switch key {
	case KeyIPv6:
		return &s.IPv6
	case KeyIP6Tables:
		return &s.IP6Tables
	case KeyExperimental:
		return &s.Experimental
	case KeyUserlandProxy:
		return &s.UserlandProxy
	case KeyLiveRestore:
		return &s.LiveRestore
	}
	return nil
}

// Equal reports whether a and b set the same keys to the same values
// (strings compared exactly, pools element by element).
func (s Settings) Equal(o Settings) bool {
	return eqPtr(s.IPv6, o.IPv6) && eqPtr(s.IP6Tables, o.IP6Tables) &&
		eqPtr(s.Experimental, o.Experimental) && eqPtr(s.UserlandProxy, o.UserlandProxy) &&
		eqPtr(s.LiveRestore, o.LiveRestore) && eqPtr(s.FixedCIDRv6, o.FixedCIDRv6) &&
		eqPools(s.DefaultAddressPools, o.DefaultAddressPools)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqPools(a, b *[]Pool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return slices.Equal(*a, *b)
}

// Effective is what dockerd will read after a merge: every non-nil field of
// desired over the values the file already has.
func Effective(file, desired Settings) Settings {
	e := file
	for _, k := range OwnedKeys {
		if f := desired.boolField(k); f != nil && *f != nil {
			*e.boolField(k) = *f
		}
	}
	if desired.FixedCIDRv6 != nil {
		e.FixedCIDRv6 = desired.FixedCIDRv6
	}
	if desired.DefaultAddressPools != nil {
		e.DefaultAddressPools = desired.DefaultAddressPools
	}
	return e
}

// Bool and String return pointers to their argument, for building Settings.
func Bool(b bool) *bool       { return &b }
func String(s string) *string { return &s }

// Pools returns a pointer to a copy of p, for building Settings; Pools() manages the key as [].
func Pools(p ...Pool) *[]Pool {
	c := append([]Pool{}, p...)
	return &c
}
