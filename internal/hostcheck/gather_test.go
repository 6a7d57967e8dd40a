package hostcheck

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

type fakeSource struct {
	calls      map[string]int
	systemdErr error
	daemonErr  error
	file       string
}

func (s *fakeSource) ReadConfig(string) ([]byte, bool, error) {
	s.calls["ReadConfig"]++
	return []byte(s.file), s.file != "", nil
}
func (s *fakeSource) Units(context.Context, string, ...string) ([]string, map[string]string, error) {
	s.calls["Units"]++
	if s.systemdErr != nil {
		return nil, nil, s.systemdErr
	}
	return []string{"-H", "fd://"}, map[string]string{"ufw.service": "active", "firewalld.service": "inactive"}, nil
}
func (s *fakeSource) Daemon(_ context.Context, flags []string) (Daemon, error) {
	s.calls["Daemon"]++
	if s.daemonErr != nil {
		return Daemon{}, s.daemonErr
	}
	v := daemonconfig.DockerVersion{Major: 20, Minor: 10, Patch: 24}
	return Daemon{Server: "20.10.24+dfsg1", API: "1.41", Info: system.Info{},
		Running: daemonconfig.RunningState{Version: v, Experimental: daemonconfig.Bool(false), AbsentMeansDefault: flags != nil}}, nil
}
func (s *fakeSource) DockerAPI(context.Context) (client.APIClient, error) {
	s.calls["DockerAPI"]++
	return nil, errors.New("no Docker API in this test")
}
func (s *fakeSource) OtherFirewalls(context.Context) ([]firewall.Finding, error) {
	s.calls["OtherFirewalls"]++
	return nil, nil
}

func TestGatherReadsEachOnceAndTellsGapsFromErrors(t *testing.T) {
	src := &fakeSource{calls: map[string]int{}, file: `{"experimental": true}`, systemdErr: errors.New("no bus")}
	f, err := Gather(context.Background(), src, "/etc/docker/daemon.json", "docker.service")
	// The Docker API is needed for networks: its failure is an error, after the daemon facts are in.
	if err == nil || !strings.Contains(err.Error(), "no Docker API") {
		t.Fatalf("err = %v", err)
	}
	for _, m := range []string{"Units", "Daemon", "ReadConfig", "DockerAPI"} {
		if src.calls[m] != 1 {
			t.Errorf("%s called %d times, want once", m, src.calls[m])
		}
	}
	if f.Version.Major != 20 || f.DockerVersion != "20.10.24+dfsg1" {
		t.Errorf("version facts: %+v %q", f.Version, f.DockerVersion)
	}
	if len(f.Gaps) != 1 || !strings.Contains(f.Gaps[0], "systemd: no bus") {
		t.Errorf("gaps = %q, want the systemd gap", f.Gaps)
	}
	if strings.Join(f.PendingKeys, ",") != daemonconfig.KeyExperimental {
		t.Errorf("pending keys = %v, want experimental (file true, daemon false)", f.PendingKeys)
	}
	// A daemon that cannot be read is an error, not a gap.
	src = &fakeSource{calls: map[string]int{}, daemonErr: errors.New("cannot reach the Docker daemon")}
	if _, err := Gather(context.Background(), src, "/etc/docker/daemon.json", "docker.service"); err == nil ||
		!strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("err = %v", err)
	}
}

func TestGatherPostureNeverFails(t *testing.T) {
	src := &fakeSource{calls: map[string]int{}}
	f := GatherPosture(context.Background(), src)
	for _, m := range []string{"Units", "OtherFirewalls", "DockerAPI"} {
		if src.calls[m] != 1 {
			t.Errorf("%s called %d times, want once", m, src.calls[m])
		}
	}
	if src.calls["Daemon"]+src.calls["ReadConfig"] != 0 {
		t.Errorf("the posture needs neither the daemon's state nor daemon.json: %v", src.calls)
	}
	if f.Units["ufw.service"] != "active" || len(f.OtherFirewalls) != 1 || f.OtherFirewalls[0].Name != "ufw.service" {
		t.Errorf("units %v, other firewalls %+v", f.Units, f.OtherFirewalls)
	}
	// Docker unreachable: a gap, no networks, so the Docker rules stay silent.
	if f.Networks != nil || len(f.Gaps) != 1 || !strings.Contains(f.Gaps[0], "Docker: no Docker API") {
		t.Errorf("networks %v, gaps %q", f.Networks, f.Gaps)
	}
	src = &fakeSource{calls: map[string]int{}, systemdErr: errors.New("no bus")}
	if f := GatherPosture(context.Background(), src); f.Units != nil || len(f.Gaps) != 2 {
		t.Errorf("systemd unreachable: units %v, gaps %q", f.Units, f.Gaps)
	}
}
