package sshhost

import (
	"errors"
	"fmt"
)

// Step names what the transport was doing when an error happened.
type Step string

// The steps, in the order a run goes through them.
const (
	StepConfig  Step = "config"   // the connection settings themselves
	StepDial    Step = "dial"     // TCP connection and SSH handshake
	StepHostKey Step = "host key" // host key verification
	StepAuth    Step = "auth"     // user authentication
	StepArch    Step = "arch"     // remote architecture and user, against the binary
	StepSudo    Step = "sudo"     // becoming root
	StepUpload  Step = "upload"   // checking and uploading the agent binary
	StepStart   Step = "start"    // starting the agent and waiting for its banner
	StepAgent   Step = "agent"    // talking to the running agent
)

// StepError is every error of this package: the host, the step and the cause.
type StepError struct {
	Host string // user@host:port
	Step Step
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("ssh %s: %s: %v", e.Host, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// ErrConnectionLost is wrapped by errors of a step that was cut short
// because the SSH connection went away (sshd killed, network gone, host
// rebooted).
var ErrConnectionLost = errors.New("SSH connection lost")

// StepOf returns the step of err, or "" if err is not from this package.
func StepOf(err error) Step {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// HostKeyError is a host key that did not verify. Nothing was sent to
// the host beyond the key exchange: no authentication, no command.
type HostKeyError struct {
	Address  string   // host:port as dialled
	Offered  string   // "ssh-ed25519 SHA256:..." the host presented, or its certificate
	Expected []string // the plain keys the configuration accepts ("ssh-ed25519 SHA256:... (known_hosts:3)")
	Unknown  bool     // the host is not in the known_hosts file(s) at all
	Revoked  bool     // the key, the certificate's key or its CA is marked @revoked
	// NoCertificate: only @cert-authority lines are for the host, and it
	// offered a plain key.
	NoCertificate bool
	// Certificate: the host offered a certificate that does not verify
	// (another CA, another principal, outside its validity).
	Certificate bool
	Reason      string // what is wrong, when it is not a plain mismatch or an unknown host
	Hint        string // what to do
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Reason != "":
		return fmt.Sprintf("%s offered %s, %s; refusing to connect, nothing was done on the host. %s", e.Address, e.Offered, e.Reason, e.Hint)
	case e.Unknown:
		return fmt.Sprintf("%s is unknown: it offered %s and no known_hosts entry matches the host. %s", e.Address, e.Offered, e.Hint)
	default:
		return fmt.Sprintf("HOST KEY MISMATCH: %s offered %s but the configuration expects %s; nothing was done on the host. %s",
			e.Address, e.Offered, joinOr(e.Expected), e.Hint)
	}
}

func joinOr(s []string) string {
	switch len(s) {
	case 0:
		return "(nothing)"
	case 1:
		return s[0]
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " or "
		}
		out += x
	}
	return out
}
