package nft

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// Read decodes the inet table named table as it is in the kernel.
//
// found is false (and the posture nil) when the table does not exist.
// Otherwise the posture holds what the table says: the ports and allowed
// prefixes in its sets (sorted, prefixes in canonical form), IPv6 "refuse" if
// either chain holds one of our refusing rules and "allow" if neither does,
// and RejectWith from that rule ("" for "allow").
//
// drift lists, in words, every way the table differs from what Apply would
// write for that posture: a missing or extra rule, a changed chain
// type/hook/priority/policy, a missing chain or set, a chain or set Apply does
// not create, a set of the wrong type, a dormant table. Rules are compared
// expression by expression after decoding (handles, positions and counter
// values ignored), which is stable against how the kernel re-encodes them.
// A value changed in a set (a port, a prefix) is not drift of the table: it
// shows in the posture; compare that with the configuration using Diff.
func (c *Conn) Read(ctx context.Context, table string) (*firewall.Posture, bool, []string, error) {
	conn := c.nc
	if err := ctx.Err(); err != nil {
		return nil, false, nil, err
	}
	t, err := findTable(conn, table)
	if err != nil || t == nil {
		return nil, false, nil, err
	}
	var drift []string
	if t.Flags&unix.NFT_TABLE_F_DORMANT != 0 {
		drift = append(drift, fmt.Sprintf("table inet %s is dormant (flags 0x%x): none of its chains run", table, t.Flags))
	}

	allChains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, false, nil, fmt.Errorf("list chains: %w", err)
	}
	chains := map[string]*nftables.Chain{}
	var chainNames []string
	for _, c := range allChains {
		if c.Table != nil && c.Table.Name == table {
			chains[c.Name] = c
			chainNames = append(chainNames, c.Name)
		}
	}
	slices.Sort(chainNames)

	sets, err := dumpSets(conn, table)
	if err != nil {
		return nil, false, nil, err
	}
	p := &firewall.Posture{Table: table}
	seenSets := map[string]bool{}
	for _, s := range sets {
		seenSets[s.name] = true
		switch s.name {
		case setPorts:
			if s.keyType != 13 || s.keyLen != 2 || s.flags&^unix.NFT_SET_CONSTANT != 0 {
				drift = append(drift, fmt.Sprintf("set %s has key type %d, length %d, flags 0x%x; Apply makes type inet_service (13), length 2, no flags", s.name, s.keyType, s.keyLen, s.flags))
			}
			ports, err := readPorts(conn, t)
			if err != nil {
				return nil, false, nil, err
			}
			p.Ports = ports
		case setAllow:
			if s.keyType != 8 || s.keyLen != 16 || s.flags&^unix.NFT_SET_CONSTANT != unix.NFT_SET_INTERVAL {
				drift = append(drift, fmt.Sprintf("set %s has key type %d, length %d, flags 0x%x; Apply makes type ipv6_addr (8), length 16, flags interval", s.name, s.keyType, s.keyLen, s.flags))
			}
			prefixes, err := readPrefixes(conn, t)
			if err != nil {
				return nil, false, nil, err
			}
			p.AllowIPv6From = prefixes
		default:
			drift = append(drift, fmt.Sprintf("set %s is not one Apply creates", s.name))
		}
	}
	for _, name := range []string{setPorts, setAllow} {
		if !seenSets[name] {
			drift = append(drift, fmt.Sprintf("set %s is missing", name))
		}
	}

	rules := map[string][]keptRule{}
	for _, name := range chainNames {
		r, err := dumpRules(conn, table, name)
		if err != nil {
			return nil, false, nil, err
		}
		rules[name] = r
	}

	// Which posture do the rules say? Ours are recognised by their exact
	// expressions and comment (either reject type), input chain first.
	p.IPv6Clients = firewall.IPv6Allow
