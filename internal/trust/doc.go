// Package trust reads what a mail container trusts, without exec and without
// writing anything: the addresses from which its mail server accepts mail for
// relay without authentication.
//
// Read looks at three things, each a Source of the resulting Set:
//
//   - docker-mailserver's PERMIT_DOCKER in the container's environment, as its
//     start-up script (target/scripts/startup/setup.d/networking.sh,
//     _setup_docker_permit) turns it into Postfix mynetworks: "none" or unset
//     adds nothing, "container" the container's IPv4 address /32, "host" the
//     first two octets of it .0.0/16, "network" 172.16.0.0/12, and
//     "connected-networks" the IPv4 subnet of each veth interface (bridge and
//     overlay networks). All IPv4: the version read (2026-08) adds no IPv6.
//   - Mailu's SUBNET, SUBNET6 and RELAYNETS, which its Postfix main.cf
//     template puts in mynetworks.
//   - Postfix's mynetworks in the container's own /etc/postfix/main.cf, read
//     through the container's root filesystem as the host sees it
//     (/proc/<pid>/root), or the list mynetworks_style makes from the
//     container's interfaces when mynetworks is not set (postconf(5)); and
//     the mynetworks of each inet service in master.cf that sets its own with
//     -o (loopback-only services left out). The Set says whether any of the
//     container's services trusts an address.
//
// Set.Contains answers true or false only when everything that decides the
// answer was read; an entry that cannot be judged here (a /file/name or
// type:table entry, a host name, a value that cannot be parsed, a file that
// cannot be read) makes the answer nil, never false.
package trust
