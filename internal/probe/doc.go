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
// The probe container runs the same binary in server mode: every program whose
// binary may become the probe image must call [MaybeServe] first thing in main
// (and test binaries in TestMain).
//
// Everything a measurement creates carries a recognisable name or label
// (containers: label io.dockeripv6.probe=1 and name prefix dockeripv6-probe-;
// network namespaces: /run/netns/dockeripv6-probe-*; veth pairs: dip6h*) and is
// removed on every path; [Cleanup] removes the leftovers of interrupted runs.
package probe