recognise:
	for _, cs := range chainSpecs {
		for _, r := range rules[cs.name] {
			for _, rw := range []string{firewall.RejectTCPReset, firewall.RejectDrop} {
				for _, w := range rulesFor(firewall.Posture{IPv6Clients: firewall.IPv6Refuse, RejectWith: rw}) {
					if w.chain == cs.name && ruleKey(w.exprs, w.comment) == ruleKey(r.exprs, r.comment) {
						p.IPv6Clients, p.RejectWith = firewall.IPv6Refuse, rw
						break recognise
					}
				}
			}
		}
	}

	// Chains: what Apply makes against what is there.
	for _, cs := range chainSpecs {
		c, ok := chains[cs.name]
		if !ok {
			drift = append(drift, fmt.Sprintf("chain %s is missing", cs.name))
			continue
		}
		drift = append(drift, chainDrift(c, cs)...)
	}
	for _, name := range chainNames {
		if !slices.ContainsFunc(chainSpecs, func(cs chainSpec) bool { return cs.name == name }) {
			drift = append(drift, fmt.Sprintf("chain %s is not one Apply creates (%s, %d rules)", name, describeChain(chains[name]), len(rules[name])))
		}
	}

	// Rules: a multiset comparison per chain that Apply creates.
	want := rulesFor(*p)
	for _, cs := range chainSpecs {
		if _, ok := chains[cs.name]; !ok {
			continue
		}
		var missing []wantRule
		for _, w := range want {
			if w.chain == cs.name {
				missing = append(missing, w)
			}
		}
		for _, r := range rules[cs.name] {
			k := ruleKey(r.exprs, r.comment)
			if i := slices.IndexFunc(missing, func(w wantRule) bool { return ruleKey(w.exprs, w.comment) == k }); i >= 0 {
				missing = slices.Delete(missing, i, i+1)
				continue
			}
			drift = append(drift, fmt.Sprintf("chain %s has a rule Apply did not write (handle %d): %s", cs.name, r.handle, describeRule(r.exprs, r.comment)))
		}
		for _, w := range missing {
			drift = append(drift, fmt.Sprintf("chain %s is missing its rule %q (%s)", cs.name, strings.TrimPrefix(w.comment, marker), p.RejectWith))
		}
	}
	return p, true, drift, nil
}

func chainDrift(c *nftables.Chain, cs chainSpec) []string {
	var d []string
	if c.Hooknum == nil || c.Priority == nil {
		return []string{fmt.Sprintf("chain %s is not a base chain any more (no hook); Apply makes it type filter hook %s priority %d policy accept", cs.name, hookName(cs.hook), chainPriority)}
	}
	if c.Type != nftables.ChainTypeFilter {
		d = append(d, fmt.Sprintf("chain %s has type %s; Apply makes type filter", cs.name, c.Type))
	}
	if *c.Hooknum != cs.hook {
		d = append(d, fmt.Sprintf("chain %s hooks %s; Apply hooks %s", cs.name, hookName(*c.Hooknum), hookName(cs.hook)))
	}
	if *c.Priority != chainPriority {
		d = append(d, fmt.Sprintf("chain %s has priority %d; Apply sets %d (filter - 1)", cs.name, *c.Priority, chainPriority))
	}
	if c.Policy == nil || *c.Policy != nftables.ChainPolicyAccept {
		d = append(d, fmt.Sprintf("chain %s has policy %s; Apply sets accept", cs.name, policyName(c.Policy)))
	}
	return d
}

func describeChain(c *nftables.Chain) string {
	if c.Hooknum == nil || c.Priority == nil {
		return "regular chain"
	}
	return fmt.Sprintf("type %s hook %s priority %d policy %s", c.Type, hookName(*c.Hooknum), *c.Priority, policyName(c.Policy))
}

func hookName(h nftables.ChainHook) string {
	switch h {
	case unix.NF_INET_PRE_ROUTING:
		return "prerouting"
	case unix.NF_INET_LOCAL_IN:
		return "input"
	case unix.NF_INET_FORWARD:
		return "forward"
	case unix.NF_INET_LOCAL_OUT:
		return "output"
	case unix.NF_INET_POST_ROUTING:
		return "postrouting"
	case 5: // NF_INET_INGRESS
		return "ingress"
	}
	return fmt.Sprintf("hook#%d", h)
}

func policyName(p *nftables.ChainPolicy) string {
	switch {
	case p == nil:
		return "(none)"
	case *p == nftables.ChainPolicyAccept:
		return "accept"
	case *p == nftables.ChainPolicyDrop:
		return "drop"
	}
	return fmt.Sprintf("%d", *p)
}

