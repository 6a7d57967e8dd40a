package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// google/nftables decodes rules but silently drops expressions it does not
// know, and it does not return set comments. Drift detection must see every
// expression, so rules and sets are dumped here with plain netlink and the
// expressions decoded one by one with expr.Unmarshal; unknown ones are kept
// as opaque expressions.

// rawExpr is an expression this package does not decode.
type rawExpr struct {
	name string
	data []byte
}

// keptRule is a rule as found in the kernel.
type keptRule struct {
	handle  uint64
	exprs   []any // expr.Any or *rawExpr
	comment string
}

// keptSet is a set as found in the kernel.
type keptSet struct {
	name    string
	flags   uint32
	keyType uint32
	keyLen  uint32
	comment string
}

func dump(conn *nftables.Conn, msgType uint16, attrs []netlink.Attribute) ([]netlink.Message, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: conn.NetNS})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msgType),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, data...),
	}
	return c.Execute(req)
}

// attrDecoder reads netlink attributes in nftables' byte order (big endian).
func attrDecoder(b []byte) (*netlink.AttributeDecoder, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, err
	}
	ad.ByteOrder = binary.BigEndian
	return ad, nil
}

// eachDumped dumps msgType with attrs and calls decode with an attribute
// decoder over each message's attributes; what names the dump in errors.
func eachDumped(conn *nftables.Conn, msgType uint16, attrs []netlink.Attribute, what string, decode func(*netlink.AttributeDecoder)) error {
	msgs, err := dump(conn, msgType, attrs)
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := attrDecoder(m.Data[4:])
		if err != nil {
			return err
		}
		decode(ad)
		if err := ad.Err(); err != nil {
			return fmt.Errorf("decode %s: %w", what, err)
		}
	}
	return nil
}

func dumpRules(conn *nftables.Conn, table, chain string) ([]keptRule, error) {
	var rules []keptRule
	err := eachDumped(conn, unix.NFT_MSG_GETRULE, []netlink.Attribute{
		{Type: unix.NFTA_RULE_TABLE, Data: []byte(table + "\x00")},
		{Type: unix.NFTA_RULE_CHAIN, Data: []byte(chain + "\x00")},
	}, "rules of chain "+chain, func(ad *netlink.AttributeDecoder) {
		var r keptRule
		var tbl, ch string
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_RULE_TABLE:
				tbl = ad.String()
			case unix.NFTA_RULE_CHAIN:
				ch = ad.String()
			case unix.NFTA_RULE_HANDLE:
				r.handle = ad.Uint64()
			case unix.NFTA_RULE_USERDATA:
				r.comment = udString(ad.Bytes(), byte(userdata.TypeComment))
			case unix.NFTA_RULE_EXPRESSIONS:
				ad.Nested(func(nad *netlink.AttributeDecoder) error {
					for nad.Next() {
						e, err := decodeExpr(nad.Bytes())
						if err != nil {
							return err
						}
						r.exprs = append(r.exprs, e)
					}
					return nil
				})
			}
		}
		if ad.Err() == nil && tbl == table && ch == chain { // older kernels ignore the dump filter
			rules = append(rules, r)
		}
	})
	return rules, err
}

func decodeExpr(b []byte) (any, error) {
	ad, err := attrDecoder(b)
	if err != nil {
		return nil, err
	}
	var name string
	var data []byte
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_EXPR_NAME:
			name = ad.String()
		case unix.NFTA_EXPR_DATA:
			data = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	var e expr.Any
	switch name {
	case "meta":
		e = &expr.Meta{}
	case "cmp":
		e = &expr.Cmp{}
	case "payload":
		e = &expr.Payload{}
	case "lookup":
		e = &expr.Lookup{}
	case "ct":
		// expr.Ct reads NFTA_CT_DIRECTION as a u32, but the kernel
		// reports a u8, so decode it here.
		if ct, err := decodeCt(data); err == nil {
			return ct, nil
		}
		return &rawExpr{name: name, data: data}, nil
	case "bitwise":
		e = &expr.Bitwise{}
	case "counter":
		e = &expr.Counter{}
	case "reject":
		e = &expr.Reject{}
	case "immediate":
		e = &expr.Immediate{}
	default:
		return &rawExpr{name: name, data: data}, nil
	}
	if err := expr.Unmarshal(unix.NFPROTO_INET, data, e); err != nil {
		return &rawExpr{name: name, data: data}, nil
	}
	// An immediate that loads the verdict register is a verdict.
	if imm, ok := e.(*expr.Immediate); ok && imm.Register == unix.NFT_REG_VERDICT && len(imm.Data) == 0 {
		v := &expr.Verdict{}
		if err := expr.Unmarshal(unix.NFPROTO_INET, data, v); err != nil {
			return &rawExpr{name: name, data: data}, nil
		}
		return v, nil
	}
	return e, nil
}

func dumpSets(conn *nftables.Conn, table string) ([]keptSet, error) {
	var sets []keptSet
	err := eachDumped(conn, unix.NFT_MSG_GETSET, []netlink.Attribute{
		{Type: unix.NFTA_SET_TABLE, Data: []byte(table + "\x00")},
	}, "sets of table inet "+table, func(ad *netlink.AttributeDecoder) {
		var s keptSet
		var tbl string
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_SET_TABLE:
				tbl = ad.String()
			case unix.NFTA_SET_NAME:
				s.name = ad.String()
			case unix.NFTA_SET_FLAGS:
				s.flags = ad.Uint32()
			case unix.NFTA_SET_KEY_TYPE:
				s.keyType = ad.Uint32()
			case unix.NFTA_SET_KEY_LEN:
				s.keyLen = ad.Uint32()
			case unix.NFTA_SET_USERDATA:
				s.comment = udString(ad.Bytes(), byte(userdata.NFTNL_UDATA_SET_COMMENT))
			}
		}
		if ad.Err() == nil && tbl == table {
			sets = append(sets, s)
		}
	})
	return sets, err
}

// udString returns the string of type typ in libnftnl's userdata TLVs
// (type byte, length byte, value with a trailing NUL), or "". Unlike
// userdata.GetString it does not trust the lengths it reads.
func udString(ud []byte, typ byte) string {
	for len(ud) >= 2 {
		t, n := ud[0], int(ud[1])
		if len(ud) < 2+n {
			return ""
		}
		if t == typ {
			v := ud[2 : 2+n]
			if len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			return string(v)
		}
		ud = ud[2+n:]
	}
	return ""
}

func decodeCt(data []byte) (*expr.Ct, error) {
	ad, err := attrDecoder(data)
	if err != nil {
		return nil, err
	}
	e := &expr.Ct{}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_CT_KEY:
			e.Key = expr.CtKey(ad.Uint32())
		case unix.NFTA_CT_DREG:
			e.Register = ad.Uint32()
		case unix.NFTA_CT_SREG:
			e.Register = ad.Uint32()
			e.SourceRegister = true
		case unix.NFTA_CT_DIRECTION:
			e.Direction = uint32(ad.Uint8())
		}
	}
	return e, ad.Err()
}
