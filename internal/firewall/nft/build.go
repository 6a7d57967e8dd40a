package nft

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// Names of the objects inside the table.
const (
	chainInput   = "input"
	chainForward = "forward"
	setPorts     = "ports"
	setAllow     = "allow_ipv6_from"

	// Every comment we write starts with marker; Exists uses it to tell our
	// table from someone else's table of the same name.
	marker = "terraform-provider-dockeripv6: "

	commentPorts   = marker + "TCP ports the IPv6 posture applies to"
	commentAllow   = marker + "IPv6 sources never refused"
	commentInput   = marker + "refuse IPv6 to host-published ports (docker-proxy)"
	commentForward = marker + "refuse IPv6 that Docker DNATs to a container"
)

// chainPriority is filter - 1 for both chains. Our chains only ever reject or
// drop (their policy is accept, and accept in one base chain does not stop
// other base chains on the same hook), so running first cannot let through
// anything that another table would block. What it decides is which verdict a
// refused packet gets: at the same priority (0) the order of iptables-nft's
// filter INPUT/FORWARD (Docker, UFW) and our chain is the order of
// registration, so a drop there (UFW's default policy, DOCKER-USER) could win
// and the client would wait for a time-out instead of getting the reset that
// makes it fall back to IPv4 at once. At -1 our reset always comes first.
// Conntrack (-200) and Docker's DNAT (nat prerouting, -100) have already run.
const chainPriority nftables.ChainPriority = -1

// Set IDs only have to be unique inside one transaction. Giving them here
// keeps google/nftables from using its unsynchronised global counter.
const (
	setIDPorts = 1
	setIDAllow = 2
)

type chainSpec struct {
	name string
	hook nftables.ChainHook
}

var chainSpecs = []chainSpec{
	{chainInput, unix.NF_INET_LOCAL_IN},
	{chainForward, unix.NF_INET_FORWARD},
}

func newChain(t *nftables.Table, cs chainSpec) *nftables.Chain {
	policy := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name:     cs.name,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookRef(cs.hook),
		Priority: nftables.ChainPriorityRef(chainPriority),
		Policy:   &policy,
	}
}

func portsSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{
		Table:        t,
		ID:           setIDPorts,
		Name:         setPorts,
		KeyType:      nftables.TypeInetService,
		KeyByteOrder: binaryutil.BigEndian,
		Comment:      commentPorts,
	}
}

func allowSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{
		Table:        t,
		ID:           setIDAllow,
		Name:         setAllow,
		KeyType:      nftables.TypeIP6Addr,
		KeyByteOrder: binaryutil.BigEndian,
		Interval:     true,
		Comment:      commentAllow,
	}
}

func portElements(ports []uint16) []nftables.SetElement {
	els := make([]nftables.SetElement, 0, len(ports))
	for _, p := range ports {
		els = append(els, nftables.SetElement{Key: binary.BigEndian.AppendUint16(nil, p)})
	}
	return els
}

// allowElements encodes the prefixes as interval-set elements the way nft
// does: each range is a start element plus an end element holding the first
// address after it (none when the range reaches ffff:...:ffff), and a leading
// end element at :: when the first range does not start there.
func allowElements(prefixes []netip.Prefix) []nftables.SetElement {
	spans := firewall.PrefixRanges(prefixes)
	var els []nftables.SetElement
	if len(spans) > 0 && !spans[0].First.IsUnspecified() {
		els = append(els, nftables.SetElement{Key: make([]byte, 16), IntervalEnd: true})
	}
	for _, s := range spans {
		els = append(els, nftables.SetElement{Key: s.First.AsSlice()})
		if s.Last != firewall.MaxIPv6 {
			els = append(els, nftables.SetElement{Key: s.Last.Next().AsSlice(), IntervalEnd: true})
		}
	}
	return els
}

func comment(s string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, s)
}

func verdictExprs(rejectWith string) []expr.Any {
	if rejectWith == firewall.RejectDrop {
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	}
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST, Code: 0}}
}

// inputExprs is, in nft syntax:
//
//	meta nfproto ipv6 iif != "lo" meta l4proto tcp ct direction original
//	tcp dport @ports ip6 saddr != @allow_ipv6_from counter reject with tcp reset
//
// Loopback is ifindex 1 in every network namespace. "ct direction original"
// limits the match to connections clients open to the host: the replies to the
// host's own outgoing connections from a local port in the set pass.
func inputExprs(rejectWith string) []expr.Any {
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(1)},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}}, // IP_CT_DIR_ORIGINAL
		&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: setPorts, SetID: setIDPorts},
		&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
		&expr.Lookup{SourceRegister: 1, SetName: setAllow, SetID: setIDAllow, Invert: true},
		&expr.Counter{},
	}, verdictExprs(rejectWith)...)
}

// forwardExprs is, in nft syntax:
//
//	meta nfproto ipv6 meta l4proto tcp ct direction original ct status dnat
//	ct original proto-dst @ports ip6 saddr != @allow_ipv6_from counter
//	reject with tcp reset
//
// "ct direction original" keeps replies of allowed connections (whose source
// is the container) out of the match; "ct status dnat" limits it to
// connections something DNATed (Docker's published ports); the port is the
// one in the original tuple, i.e. the one the client asked for.
func forwardExprs(rejectWith string) []expr.Any {
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}}, // IP_CT_DIR_ORIGINAL
		&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Ct{Key: expr.CtKeyPROTODST, Direction: 0, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: setPorts, SetID: setIDPorts},
		&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
		&expr.Lookup{SourceRegister: 1, SetName: setAllow, SetID: setIDAllow, Invert: true},
		&expr.Counter{},
	}, verdictExprs(rejectWith)...)
}

// ipsDstNAT is IPS_DST_NAT from linux/netfilter/nf_conntrack_common.h.
const ipsDstNAT = 1 << 5

const elementsPerMessage = 256

// wantRule is a rule Apply writes.
type wantRule struct {
	chain   string
	exprs   []expr.Any
	comment string
}

// rulesFor returns the rules Apply writes for a normalized posture.
func rulesFor(p firewall.Posture) []wantRule {
	if p.IPv6Clients != firewall.IPv6Refuse {
		return nil
	}
	return []wantRule{
		{chainInput, inputExprs(p.RejectWith), commentInput},
		{chainForward, forwardExprs(p.RejectWith), commentForward},
	}
}

// queueTable adds to conn's batch every message that builds the table for a
// normalized posture. The table must not exist when the batch reaches this
// point (Apply deletes it first, in the same batch).
func queueTable(conn *nftables.Conn, p firewall.Posture) (*nftables.Table, error) {
	t := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: p.Table})
	chains := map[string]*nftables.Chain{}
	for _, cs := range chainSpecs {
		chains[cs.name] = conn.AddChain(newChain(t, cs))
	}
	for _, s := range []struct {
		set *nftables.Set
		els []nftables.SetElement
	}{
		{portsSet(t), portElements(p.Ports)},
		{allowSet(t), allowElements(p.AllowIPv6From)},
	} {
		if err := conn.AddSet(s.set, nil); err != nil {
			return nil, err
		}
		// A netlink attribute holds at most 64 KiB, so elements go in
		// several messages (still in the same batch), as nft does.
		for chunk := range slices.Chunk(s.els, elementsPerMessage) {
			if err := conn.SetAddElements(s.set, chunk); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range rulesFor(p) {
		conn.AddRule(&nftables.Rule{Table: t, Chain: chains[r.chain], Exprs: r.exprs, UserData: comment(r.comment)})
	}
	return t, nil
}
