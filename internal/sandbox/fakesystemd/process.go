package fakesystemd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd/unitenv"
)

// ProcessConfig describes a service run as one main process, like a systemd
// unit with Type=notify, KillMode=process and no Restart=.
type ProcessConfig struct {
	Unit        string   // e.g. "docker.service", used in log lines
	Description string   // unit Description
	Path        string   // executable
	Args        []string // arguments after argv[0], before $VAR expansion
	Env         []string // full environment of the process
	// UnitEnvironment ("KEY=VALUE") and EnvironmentFiles are the unit's
	// Environment= and EnvironmentFile= settings: served as properties, and
	// used as systemd does to expand $VAR and ${VAR} in Args at each start
	// (a required file that cannot be read fails the start, result
	// "resources"). They are not added to Env.
	UnitEnvironment  []string
	EnvironmentFiles []systemd.EnvironmentFile
	// NoEnvExpand is ExecStart's ":" prefix: Args are used as they are.
	NoEnvExpand bool
	// LogPath receives the process's stdout and stderr (opened for append)
	// plus systemd-style lines about the unit ("Started ...", "Main process
	// exited ..."), like the journal would show for `journalctl -u UNIT -o cat`.
	LogPath string
	// Ready blocks until the service is ready or ctx is done; the start job
	// is done when it returns nil. It is the stand-in for sd_notify(READY=1).
	Ready func(ctx context.Context) error
	// StartTimeout bounds start-up (TimeoutStartSec); default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long SIGTERM may take before SIGKILL
	// (TimeoutStopSec); default 30s.
	StopTimeout time.Duration
	// StartProcess and WaitProcess start and wait for the process; they
	// default to cmd.Start and cmd.Wait. The sandbox passes its reaper's.
	StartProcess func(*exec.Cmd) error
	WaitProcess  func(*exec.Cmd) error
	// OnChange, if set, is called (without locks held) after every state change.
	OnChange func(Status)
}

// ProcessService runs ProcessConfig's process as a Service.
type ProcessService struct {
	cfg ProcessConfig

	mu       sync.Mutex
	st       Status
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current process has been waited for
	stopping bool          // an intentional stop is in progress
}

var _ Service = (*ProcessService)(nil)

// NewProcessService returns an inactive service.
func NewProcessService(cfg ProcessConfig) *ProcessService {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.StartProcess == nil {
		cfg.StartProcess = (*exec.Cmd).Start
	}
	if cfg.WaitProcess == nil {
		cfg.WaitProcess = (*exec.Cmd).Wait
	}
	s := &ProcessService{cfg: cfg}
	s.st = Status{
		Description:   cfg.Description,
		LoadState:     LoadLoaded,
		ActiveState:   StateInactive,
		SubState:      "dead",
		Type:          "notify",
		Result:        "success",
		InactiveEnter: Now(),
		ExecStart: []ExecCommand{{
			Path: cfg.Path,
			Argv: append([]string{cfg.Path}, cfg.Args...),
		}},
		Environment:      cfg.UnitEnvironment,
		EnvironmentFiles: cfg.EnvironmentFiles,
	}
	if cfg.NoEnvExpand {
		s.st.ExecFlags = []string{systemd.FlagNoEnvExpand}
	}
	s.st.StateChange = s.st.InactiveEnter
	return s
}

// SetStartTimeout changes StartTimeout for later starts.
func (s *ProcessService) SetStartTimeout(d time.Duration) {
	s.mu.Lock()
	s.cfg.StartTimeout = d
	s.mu.Unlock()
}

// Status returns a snapshot of the unit's state.
func (s *ProcessService) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *ProcessService) snapshot() Status {
	st := s.st
	st.ExecStart = append([]ExecCommand(nil), s.st.ExecStart...)
	for i := range st.ExecStart {
		st.ExecStart[i].Argv = append([]string(nil), s.st.ExecStart[i].Argv...)
	}
	return st
}

// setState changes ActiveState/SubState and the matching timestamps; the
// caller holds s.mu and calls s.changed() after unlocking.
func (s *ProcessService) setState(active, sub string) {
	now := Now()
	old := s.st.ActiveState
	if old != active {
		switch active {
		case StateActive:
			s.st.ActiveEnter = now
		case StateInactive, StateFailed:
			s.st.InactiveEnter = now
		}
		switch old {
		case StateActive:
			s.st.ActiveExit = now
		case StateInactive, StateFailed:
			s.st.InactiveExit = now
		}
	}
	s.st.ActiveState, s.st.SubState, s.st.StateChange = active, sub, now
}

func (s *ProcessService) changed() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(s.Status())
	}
}

// logf appends a systemd-style line to the unit's log.
func (s *ProcessService) logf(format string, args ...any) {
	if s.cfg.LogPath == "" {
		return
	}
	f, err := os.OpenFile(s.cfg.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format+"\n", args...)
}

