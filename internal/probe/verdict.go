package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// exchangeResult is what happened on the wire.
type exchangeResult struct {
	dialErr   error      // the connection was not established
	connected bool       // TCP connected
	local     netip.Addr // local address of the established connection
	answer    string     // first line the server sent, trimmed
	readErr   error      // why no line arrived (answer == "")
}

// exchange connects to target with dial and reads one line, both bounded by ctx.
func exchange(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), target netip.AddrPort) exchangeResult {
	network := "tcp4"
	if target.Addr().Is6() {
		network = "tcp6"
	}
	c, err := dial(ctx, network, target.String())
	if err != nil {
		return exchangeResult{dialErr: err}
	}
	defer c.Close()
	r := exchangeResult{connected: true}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		r.local = ta.AddrPort().Addr().Unmap().WithZone("")
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if line = strings.TrimSpace(line); line != "" {
		r.answer = line
		return r
	}
	if err == nil {
		err = io.EOF
	}
	r.readErr = err
	return r
}

// measurement is everything classify needs.
type measurement struct {
	family   string // FamilyIPv6 | FamilyIPv4
	local    bool   // client on the host itself
	network  string
	client   netip.Addr
	target   netip.AddrPort
	gateways []string
	timeout  time.Duration
	exchange exchangeResult
}

type verdict struct {
	verdict, observed, detail string
	client                    netip.Addr // the client's address (the connection's own, once connected)
}

const (
	fixServeIPv6 = "a dockeripv6_network with an ipv6_subnet and dockeripv6_daemon_config with ip6tables = true (plus experimental = true on Docker older than 27)"
	fixRefuse    = "refuse IPv6 to the mail ports with a TCP reset (dockeripv6_firewall)"
)

// classify turns what happened into a verdict and a one-sentence detail. An
// error means the outcome says nothing about the posture (for example an
// answer that is not an address, from something else on the port).
func (m measurement) classify() (verdict, error) {
	ex := m.exchange
	fam := "IPv6"
	if m.family == FamilyIPv4 {
		fam = "IPv4"
	}
	client := m.client
	if ex.connected && ex.local.IsValid() {
		client = ex.local
	}
	from := fmt.Sprintf("from %s to %s", client, m.target)
	v, err := m.verdictFor(ex, client, fam, from)
	v.client = client
	return v, err
}

