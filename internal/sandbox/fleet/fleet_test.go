package fleet

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeRunHost()
	os.Exit(m.Run())
}

// TestFleet starts two hosts and checks what each has: sshd listening on its
// ULA address only, its own PID namespace, private /etc with the fleet users,
// nothing of them left after Close.
func TestFleet(t *testing.T) {
	f := New(t, 2)
	if len(f.Hosts) != 2 {
		t.Fatalf("%d hosts", len(f.Hosts))
	}
	for _, h := range f.Hosts {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr.String(), "22"), 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		banner := make([]byte, 8)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(banner); err != nil || !strings.HasPrefix(string(banner), "SSH-2.0") {
			t.Errorf("%s: banner %q %v", h.Name, banner, err)
		}
		c.Close()
		ps, err := h.Processes()
		if err != nil {
			t.Fatal(err)
		}
		var comms []string
		for _, p := range ps {
			comms = append(comms, p.Comm)
		}
		if !strings.Contains(strings.Join(comms, " "), "sshd") {
			t.Errorf("%s: processes %v, no sshd", h.Name, comms)
		}
		passwd, err := os.ReadFile(h.Path("/etc/passwd"))
		if err != nil || !strings.Contains(string(passwd), UserSudo+":x:64002") {
			t.Errorf("%s: /etc/passwd lacks %s (%v)", h.Name, UserSudo, err)
		}
		for _, ns := range []string{"net", "mnt", "pid", "uts"} {
			mine, _ := os.Readlink("/proc/self/ns/" + ns)
			its, err := os.Readlink("/proc/" + itoa(h.PID()) + "/ns/" + ns)
			if err != nil || its == mine {
				t.Errorf("%s: %s namespace %q is the workstation's (%v)", h.Name, ns, its, err)
			}
		}
	}
	// The machine's own /etc is untouched.
	if b, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(b), UserSudo) {
		t.Fatal("the fleet user is in the machine's /etc/passwd")
	}
	// sshd restarts after a kill.
	h := f.Hosts[0]
	if err := h.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	if err := h.StartSSHD(context.Background()); err != nil {
		t.Fatal(err)
	}
	pids := []int{f.Hosts[0].PID(), f.Hosts[1].PID()}
	link := f.Hosts[0].Link
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
			t.Errorf("PID 1 %d still there after Close", pid)
		}
	}
	// The kernel frees a network namespace (and its veths) asynchronously.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := net.InterfaceByName(link); err != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s still there 10s after Close", link)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