// Start starts the process and waits until Ready passes (nil), the process
// exits, StartTimeout passes or ctx is done (errors; the unit is then failed).
// Starting an active unit does nothing.
func (s *ProcessService) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return nil
	}
	s.setState(StateActivating, "start")
	s.st.Result = "success"
	s.mu.Unlock()
	s.changed()
	s.logf("Starting %s - %s...", s.cfg.Unit, s.cfg.Description)

	var out io.WriteCloser
	if s.cfg.LogPath != "" {
		f, err := os.OpenFile(s.cfg.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return s.failStart("resources", fmt.Errorf("open log: %w", err))
		}
		out = f
	}
	args, err := s.expandedArgs()
	if err != nil {
		if out != nil {
			out.Close()
		}
		return s.failStart("resources", err)
	}
	cmd := exec.Command(s.cfg.Path, args...)
	cmd.Env = s.cfg.Env
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group: a terminal's Ctrl-C must not reach the daemon.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = s.cfg.StartProcess(cmd)
	if out != nil {
		out.Close() // the child has its own descriptor
	}
	if err != nil {
		return s.failStart("resources", fmt.Errorf("start %s: %w", s.cfg.Path, err))
	}

	exited := make(chan struct{})
	start := Now()
	pid := uint32(cmd.Process.Pid)
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.st.MainPID, s.st.ExecMainPID = pid, pid
	s.st.ExecMainStart, s.st.ExecMainExit = start, Timestamp{}
	s.st.ExecMainCode, s.st.ExecMainStatus = 0, 0
	s.st.ExecStart[0].StartTimestamp, s.st.ExecStart[0].StartTimestampMonotonic = start.Realtime, start.Monotonic
	s.st.ExecStart[0].ExitTimestamp, s.st.ExecStart[0].ExitTimestampMonotonic = 0, 0
	s.st.ExecStart[0].PID, s.st.ExecStart[0].Code, s.st.ExecStart[0].Status = pid, 0, 0
	s.mu.Unlock()
	s.changed()
	go s.wait(cmd, exited)

	s.mu.Lock()
	timeout := s.cfg.StartTimeout
	s.mu.Unlock()
	readyCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- s.cfg.Ready(readyCtx) }()

	select {
	case err := <-ready:
		if err == nil {
			s.mu.Lock()
			if s.cmd == cmd { // still our process
				s.setState(StateActive, "running")
				s.mu.Unlock()
				s.changed()
				s.logf("Started %s - %s.", s.cfg.Unit, s.cfg.Description)
				return nil
			}
			s.mu.Unlock()
			<-exited
			return s.exitError()
		}
		select {
		case <-exited: // ready failed because the process went away
			return s.exitError()
		default:
		}
		result := "timeout"
		if ctx.Err() != nil {
			result = "canceled"
		}
		s.logf("%s: start operation timed out. Terminating.", s.cfg.Unit)
		s.mu.Lock()
		s.stopping = true // failStart below records the outcome
		s.mu.Unlock()
		s.terminate(cmd, exited)
		s.mu.Lock()
		s.stopping = false
		s.mu.Unlock()
		return s.failStart(result, fmt.Errorf("%s did not become ready within %s: %w", s.cfg.Unit, timeout, err))
	case <-exited:
		cancel()
		return s.exitError()
	}
}

// exitError reports a process that exited during start-up (s.wait already
// set the unit failed).
func (s *ProcessService) exitError() error {
	st := s.Status()
	s.logf("Failed to start %s - %s.", s.cfg.Unit, s.cfg.Description)
	return fmt.Errorf("%s: main process exited during start-up, %s", s.cfg.Unit, describeExit(st.ExecMainCode, st.ExecMainStatus))
}

func (s *ProcessService) failStart(result string, err error) error {
	s.mu.Lock()
	s.st.Result = result
	s.setState(StateFailed, "failed")
	s.mu.Unlock()
	s.changed()
	s.logf("%s: Failed with result '%s'.", s.cfg.Unit, result)
	s.logf("Failed to start %s - %s.", s.cfg.Unit, s.cfg.Description)
	return err
}

// wait reaps the process and records how it ended.
func (s *ProcessService) wait(cmd *exec.Cmd, exited chan struct{}) {
	_ = s.cfg.WaitProcess(cmd)
	code, status := exitCodeStatus(cmd.ProcessState)
	end := Now()

	s.mu.Lock()
	s.cmd = nil
	s.st.MainPID = 0
	s.st.ExecMainExit = end
	s.st.ExecMainCode, s.st.ExecMainStatus = code, status
	s.st.ExecStart[0].ExitTimestamp, s.st.ExecStart[0].ExitTimestampMonotonic = end.Realtime, end.Monotonic
	s.st.ExecStart[0].Code, s.st.ExecStart[0].Status = code, status
	stopping := s.stopping
	if !stopping {
		// Unexpected exit (during start-up or while running): like systemd
		// without Restart=, a clean exit is inactive, anything else failed.
		if code == CLDExited && status == 0 && s.st.ActiveState == StateActive {
			s.setState(StateInactive, "dead")
		} else {
			s.st.Result = resultFor(code)
			s.setState(StateFailed, "failed")
		}
	}
	s.mu.Unlock()
	close(exited)

	s.logf("%s: Main process exited, code=%s, status=%s", s.cfg.Unit, codeName(code), statusName(code, status))
	if !stopping {
		st := s.Status()
		if st.ActiveState == StateFailed {
			s.logf("%s: Failed with result '%s'.", s.cfg.Unit, st.Result)
		}
		s.changed()
	}
}

