// Package probe measures which source address a container really sees when a
// client connects to one of its published ports.
//
// A measurement ([Run]) starts a probe container on a Docker network from an
// image built on the host out of a static binary (no registry is contacted),
// connects to the published port from a simulated remote client (a network
// namespace behind a veth pair, see [NewRemoteClient]) or from the host itself,
// and compares the address the container reports with the client's own address
// and the network's gateways. The verdict is "preserved", "masqueraded",
// "refused" or "unreachable".
//
// [MeasureContainer] measures a running container instead, without touching
// it: no image, no exec, nothing written into it, no container started. From
// a simulated remote client with fresh addresses it connects to each published
// TCP port on each host address it is bound to, reads the peer address of the
// accepted connection inside the container's network namespace with netlink
// sock_diag (what the server's accept() returns), and resets the connection at
// once without sending data. Each row says how the connection arrived ("dnat",
// "proxy", "routed", "host" or "none") and names a front-proxy container whose
// address the container saw; the worst row decides the overall verdict.
//
// The probe container runs the same binary in server mode: every program whose
// binary may become the probe image must call [MaybeServe] first thing in main
// (and test binaries in TestMain).
//
// Everything a measurement creates carries a recognisable name or label
// (containers: label io.dockeripv6.probe=1 and name prefix dockeripv6-probe-;
// network namespaces: /run/netns/dockeripv6-probe-*; veth pairs: dip6h*) and is
// removed on every path; [Cleanup] removes the leftovers of interrupted runs
// (a veth whose alias does not name a probe's owner is left alone, whatever its
// name), and a probe container whose run was killed ends by itself after its
// lifetime (the measurement's timeout plus 30 s) and is removed by the daemon.
package probe
