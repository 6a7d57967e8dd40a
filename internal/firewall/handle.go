package firewall

import "context"

// Handle is the firewall of one machine (one network namespace): the posture's
// table in its kernel, and what else filters there. internal/firewall/nft
// implements it with nftables; a Host gives one out (see internal/host).
type Handle interface {
	// Apply creates the table for p, or replaces it whole, in one transaction.
	// It does not check who owns an existing table of that name: call Exists
	// before creating one.
	Apply(ctx context.Context, p Posture) error
	// Read reads the table back as a posture (normalized form), with drift:
	// one line per difference from what Apply writes. found is false when
	// there is no such table.
	Read(ctx context.Context, table string) (p *Posture, found bool, drift []string, err error)
	// Delete removes the table, and only it; a missing table is not an error.
	Delete(ctx context.Context, table string) error
	// Exists says whether the table exists and whether Apply wrote it.
	Exists(ctx context.Context, table string) (exists, ours bool, err error)
	// OtherFirewalls lists what else filters (or NATs) the machine's traffic,
	// besides the table ownTable (DefaultTable when empty).
	OtherFirewalls(ctx context.Context, ownTable string) ([]Finding, error)
	// Close releases the handle.
	Close() error
}
