package daemonconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrValidateUnsupported: the dockerd binary has no --validate (added in
// Docker 23.0), or its version cannot be told.
var ErrValidateUnsupported = errors.New("dockerd --validate is not available")

// DockerdVersion runs `<dockerdPath> --version` ("Docker version 20.10.24+dfsg1,
// build 5d6db84") and parses the version. A dockerd built with `go install`
// from the moby v2 module says "library-import": that is an error (unknown
// version), and the caller may use the running daemon's version instead.
func DockerdVersion(ctx context.Context, dockerdPath string) (DockerVersion, error) {
	out, err := exec.CommandContext(ctx, dockerdPath, "--version").CombinedOutput()
	if err != nil {
		return DockerVersion{}, fmt.Errorf("%s --version: %w: %s", dockerdPath, err, bytes.TrimSpace(out))
	}
	s := strings.TrimSpace(string(out))
	v, _, _ := strings.Cut(strings.TrimPrefix(s, "Docker version "), ",")
	dv, err := ParseVersion(v, "")
	if err != nil {
		return DockerVersion{}, fmt.Errorf("%s --version said %q: %w", dockerdPath, s, err)
	}
	return dv, nil
}

// ValidateWithDockerd checks candidate daemon.json bytes with the installed
// dockerd: `dockerd --validate --config-file <tmp> [extraArgs...]`. The version
// comes from `dockerd --version`; before 23.0, or when the binary does not
// tell its version, it returns an error wrapping ErrValidateUnsupported
// without running --validate (see ValidateWithDockerdVersion).
func ValidateWithDockerd(ctx context.Context, dockerdPath string, extraArgs []string, candidate []byte) (ok bool, output string, err error) {
	v, err := DockerdVersion(ctx, dockerdPath)
	if err != nil {
		return false, "", fmt.Errorf("%w: %v", ErrValidateUnsupported, err)
	}
	return ValidateWithDockerdVersion(ctx, v, dockerdPath, extraArgs, candidate)
}

// ValidateWithDockerdVersion is ValidateWithDockerd for a dockerd whose version
// the caller knows (for example from the running daemon's API version, when
// the binary reports "library-import").
//
// extraArgs are the daemon's command-line flags (from the unit's ExecStart,
// without --config-file), so that dockerd also reports a key given both as a
// flag and in the file. The candidate is written to daemon.json in a private
// temporary directory (0700), removed afterwards.
//
// ok is true when dockerd accepts the file. output is what dockerd printed
// (stdout and stderr, trimmed), with the temporary path replaced by
// "daemon.json"; when ok is false it says what is wrong. err is for failures
// to run the check at all (no --validate before 23.0, binary missing, ctx done).
func ValidateWithDockerdVersion(ctx context.Context, v DockerVersion, dockerdPath string, extraArgs []string, candidate []byte) (ok bool, output string, err error) {
	if !v.AtLeast(23, 0) {
		return false, "", fmt.Errorf("%w: dockerd %s is older than 23.0", ErrValidateUnsupported, v)
	}
	for _, a := range extraArgs {
		if a == "--validate" || a == "--config-file" || strings.HasPrefix(a, "--config-file=") {
			return false, "", fmt.Errorf("extra dockerd argument %q is not allowed here: ValidateWithDockerd sets it", a)
		}
	}
	dir, err := os.MkdirTemp("", "dockeripv6-validate-")
	if err != nil {
		return false, "", err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(file, candidate, 0o600); err != nil {
		return false, "", err
	}
	args := append([]string{"--validate", "--config-file", file}, extraArgs...)
	cmd := exec.CommandContext(ctx, dockerdPath, args...)
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	runErr := cmd.Run()
	output = strings.TrimSpace(strings.ReplaceAll(buf.String(), file, "daemon.json"))
	if ctx.Err() != nil {
		return false, output, fmt.Errorf("dockerd --validate: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
		return true, output, nil
	case errors.As(runErr, &exitErr) && exitErr.Exited() && strings.Contains(output, "unknown flag: --validate"):
		// A dockerd older than it said (or another binary): the check did not run.
		return false, output, fmt.Errorf("%w: %s: %s", ErrValidateUnsupported, dockerdPath, output)
	case errors.As(runErr, &exitErr) && exitErr.Exited():
		return false, output, nil
	default:
		return false, output, fmt.Errorf("running %s --validate: %w", dockerdPath, runErr)
	}
}