func (m measurement) verdictFor(ex exchangeResult, client netip.Addr, fam, from string) (verdict, error) {

	if ex.dialErr != nil {
		switch {
		case isRefused(ex.dialErr):
			return verdict{verdict: VerdictRefused, detail: m.refusedDetail(fmt.Sprintf("Connecting %s was refused (%s)", from, errText(ex.dialErr)))}, nil
		case isUnreachable(ex.dialErr):
			d := fmt.Sprintf("No TCP connection %s within %s (%s): packets are dropped or not routed, so clients hang until they time out instead of falling back", from, m.timeout, errText(ex.dialErr))
			if m.family == FamilyIPv6 {
				d += "; " + fixRefuse + " or serve it with " + fixServeIPv6 + "."
			} else {
				d += "; check the host firewall and that the port is published."
			}
			return verdict{verdict: VerdictUnreachable, detail: d}, nil
		default:
			return verdict{}, fmt.Errorf("connect %s: %w", from, ex.dialErr)
		}
	}

	if ex.answer == "" {
		switch {
		case isRefused(ex.readErr):
			return verdict{verdict: VerdictRefused, detail: m.refusedDetail(fmt.Sprintf("The connection %s was reset before any data (%s)", from, errText(ex.readErr)))}, nil
		case errors.Is(ex.readErr, io.EOF):
			d := fmt.Sprintf("TCP connected %s but the connection was closed without an answer, so something accepted it and could not reach the container (a proxy without a path to it)", from)
			return verdict{verdict: VerdictUnreachable, detail: d + m.unreachableFix()}, nil
		case isUnreachable(ex.readErr):
			d := fmt.Sprintf("TCP connected %s but nothing answered within %s, so something holds the port without relaying to the container (Docker 20.10 with userland-proxy off keeps such a listening reservation) and clients hang instead of falling back", from, m.timeout)
			return verdict{verdict: VerdictUnreachable, detail: d + m.unreachableFix()}, nil
		default:
			return verdict{}, fmt.Errorf("read the probe's answer %s: %w", from, ex.readErr)
		}
	}

	seen, ok := parseAddr(ex.answer)
	if !ok {
		return verdict{}, fmt.Errorf("unexpected answer %q %s: another service may hold the port", ex.answer, from)
	}
	v := verdict{observed: seen.String()}
	if seen == client.Unmap() {
		v.verdict = VerdictPreserved
		v.detail = fmt.Sprintf("The container saw the %s client %s as itself, so Fail2Ban, SPF and relay restrictions work on real client addresses.", fam, client)
		return v, nil
	}
	v.verdict = VerdictMasqueraded
	how := fmt.Sprintf("%s, which is neither the client nor a gateway of network %q (a proxy or NAT rule rewrites the source)", seen, m.network)
	if slices.Contains(m.gateways, seen.String()) {
		switch {
		case m.family == FamilyIPv6 && seen.Is4():
			how = fmt.Sprintf("%s, the gateway of network %q (docker-proxy relays IPv6 connections to the container's IPv4 address)", seen, m.network)
		case m.family == FamilyIPv6:
			how = fmt.Sprintf("%s, the gateway of network %q (docker-proxy relays the connection because ip6tables does not forward IPv6 to the container)", seen, m.network)
		default:
			how = fmt.Sprintf("%s, the gateway of network %q (docker-proxy or a MASQUERADE rule rewrites the source)", seen, m.network)
		}
	}
	var fix string
	if m.family == FamilyIPv6 {
		fix = "so Fail2Ban would ban every client at once, SPF checks fail and a server that trusts its own network becomes an open relay; fix it with " + fixServeIPv6 + ", or " + fixRefuse
	} else {
		fix = "so Fail2Ban, SPF and relay restrictions see that address instead of the client's; publish the port without the userland proxy (dockeripv6_daemon_config userland_proxy = false) and look for MASQUERADE rules on the IPv4 path"
	}
	if m.local {
		fix += "; connections from the host itself usually arrive this way, so measure with client = \"remote\" to see what outside clients get"
	}
	v.detail = fmt.Sprintf("The container saw the %s client %s as %s, %s.", fam, client, how, fix)
	return v, nil
}

func (m measurement) refusedDetail(what string) string {
	if m.family == FamilyIPv6 {
		return what + ", so IPv6 clients fall back to IPv4 at once and the container never sees IPv6 addresses, which is the deliberate \"refuse IPv6\" posture (dockeripv6_firewall, or dockeripv6_daemon_config userland_proxy = false); to serve IPv6 with real client addresses use " + fixServeIPv6 + "."
	}
	return what + ": nothing accepts IPv4 on the published port, so check that the port is published without a host IP and that no firewall rule (dockeripv6_firewall or another) rejects IPv4."
}

func (m measurement) unreachableFix() string {
	if m.family == FamilyIPv6 {
		return "; " + fixRefuse + " or give the container IPv6 with " + fixServeIPv6 + "."
	}
	return "; check the host firewall and that the port is published."
}

// isRefused: the network actively turned the connection down (RST, ICMP
// port unreachable, an administrative reject).
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

// isUnreachable: nothing came back in time, or there is no route.
func isUnreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.ETIMEDOUT)
}

// errText is the innermost error text ("connection refused", "i/o timeout").
func errText(err error) string {
	var se syscall.Errno
	if errors.As(err, &se) {
		return se.Error()
	}
	if isUnreachable(err) {
		return "timed out"
	}
	return err.Error()
}