// Stop sends SIGTERM to the main process, SIGKILL after StopTimeout, and waits
// for it. Stopping a unit that runs nothing does nothing.
func (s *ProcessService) Stop(ctx context.Context) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	if cmd == nil {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	s.setState(StateDeactivating, "stop-sigterm")
	s.mu.Unlock()
	s.changed()
	s.logf("Stopping %s - %s...", s.cfg.Unit, s.cfg.Description)

	killed := s.terminate(cmd, exited)

	s.mu.Lock()
	s.stopping = false
	if killed {
		s.st.Result = "timeout"
		s.setState(StateFailed, "failed")
	} else {
		s.setState(StateInactive, "dead")
	}
	s.mu.Unlock()
	s.changed()
	if killed {
		s.logf("%s: Failed with result 'timeout'.", s.cfg.Unit)
	}
	s.logf("Stopped %s - %s.", s.cfg.Unit, s.cfg.Description)
	return nil
}

// terminate sends SIGTERM, then SIGKILL after StopTimeout, and waits for
// the process to be reaped. It reports whether SIGKILL was needed.
func (s *ProcessService) terminate(cmd *exec.Cmd, exited chan struct{}) bool {
	_ = cmd.Process.Signal(unix.SIGTERM)
	t := time.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-exited:
		return false
	case <-t.C:
	}
	s.logf("%s: State 'stop-sigterm' timed out. Killing.", s.cfg.Unit)
	_ = cmd.Process.Signal(unix.SIGKILL)
	<-exited
	return true
}

// Reload sends SIGHUP to the main process (docker.service's ExecReload).
func (s *ProcessService) Reload(ctx context.Context) error {
	s.mu.Lock()
	cmd, active := s.cmd, s.st.ActiveState == StateActive
	s.mu.Unlock()
	if cmd == nil || !active {
		return errors.New(s.cfg.Unit + " is not active, cannot reload")
	}
	s.logf("Reloading %s - %s...", s.cfg.Unit, s.cfg.Description)
	if err := cmd.Process.Signal(unix.SIGHUP); err != nil {
		return err
	}
	s.logf("Reloaded %s - %s.", s.cfg.Unit, s.cfg.Description)
	return nil
}

// Kill sends sig to the main process.
func (s *ProcessService) Kill(sig unix.Signal) error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return errors.New(s.cfg.Unit + " has no main process")
	}
	return cmd.Process.Signal(sig)
}

func exitCodeStatus(ps *os.ProcessState) (code, status int32) {
	if ps == nil {
		return CLDKilled, int32(unix.SIGKILL)
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return CLDExited, int32(ps.ExitCode())
	}
	switch {
	case ws.Exited():
		return CLDExited, int32(ws.ExitStatus())
	case ws.Signaled() && ws.CoreDump():
		return CLDDumped, int32(ws.Signal())
	case ws.Signaled():
		return CLDKilled, int32(ws.Signal())
	}
	return CLDExited, int32(ps.ExitCode())
}

func resultFor(code int32) string {
	switch code {
	case CLDKilled:
		return "signal"
	case CLDDumped:
		return "core-dump"
	}
	return "exit-code"
}

func codeName(code int32) string {
	switch code {
	case CLDExited:
		return "exited"
	case CLDKilled:
		return "killed"
	case CLDDumped:
		return "dumped"
	}
	return fmt.Sprint(code)
}

func statusName(code, status int32) string {
	if code == CLDExited {
		switch status {
		case 0:
			return "0/SUCCESS"
		case 1:
			return "1/FAILURE"
		}
		return fmt.Sprint(status)
	}
	return fmt.Sprintf("%d/%s", status, unix.SignalName(unix.Signal(status)))
}

func describeExit(code, status int32) string {
	return fmt.Sprintf("code=%s, status=%s", codeName(code), statusName(code, status))
}

// expandedArgs are Args with $VAR and ${VAR} expanded from the unit's
// environment settings, as systemd does.
func (s *ProcessService) expandedArgs() ([]string, error) {
	if s.cfg.NoEnvExpand {
		return s.cfg.Args, nil
	}
	files := make([]unitenv.File, len(s.cfg.EnvironmentFiles))
	for i, f := range s.cfg.EnvironmentFiles {
		files[i] = unitenv.File{Path: f.Path, Optional: f.IgnoreErrors}
	}
	env, err := unitenv.Environment(s.cfg.UnitEnvironment, files, os.ReadFile)
	if err != nil {
		return nil, fmt.Errorf("failed to load environment files: %w", err)
	}
	argv, err := unitenv.Expand(append([]string{s.cfg.Path}, s.cfg.Args...), env)
	if err != nil {
		return nil, err
	}
	return argv[1:], nil
}
