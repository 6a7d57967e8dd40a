package nft

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// writeMu serialises our batches: google/nftables buffers messages per
// connection until Flush, so two writers on one connection would otherwise
// send each other's messages.
var writeMu sync.Mutex

// Apply creates the table for p, or replaces it whole, in one nftables
// transaction: "add table; delete table; add table, chains, sets, elements,
// rules", sent as one batch and committed by the kernel at once. Nobody ever
// sees the table missing or half-built, and if any part fails the kernel
// aborts the whole batch, leaving the ruleset exactly as it was.
// Counters restart at zero on every Apply.
//
// With IPv6 "allow" the table keeps both chains and both sets (with the
// ports and prefixes) but has no rules, so a rule someone adds by hand still
// shows as drift, and switching postures changes only the rules.
//
// Apply does not check who owns an existing table of that name; call Exists
// before creating a new one.
func (c *Conn) Apply(ctx context.Context, p firewall.Posture) error {
	return c.apply(ctx, p, nil)
}

// apply is Apply with a hook that can add messages to the batch just before it
// is sent (the tests use it to make a transaction fail).
func (c *Conn) apply(ctx context.Context, p firewall.Posture, extra func(*nftables.Conn, *nftables.Table)) error {
	n, err := p.Normalize()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	conn := c.nc
	writeMu.Lock()
	defer writeMu.Unlock()

	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: n.Table}
	conn.AddTable(t) // "add" does not fail if it exists, so the delete below always has a target
	conn.DelTable(t)
	t, err = queueTable(conn, n)
	if err != nil {
		// queueTable fails only if google/nftables cannot encode an
		// element list, which Normalize's limits rule out. The batch
		// already holds messages and google/nftables cannot drop them,
		// so send it with one the kernel must refuse (deleting a table
		// whose name cannot exist): the kernel then aborts all of it.
		conn.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: n.Table + "\x00invalid"})
		_ = conn.Flush()
		return fmt.Errorf("build nftables batch for table inet %s: %w", n.Table, err)
	}
	if extra != nil {
		extra(conn, t)
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables transaction for table inet %s failed (the kernel commits a transaction whole or not at all): %w", n.Table, err)
	}
	return nil
}

// Delete removes the inet table named table, and only it, in one
// transaction. A table that does not exist is not an error.
func (c *Conn) Delete(ctx context.Context, table string) error {
	conn := c.nc
	if err := ctx.Err(); err != nil {
		return err
	}
	writeMu.Lock()
	defer writeMu.Unlock()
	t, err := findTable(conn, table)
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	conn.DelTable(t)
	if err := conn.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // removed by someone else in the meantime
		}
		return fmt.Errorf("delete table inet %s: %w", table, err)
	}
	return nil
}

// Exists says whether the inet table exists and whether it looks like one
// Apply wrote (one of its sets carries our comment). Before creating a table,
// the provider should refuse to replace an existing table that is not ours.
func (c *Conn) Exists(ctx context.Context, table string) (exists, ours bool, err error) {
	conn := c.nc
	if err := ctx.Err(); err != nil {
		return false, false, err
	}
	t, err := findTable(conn, table)
	if err != nil || t == nil {
		return false, false, err
	}
	sets, err := dumpSets(conn, table)
	if err != nil {
		return true, false, err
	}
	for _, s := range sets {
		if strings.HasPrefix(s.comment, marker) {
			return true, true, nil
		}
	}
	return true, false, nil
}

// findTable returns the inet table named name, or nil. It dumps tables with
// plain netlink because google/nftables decodes the table flags in host byte
// order.
func findTable(conn *nftables.Conn, name string) (*nftables.Table, error) {
	msgs, err := dump(conn, unix.NFT_MSG_GETTABLE, nil)
	if err != nil {
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 || m.Data[0] != unix.NFPROTO_INET {
			continue
		}
		ad, err := attrDecoder(m.Data[4:])
		if err != nil {
			return nil, err
		}
		t := &nftables.Table{Family: nftables.TableFamilyINet}
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_TABLE_NAME:
				t.Name = ad.String()
			case unix.NFTA_TABLE_FLAGS:
				t.Flags = ad.Uint32()
			case unix.NFTA_TABLE_USE:
				t.Use = ad.Uint32()
			}
		}
		if err := ad.Err(); err != nil {
			return nil, fmt.Errorf("decode table: %w", err)
		}
		if t.Name == name {
			return t, nil
		}
	}
	return nil, nil
}
