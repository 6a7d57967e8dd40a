package nft

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// TestApplyRefusesInvalid: Apply refuses what Normalize refuses, before touching the kernel.
func TestApplyRefusesInvalid(t *testing.T) {
	for p, want := range map[*firewall.Posture]string{
		{}: `ipv6_clients is ""; it must be "refuse" or "allow"`,
		{IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{0}}:  "port 0 is out of range: TCP ports are 1 to 65535",
		{IPv6Clients: firewall.IPv6Refuse, Table: "9"}:          `table name "9" is not a valid nftables name`,
		{IPv6Clients: firewall.IPv6Refuse, RejectWith: "reset"}: `reject_with is "reset"`,
	} {
		if err := (*Conn)(nil).Apply(ctx, *p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Apply(%+v) = %v, want %q", *p, err, want)
		}
	}
}

func TestAllowElements(t *testing.T) {
	type el struct {
		key string
		end bool
	}
	for _, tc := range []struct {
		in   []string
		want []el
	}{
		{nil, nil},
		// nft's encoding: a leading end element at ::, then start/end pairs
		// with the end one past the range.
		{[]string{"fd12:3456:789a::/48", "fd00:1::/64"}, []el{{"::", true}, {"fd00:1::", false}, {"fd00:1:0:1::", true}, {"fd12:3456:789a::", false}, {"fd12:3456:789b::", true}}},
		// A range reaching the top of the address space has no end element
		// (math only: no such address is used in any namespace).
		{[]string{"ff00::/8"}, []el{{"::", true}, {"ff00::", false}}},
		// One starting at :: has no leading end element.
		{[]string{"::/0"}, []el{{"::", false}}},
	} {
		var got []el
		for _, e := range allowElements(mustPrefixes(t, tc.in...)) {
			got = append(got, el{netip.AddrFrom16([16]byte(e.Key)).String(), e.IntervalEnd})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("allowElements(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
