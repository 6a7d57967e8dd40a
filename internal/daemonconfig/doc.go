// Package daemonconfig is the domain logic of Docker's daemon.json for the
// dockeripv6_daemon_config resource, without Terraform: reading the owned keys
// (Parse), merging them into the file without losing anything else (Merge,
// Remove, Snapshot, Restore), checking them against the Docker version
// (Validate, ValidateChange, ParseVersion, ValidateWithDockerd), writing the file
// atomically with a backup under a lock (WriteFile, Lock), and telling whether
// the running daemon lags behind the file (RestartPending).
//
// # Owned keys
//
// ipv6, fixed-cidr-v6, ip6tables, experimental, userland-proxy,
// default-address-pools, live-restore (OwnedKeys). A nil field in Settings is
// not managed: its key is left exactly as it is.
//
// # How the file is read
//
// As dockerd 23+ reads it: a UTF-8 byte order mark is allowed, the content
// must be valid UTF-8 (UTF-16 is refused here), white space around the
// value is trimmed, an empty file is {}, and the value must be a JSON object
// (dockerd also takes a bare null; this package does not). Keys are compared
// after JSON unescaping ("ipv\u0036" is ipv6). An owned key that appears
// twice is refused, since dockerd silently uses the last one.
//
// # Edits are splices
//
// Merge, Remove and Restore locate members by byte offset and splice only the
// bytes that change; see Merge for the layout rules. github.com/tidwall/sjson
// (v1.2.9) was tried for this and not used: SetRawBytesOptions replaces an
// existing value byte-exactly, but it appends a new key as `,"key":value` at
// the start of the closing brace's line, with no indentation, and drops the
// bytes after the closing brace (the final newline or CRLF); with a duplicate
// key it edits the first one, while dockerd reads the last. Restore also needs
// the exact inverse of each append, which is simplest when both are splices here.
//
// # Docker versions
//
// See ParseVersion for the API-version fallback table and Validate for the
// rules: ip6tables needs Docker 20.10 and, before 27, experimental; ipv6 needs
// fixed-cidr-v6 before 28; experimental is not needed for ip6tables from 27
// (warning); pools that split into more than 2^20 subnets are refused before 27.
// `dockerd --validate` exists from 23.0.
//
// # The transaction
//
// Apply runs lock, merge, validate, write, restart, verify and, on a failure
// after the write, rollback, through a Host (the machine). Every call it makes
// of the Host has a bound derived from restart.timeout, and Apply as a whole
// one that holds without a deadline from its caller; Bounds documents the
// derivation. A dockerd that accepts requests and does not answer them is
// named request by request and never written for. Request.Check refuses a
// relative path and a restart timeout outside 1s to 1h before anything else.
//
// # Files beside daemon.json
//
// <target>.dockeripv6.bak holds the bytes before the last WriteFile: the last
// good file, since a rollback puts the previous bytes back with ReplaceFile,
// which leaves it alone. <target>.dockeripv6.lock is the flock file of Lock,
// holding who took it last (Holder). <target> is the file the kernel opens for
// daemon.json's path, every symlink followed (ResolvePath).
package daemonconfig