func readPorts(conn *nftables.Conn, t *nftables.Table) ([]uint16, error) {
	els, err := conn.GetSetElements(&nftables.Set{Table: t, Name: setPorts, KeyType: nftables.TypeInetService})
	if err != nil {
		return nil, fmt.Errorf("read set %s: %w", setPorts, err)
	}
	ports := []uint16{}
	for _, e := range els {
		if len(e.Key) == 2 && !e.IntervalEnd {
			ports = append(ports, binary.BigEndian.Uint16(e.Key))
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// readPrefixes turns the interval set's start/end elements back into ranges
// and the ranges into canonical prefixes.
func readPrefixes(conn *nftables.Conn, t *nftables.Table) ([]netip.Prefix, error) {
	els, err := conn.GetSetElements(&nftables.Set{Table: t, Name: setAllow, KeyType: nftables.TypeIP6Addr, Interval: true})
	if err != nil {
		return nil, fmt.Errorf("read set %s: %w", setAllow, err)
	}
	els = slices.DeleteFunc(els, func(e nftables.SetElement) bool { return len(e.Key) != 16 })
	slices.SortStableFunc(els, func(a, b nftables.SetElement) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		switch { // an end and a start at the same address: the end closes the earlier range
		case a.IntervalEnd && !b.IntervalEnd:
			return -1
		case !a.IntervalEnd && b.IntervalEnd:
			return 1
		}
		return 0
	})
	var spans []firewall.Range
	var open *netip.Addr
	for _, e := range els {
		a := netip.AddrFrom16([16]byte(e.Key))
		if !e.IntervalEnd {
			if open == nil {
				open = &a
			}
			continue
		}
		if open != nil && a.Compare(*open) > 0 {
			spans = append(spans, firewall.Range{First: *open, Last: a.Prev()})
		}
		open = nil
	}
	if open != nil {
		spans = append(spans, firewall.Range{First: *open, Last: firewall.MaxIPv6})
	}
	return firewall.RangePrefixes(spans), nil
}

// ruleKey is the canonical text of a rule: its expressions and comment.
func ruleKey[E any](exprs []E, comment string) string {
	return describeRule(exprs, comment)
}

func describeRule[E any](exprs []E, comment string) string {
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = "[" + exprString(e) + "]"
	}
	s := strings.Join(parts, " ")
	if comment != "" {
		s += fmt.Sprintf(" comment %q", comment)
	}
	return s
}

// reg maps a register number to the 128-bit register form the kernel
// reports (NFT_REG32_00..15 alias NFT_REG_1..4 when aligned).
func reg(r uint32) string {
	if r >= unix.NFT_REG32_00 && (r-unix.NFT_REG32_00)%4 == 0 {
		r = (r-unix.NFT_REG32_00)/4 + unix.NFT_REG_1
	}
	if r == unix.NFT_REG_VERDICT {
		return "verdict"
	}
	return fmt.Sprintf("reg %d", r)
}

var metaKeys = map[expr.MetaKey]string{
	expr.MetaKeyLEN: "len", expr.MetaKeyPROTOCOL: "protocol", expr.MetaKeyPRIORITY: "priority",
	expr.MetaKeyMARK: "mark", expr.MetaKeyIIF: "iif", expr.MetaKeyOIF: "oif",
	expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyIIFTYPE: "iiftype",
	expr.MetaKeyOIFTYPE: "oiftype", expr.MetaKeySKUID: "skuid", expr.MetaKeySKGID: "skgid",
	expr.MetaKeyNFTRACE: "nftrace", expr.MetaKeyRTCLASSID: "rtclassid", expr.MetaKeySECMARK: "secmark",
	expr.MetaKeyNFPROTO: "nfproto", expr.MetaKeyL4PROTO: "l4proto", expr.MetaKeyBRIIIFNAME: "bri_iifname",
	expr.MetaKeyBRIOIFNAME: "bri_oifname", expr.MetaKeyPKTTYPE: "pkttype", expr.MetaKeyCPU: "cpu",
	expr.MetaKeyIIFGROUP: "iifgroup", expr.MetaKeyOIFGROUP: "oifgroup", expr.MetaKeyCGROUP: "cgroup",
	expr.MetaKeyPRANDOM: "prandom",
}

var ctKeys = map[expr.CtKey]string{
	expr.CtKeySTATE: "state", expr.CtKeyDIRECTION: "direction", expr.CtKeySTATUS: "status",
	expr.CtKeyMARK: "mark", expr.CtKeySECMARK: "secmark", expr.CtKeyEXPIRATION: "expiration",
	expr.CtKeyHELPER: "helper", expr.CtKeyL3PROTOCOL: "l3protocol", expr.CtKeySRC: "src",
	expr.CtKeyDST: "dst", expr.CtKeyPROTOCOL: "protocol", expr.CtKeyPROTOSRC: "proto_src",
	expr.CtKeyPROTODST: "proto_dst", expr.CtKeyLABELS: "label", expr.CtKeyPKTS: "packets",
	expr.CtKeyBYTES: "bytes", expr.CtKeyAVGPKT: "avgpkt", expr.CtKeyZONE: "zone",
	expr.CtKeyEVENTMASK: "event",
}

var cmpOps = map[expr.CmpOp]string{
	expr.CmpOpEq: "eq", expr.CmpOpNeq: "neq", expr.CmpOpLt: "lt",
	expr.CmpOpLte: "lte", expr.CmpOpGt: "gt", expr.CmpOpGte: "gte",
}

var payloadBases = map[expr.PayloadBase]string{
	expr.PayloadBaseLLHeader: "link", expr.PayloadBaseNetworkHeader: "network",
	expr.PayloadBaseTransportHeader: "transport",
}

func named[K comparable](m map[K]string, k K) string {
	if s, ok := m[k]; ok {
		return s
	}
	return fmt.Sprintf("%v", k)
}

// exprString renders an expression much like `nft --debug=netlink` does.
// Counter values are left out: they change with traffic.
func exprString(e any) string {
	switch e := e.(type) {
	case *expr.Meta:
		if e.SourceRegister {
			return fmt.Sprintf("meta set %s with %s", named(metaKeys, e.Key), reg(e.Register))
		}
		return fmt.Sprintf("meta load %s => %s", named(metaKeys, e.Key), reg(e.Register))
	case *expr.Cmp:
		return fmt.Sprintf("cmp %s %s 0x%x", named(cmpOps, e.Op), reg(e.Register), e.Data)
	case *expr.Payload:
		if e.OperationType == expr.PayloadWrite {
			return fmt.Sprintf("payload write %s => %db @ %s header + %d csum type %d offset %d flags 0x%x",
				reg(e.SourceRegister), e.Len, named(payloadBases, e.Base), e.Offset, e.CsumType, e.CsumOffset, e.CsumFlags)
		}
		return fmt.Sprintf("payload load %db @ %s header + %d => %s", e.Len, named(payloadBases, e.Base), e.Offset, reg(e.DestRegister))
	case *expr.Lookup:
		s := fmt.Sprintf("lookup %s set %s", reg(e.SourceRegister), e.SetName)
		if e.IsDestRegSet {
			s += " dreg " + reg(e.DestRegister)
		}
		if e.Invert {
			s += " inverted"
		}
		return s
	case *expr.Ct:
		dir := ""
		switch e.Key {
		case expr.CtKeySRC, expr.CtKeyDST, expr.CtKeyPROTOSRC, expr.CtKeyPROTODST:
			dir = " dir original"
			if e.Direction == 1 {
				dir = " dir reply"
			}
		}
		if e.SourceRegister {
			return fmt.Sprintf("ct set %s%s with %s", named(ctKeys, e.Key), dir, reg(e.Register))
		}
		return fmt.Sprintf("ct load %s%s => %s", named(ctKeys, e.Key), dir, reg(e.Register))
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise %s = ( %s & 0x%x ) ^ 0x%x", reg(e.DestRegister), reg(e.SourceRegister), e.Mask, e.Xor)
	case *expr.Counter:
		return "counter"
	case *expr.Reject:
		if e.Type == unix.NFT_REJECT_TCP_RST {
			return "reject tcp reset"
		}
		return fmt.Sprintf("reject type %d code %d", e.Type, e.Code)
	case *expr.Verdict:
		return "verdict " + verdictName(e)
	case *expr.Immediate:
		return fmt.Sprintf("immediate %s 0x%x", reg(e.Register), e.Data)
	case *rawExpr:
		return fmt.Sprintf("%s (not decoded) 0x%x", e.name, e.data)
	}
	return fmt.Sprintf("%T %+v", e, e)
}

func verdictName(v *expr.Verdict) string {
	switch v.Kind {
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictDrop:
		return "drop"
	case expr.VerdictReturn:
		return "return"
	case expr.VerdictContinue:
		return "continue"
	case expr.VerdictBreak:
		return "break"
	case expr.VerdictJump:
		return "jump " + v.Chain
	case expr.VerdictGoto:
		return "goto " + v.Chain
	case expr.VerdictQueue:
		return "queue"
	case expr.VerdictStop:
		return "stop"
	}
	return fmt.Sprintf("%d", v.Kind)
}
