// Package sshhost is the SSH transport to a remote mail host and the launcher
// of the provider's agent there. It knows nothing of Terraform or of the
// provider's Host interface: it dials (host keys always verified: plain keys, or
// host certificates of a trusted CA; @revoked keys never), checks the
// remote architecture against the binary to run, uploads that binary once
// (kept by content hash in a root-only directory whose every component is
// checked: root's, no symbolic link, not writable by group or others),
// starts it as root (directly or through `sudo -n`) from the very file it
// hashed (`/proc/self/fd/3 agent PATH`) and hands back the session's
// stdin/stdout as an io.ReadWriteCloser. The RPC spoken over that stream is
// another layer's business.
//
//	conn, err := sshhost.Dial(ctx, cfg)          // or pool.Get(ctx, cfg)
//	agent, err := conn.StartAgent(ctx, exe)      // exe: this binary (os.Executable)
//	... speak over agent (io.ReadWriteCloser) ...
//	agent.Close()                                // the remote process ends
//
// Every error is a *StepError naming the step it happened in (dial, host key,
// auth, arch, sudo, upload, start, agent), so a connection that drops in the
// middle of a run says what it was doing.
//
// What the host writes (its stderr, its answers) reaches an error only
// bounded and escaped (internal/safetext).
//
// The remote side is [ServeAgent]: the binary, run with the argument "agent",
// must call it (see its documentation). A lost connection does not kill it:
// what it is doing runs to its end, then it exits.
package sshhost
