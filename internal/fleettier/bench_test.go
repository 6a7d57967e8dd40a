package fleettier

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fleet"
)

// BenchmarkFleet times examples/fleet (the mail posture and its verdicts)
// over SSH on 1 host and on 3: apply, plan (median of BENCH_RUNS, default 5;
// each plan re-measures both verdicts on every host) and destroy. It ends
// with one JSON line; make bench runs it (with -benchtime 1x) after the
// local figures and passes the local plan of the same posture as
// LOCAL_MAIL_PLAN_MS, to put beside it.
func BenchmarkFleet(b *testing.B) {
	runs := 5
	if s := os.Getenv("BENCH_RUNS"); s != "" {
		runs, _ = strconv.Atoi(s)
	}
	res := map[string]int64{"runs": int64(runs)}
	for i := 0; i < b.N; i++ {
		for _, n := range []int{1, 3} {
			w := fleetExample(b, theFleet.Hosts[:n], fleet.UserSudo, "always")
			if r := w.plan(); r.code != 2 { // uploads the agent where it is missing: not timed
				b.Fatalf("warm-up plan: %s", r)
			}
			r := w.apply()
			if r.code != 0 {
				b.Fatalf("%s", r)
			}
			res[fmt.Sprintf("apply_%d_hosts_ms", n)] = r.took.Milliseconds()
			var plans []time.Duration
			var cpu time.Duration
			for j := 0; j < runs; j++ {
				c0 := machineCPU(b)
				r := w.plan()
				cpu += machineCPU(b) - c0
				if r.code != 0 {
					b.Fatalf("want an empty plan: %s", r)
				}
				plans = append(plans, r.took)
			}
			res[fmt.Sprintf("plan_%d_hosts_ms", n)] = median(plans).Milliseconds()
			// Every host of the sandbox's fleet shares this machine's CPUs:
			// the plan cannot take less than its CPU time over their number.
			res[fmt.Sprintf("plan_%d_hosts_cpu_ms", n)] = (cpu / time.Duration(runs)).Milliseconds()
			r = w.destroy()
			if r.code != 0 {
				b.Fatalf("%s", r)
			}
			res[fmt.Sprintf("destroy_%d_hosts_ms", n)] = r.took.Milliseconds()
			fmt.Printf("examples/fleet on %d host(s) over SSH: apply %d ms, plan median %d ms of %d (CPU %d ms a plan, on %d cores), destroy %d ms\n",
				n, res[fmt.Sprintf("apply_%d_hosts_ms", n)], res[fmt.Sprintf("plan_%d_hosts_ms", n)], runs,
				res[fmt.Sprintf("plan_%d_hosts_cpu_ms", n)], runtime.NumCPU(), r.took.Milliseconds())
		}
	}
	p1, p3 := res["plan_1_hosts_ms"], res["plan_3_hosts_ms"]
	fmt.Printf("plan, 3 hosts / 1 host: %.2f (aim: at most 1.5); the 3-host plan's CPU time over %d cores is %d ms, its floor here\n",
		float64(p3)/float64(p1), runtime.NumCPU(), res["plan_3_hosts_cpu_ms"]/int64(runtime.NumCPU()))
	out := map[string]any{}
	for k, v := range res {
		out[k] = v
	}
	out["plan_3_over_1"] = float64(p3*100/p1) / 100
	out["cores"] = runtime.NumCPU()
	if s := os.Getenv("LOCAL_MAIL_PLAN_MS"); s != "" {
		local, _ := strconv.Atoi(s)
		out["local_mail_plan_ms"] = local
		out["ssh_plan_cost_per_host_ms"] = p1 - int64(local)
		fmt.Printf("plan, 1 host over SSH - the same posture planned locally (%d ms): %d ms (aim: under 300)\n", local, p1-int64(local))
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

// machineCPU is the CPU time the whole machine spent so far (/proc/stat:
// user, nice, system, irq, softirq), in every namespace.
func machineCPU(t testing.TB) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	var user, nice, system, idle, iowait, irq, softirq int64
	if _, err := fmt.Sscanf(string(b), "cpu %d %d %d %d %d %d %d", &user, &nice, &system, &idle, &iowait, &irq, &softirq); err != nil {
		t.Fatalf("/proc/stat: %v", err)
	}
	return time.Duration(user+nice+system+irq+softirq) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// fleetExample is a working directory with examples/fleet for hosts.
func fleetExample(t testing.TB, hs []*fleet.Host, user, sudo string) *workdir {
	t.Helper()
	w := newWorkdir(t)
	files, _ := filepath.Glob("../../examples/fleet/*.tf")
	if len(files) == 0 {
		t.Fatal("examples/fleet has no .tf files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w.write(filepath.Base(f), string(b))
	}
	hosts := map[string]any{}
	for _, h := range hs {
		hosts[h.Name] = map[string]any{"address": h.Addr.String(), "host_key": h.HostKey, "hostname": h.Name + ".fleet.test"}
	}
	w.writeJSON("terraform.tfvars.json", map[string]any{
		"mail_hosts": hosts, "ssh_user": user, "ssh_private_key_file": keyFile(t, user), "sudo": sudo})
	return w
}
