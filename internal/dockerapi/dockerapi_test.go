package dockerapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// An address the provider cannot use says what is supported, wherever it came
// from, before anything is dialled (no DNS error for ssh://).
func TestUnsupportedHosts(t *testing.T) {
	for host, want := range map[string]string{
		"ssh://mail@198.18.0.25":         `"ssh://mail@198.18.0.25": docker_host does not take ssh:// addresses. For a mail host reached over SSH, list it in the provider's hosts`,
		"npipe:////./pipe/docker_engine": `the provider cannot use npipe:// addresses`,
		"/run/docker.sock":               `"/run/docker.sock" has no scheme: write unix:///run/docker.sock for a socket`,
		"unix://run/docker.sock":         `names no socket path: write it as unix:///run/docker.sock`,
		"tcp://":                         `names no host: write it as tcp://127.0.0.1:2375`,
	} {
		t.Setenv("DOCKER_HOST", host)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := New("").API(ctx)
		cancel()
		var he *HostError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), "cannot use the Docker daemon address from DOCKER_HOST: ") ||
			!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), SupportedHosts) {
			t.Errorf("DOCKER_HOST=%s: got %v, want a HostError containing %q and what is supported", host, err, want)
		}
	}
	for _, ok := range []string{"unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://[fd7e:3c1a:95d2::1]:2375"} {
		if err := CheckHost(ok); err != nil {
			t.Errorf("CheckHost(%s): %v", ok, err)
		}
	}
}

// The Docker client's own error ends in "Is the docker daemon running?"; the
// message around it must not add a full stop after the question mark.
func TestUnreachableErrorPunctuation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := New("unix:///run/no-such-docker.sock").API(ctx)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want an UnreachableError", err)
	}
	msg := err.Error()
	for _, bad := range []string{"?.", "..", ". ."} {
		if strings.Contains(msg, bad) {
			t.Errorf("%q in %q", bad, msg)
		}
	}
	e := &UnreachableError{Host: "unix:///run/docker.sock", Err: errors.New("Cannot connect to the Docker daemon at unix:///run/docker.sock. Is the docker daemon running?")}
	if want := "Is the docker daemon running? Check that dockerd is running"; !strings.Contains(e.Error(), want) {
		t.Errorf("got %q, want it to contain %q", e.Error(), want)
	}
	e.Err = errors.New("dial unix /run/docker.sock: connect: no such file or directory")
	if want := "no such file or directory. Check that dockerd"; !strings.Contains(e.Error(), want) {
		t.Errorf("got %q, want it to contain %q", e.Error(), want)
	}
}
