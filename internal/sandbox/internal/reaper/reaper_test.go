package reaper

import (
	"os/exec"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		in    string
		state byte
		ppid  int
		ok    bool
	}{
		{"42 (sleep) Z 1 42 42 0", 'Z', 1, true},
		{"7 (a) b) c) S 3 7 7", 'S', 3, true},
		{"9 (x", 0, 0, false},
	} {
		s, p, ok := parseStat([]byte(tc.in))
		if s != tc.state || p != tc.ppid || ok != tc.ok {
			t.Errorf("parseStat(%q) = %c %d %v", tc.in, s, p, ok)
		}
	}
}

// A tracked child's status stays for Wait even when the reaper runs.
func TestTrackedChildIsLeftToWait(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 7")
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		ReapOrphans()
	}
	err := Wait(cmd)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("Wait: %v, state %v", err, cmd.ProcessState)
	}
}
