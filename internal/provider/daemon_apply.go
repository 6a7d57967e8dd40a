package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
)

type applyResult struct {
	pending bool
	version string
}

// writeAndRestart writes candidate over daemon.json (when it differs from original)
// and, with method systemd, restarts dockerd, waits for it and verifies that it runs
// with the new settings. On any failure after the write it puts original back,
// restarts again and reports what dockerd said, that the old file is back, and
// whether dockerd is up.
func (r *DaemonConfigResource) writeAndRestart(ctx context.Context, p string, original, candidate []byte,
	rs restartSettings, wasPending bool, diags *diag.Diagnostics) applyResult {
	changed := !bytes.Equal(original, candidate)
	_, statErr := os.Stat(p)
	existed := statErr == nil
	version, verr := r.daemonVersion(ctx)
	res := applyResult{}
	if version.Known() {
		res.version = version.String()
	}
	if !changed && !wasPending {
		tflog.Info(ctx, "daemon.json already holds the planned values; no write, no restart", map[string]any{"path": p})
		return res
	}
	fileSettings, err := daemonconfig.Parse(candidate)
	if err != nil {
		diags.AddError("Cannot Parse Merged daemon.json", err.Error())
		return res
	}
	if verr == nil {
		val := daemonconfig.Validator{}
		for _, d := range val.Validate(fileSettings, version) {
			if d.Severity == daemonconfig.SeverityError {
				diags.AddError(d.Summary, d.Detail+" (checked at apply against Docker "+version.String()+"; nothing was written)")
			}
		}
		if diags.HasError() {
			return res
		}
	}
	mgr, mgrErr := r.data.systemd(ctx)
	if changed {
		if verr == nil && version.AtLeast(23, 0) {
			r.validateCandidate(ctx, mgr, rs.Unit, version, candidate, diags)
			if diags.HasError() {
				return res
			}
		}
		backup, err := daemonconfig.WriteFile(p, candidate)
		if err != nil {
			diags.AddError("Cannot Write daemon.json", err.Error())
			return res
		}
		tflog.Info(ctx, "wrote daemon.json", map[string]any{"path": p, "backup": backup})
	}
	if rs.Method == "none" {
		res.pending = true
		return res
	}
	if mgrErr != nil {
		r.rollback(ctx, p, original, existed, changed, nil, rs, "systemd could not be reached: "+mgrErr.Error(), diags)
		return res
	}
	defer mgr.Close()

	start := time.Now()
	var downtime time.Duration // from asking systemd to the Docker API answering again
	failure := ""
	if result, err := mgr.Restart(ctx, rs.Unit, rs.Timeout); err != nil {
		failure = fmt.Sprintf("the restart job of %s ended with %q: %v", rs.Unit, result, err)
	} else {
		wctx, cancel := context.WithTimeout(ctx, rs.Timeout)
		err := r.data.Docker.WaitReady(wctx)
		cancel()
		downtime = time.Since(start)
		if err != nil {
			failure = fmt.Sprintf("%s restarted but the Docker API did not answer within %s: %v", rs.Unit, rs.Timeout, err)
		}
	}
	if failure == "" {
		obs, v, err := r.observe(ctx)
		if err != nil {
			failure = "the restarted daemon could not be inspected: " + err.Error()
		} else if keys := daemonconfig.PendingKeys(fileSettings, obs); len(keys) > 0 {
			failure = fmt.Sprintf("dockerd restarted but does not show the new value of %s", strings.Join(keys, ", "))
		} else {
			res.version = v
		}
	}
	tflog.Info(ctx, "dockerd restart finished", map[string]any{"unit": rs.Unit, "downtime_ms": downtime.Milliseconds(),
		"total_ms": time.Since(start).Milliseconds(), "failure": failure})
	if failure != "" {
		r.rollback(ctx, p, original, existed, changed, mgr, rs, failure, diags)
	}
	return res
}

// validateCandidate runs dockerd --validate (23.0+) with the unit's own flags.
func (r *DaemonConfigResource) validateCandidate(ctx context.Context, mgr systemdManager, unit string, v daemonconfig.DockerVersion, candidate []byte, diags *diag.Diagnostics) {
	bin, args := "", []string(nil)
	if mgr != nil {
		if b, argv, err := mgr.ExecStart(ctx, unit); err == nil {
			bin = b
			args = dropConfigFileFlag(argv)
		}
	}
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("dockerd"); err != nil {
			tflog.Warn(ctx, "no dockerd binary found for --validate", map[string]any{"error": err.Error()})
			return
		}
	}
	ok, out, err := daemonconfig.ValidateWithDockerdVersion(ctx, v, bin, args, candidate)
	if err != nil {
		tflog.Warn(ctx, "dockerd --validate could not run", map[string]any{"error": err.Error()})
		return
	}
	if !ok {
		diags.AddError("dockerd Refuses The New daemon.json",
			fmt.Sprintf("`%s --validate` rejected the merged file, so nothing was written: %s", bin, out))
	}
}

