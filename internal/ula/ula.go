// Package ula generates RFC 4193 Unique Local IPv6 prefixes and classifies
// IPv6 prefixes the way a mail host's Docker networks need them judged.
package ula

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
)

// SeedDomain is mixed into ula_prefix(seed) so that the derived Global IDs
// are specific to this algorithm. Changing it changes every derived prefix.
const SeedDomain = "dockeripv6/ula_prefix/v1\x00"

// Prefix is an RFC 4193 /48: fd00::/8 with the L bit set, then a 40-bit Global ID.
type Prefix struct {
	Prefix   netip.Prefix
	GlobalID [5]byte
}

// GlobalIDHex is the 40-bit Global ID as 10 lowercase hex digits.
func (p Prefix) GlobalIDHex() string { return hex.EncodeToString(p.GlobalID[:]) }

// String is the prefix in canonical form, for example "fd3a:9c1e:77b0::/48".
func (p Prefix) String() string { return p.Prefix.String() }

func fromGlobalID(id [5]byte) Prefix {
	var a [16]byte
	a[0] = 0xfd
	copy(a[1:6], id[:])
	return Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom16(a), 48), GlobalID: id}
}

// Generate makes a /48 with a Global ID read from r (crypto/rand.Reader when r is nil),
// as RFC 4193 section 3.2 asks: pseudo-random, never sequential or well-known.
func Generate(r io.Reader) (Prefix, error) {
	if r == nil {
		r = rand.Reader
	}
	var id [5]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return Prefix{}, fmt.Errorf("reading 40 random bits for the ULA Global ID: %w", err)
	}
	return fromGlobalID(id), nil
}

// FromSeed derives a /48 deterministically from seed: the Global ID is the first
// 40 bits (5 bytes) of SHA-256(SeedDomain || seed). Same seed, same prefix, on every
// machine and every version of this provider that keeps SeedDomain "v1".
// This follows RFC 4193 section 3.2.2 in spirit (hash a host-specific key, keep 40
// bits), with the host name or any other stable string as the key instead of the
// time and EUI-64, so that builds are reproducible without state.
func FromSeed(seed string) Prefix {
	sum := sha256.Sum256([]byte(SeedDomain + seed))
	var id [5]byte
	copy(id[:], sum[:5])
	return fromGlobalID(id)
}
