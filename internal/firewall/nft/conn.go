// Package nft writes, reads and removes the firewall posture
// (internal/firewall) as one nftables table, and lists the other firewalls in
// the kernel's ruleset, all through netlink (google/nftables): it never runs
// the nft binary and never writes any other table.
//
// Open gives a Conn for one network namespace, in the style of
// nftables.Conn; it implements firewall.Handle. ctx is checked before each
// operation; the netlink calls themselves cannot be cancelled (each is a few
// milliseconds).
package nft

import (
	"fmt"
	"os"

	"github.com/google/nftables"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

var _ firewall.Handle = (*Conn)(nil)

// Conn is nftables in one network namespace.
//
// It is not "lasting": every operation opens its own netlink socket inside
// that namespace, so concurrent reads never share a socket. Dumps also open
// their own sockets, using the namespace of the underlying nftables.Conn.
type Conn struct {
	nc      *nftables.Conn
	release func() error
}

// Open returns a Conn for the network namespace at netnsPath (for example
// /run/netns/NAME or /proc/PID/ns/net), or for the current one when netnsPath
// is empty. Close releases it.
func Open(netnsPath string) (*Conn, error) {
	if netnsPath == "" {
		c, err := nftables.New()
		if err != nil {
			return nil, err
		}
		return &Conn{nc: c}, nil
	}
	f, err := os.Open(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Conn{nc: c, release: f.Close}, nil
}

// Close releases the namespace Open opened.
func (c *Conn) Close() error {
	if c.release == nil {
		return nil
	}
	return c.release()
}