// dropConfigFileFlag returns argv without argv[0] and without --config-file.
func dropConfigFileFlag(argv []string) []string {
	var out []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--config-file" {
			i++
			continue
		}
		if strings.HasPrefix(a, "--config-file=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (r *DaemonConfigResource) rollback(ctx context.Context, p string, original []byte, existed, changed bool,
	mgr systemdManager, rs restartSettings, failure string, diags *diag.Diagnostics) {
	said := journalTail(ctx, rs.Unit)
	restoredMsg := "daemon.json was not changed"
	if changed {
		var err error
		if existed {
			_, err = daemonconfig.WriteFile(p, original)
		} else {
			err = os.Remove(p)
		}
		if err != nil {
			restoredMsg = fmt.Sprintf("putting the previous daemon.json back FAILED (%v); the backup is %s%s", err, p, daemonconfig.BackupSuffix)
		} else {
			restoredMsg = "the previous daemon.json is back in place"
		}
	}
	up := "dockerd could not be restarted (systemd unreachable)"
	if mgr != nil {
		rctx, cancel := context.WithTimeout(context.Background(), rs.Timeout+30*time.Second)
		defer cancel()
		if _, err := mgr.Restart(rctx, rs.Unit, rs.Timeout); err != nil {
			up = fmt.Sprintf("restarting %s with the previous file failed too (%v): dockerd is DOWN", rs.Unit, err)
		} else if err := r.data.Docker.WaitReady(rctx); err != nil {
			up = "dockerd was restarted with the previous file but its API does not answer: dockerd is DOWN"
		} else {
			up = "dockerd was restarted with it and is up"
		}
	}
	detail := fmt.Sprintf("Applying daemon.json failed: %s.\n\n%s, and %s.", failure, capitalize(restoredMsg), up)
	if said != "" {
		detail += "\n\ndockerd said:\n" + said
	}
	diags.AddError("Docker Daemon Did Not Come Back; Rolled Back", detail)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// journalTail is what the unit logged about its failure, from journalctl when it
// exists: the error lines among its last 80 (dockerd's info chatter left out), or
// its last 5 lines when none looks like an error.
func journalTail(ctx context.Context, unit string) string {
	bin, err := exec.LookPath("journalctl")
	if err != nil {
		return ""
	}
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(jctx, bin, "-u", unit, "-n", "80", "--no-pager", "-o", "cat").Output()
	if err != nil {
		return ""
	}
	return errorLines(strings.Split(strings.TrimSpace(string(out)), "\n"), 8, 5)
}

// errorLines keeps the last max lines that look like errors, or the last fallback lines.
func errorLines(lines []string, max, fallback int) string {
	var errs []string
	for _, l := range lines {
		low := strings.ToLower(l)
		if strings.Contains(low, "level=info") || strings.Contains(low, "level=debug") || strings.Contains(low, "level=warn") {
			continue
		}
		if strings.Contains(low, "error") || strings.Contains(low, "fail") || strings.Contains(low, "level=fatal") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = lines
		max = fallback
	}
	if len(errs) > max {
		errs = errs[len(errs)-max:]
	}
	return strings.Join(errs, "\n")
}

// observe gathers what the running dockerd shows of the owned settings (observeRunning).
func (r *DaemonConfigResource) observe(ctx context.Context) (daemonconfig.RunningState, string, error) {
	return observeRunning(ctx, r.data)
}

func hasOwnedFlag(argv []string) bool {
	for _, a := range argv {
		for _, f := range []string{"--ipv6", "--ip6tables", "--experimental", "--userland-proxy", "--live-restore", "--fixed-cidr-v6", "--default-address-pool"} {
			if a == f || strings.HasPrefix(a, f+"=") {
				return true
			}
		}
	}
	return false
}

// dockerIP6Chain tells whether Docker's DOCKER chain exists in the ip6 nat table of
// iptables-nft. nil when that cannot be told: no Docker chain in the IPv4 nat table
// either (iptables-legacy, or iptables off), or nftables unreadable.
func dockerIP6Chain() *bool {
	conn, err := nftables.New()
	if err != nil {
		return nil
	}
	defer conn.CloseLasting()
	chains, err := conn.ListChains()
	if err != nil {
		return nil
	}
	var v4, v6 bool
	for _, c := range chains {
		if c.Name != "DOCKER" || c.Table == nil || c.Table.Name != "nat" {
			continue
		}
		switch c.Table.Family {
		case nftables.TableFamilyIPv4:
			v4 = true
		case nftables.TableFamilyIPv6:
			v6 = true
		}
	}
	if !v4 {
		return nil
	}
	return &v6
}

func countProcesses(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.TrimSpace(string(b)) == comm {
			n++
		}
	}
	return n
}
