package lockdown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// SelfTestArg is the os.Args[1] that makes the service binary run one
// self-test probe: main calls os.Exit(lockdown.SelfTestMain(os.Args[2:],
// os.Stdout)) when it sees it.
const SelfTestArg = "__selftest"

// probeTimeout bounds one probe child.
const probeTimeout = 20 * time.Second

// Expectation is what a probe must observe for the self-test to pass.
type Expectation string

// The expectations of §8.6.
const (
	// ExpectOK: the probe completed (allowed work still runs; the
	// environment is exactly WorkerEnv).
	ExpectOK Expectation = "ok"
	// ExpectSIGSYS: the kernel killed the probe (seccomp kill action).
	ExpectSIGSYS Expectation = "killed by SIGSYS"
	// ExpectEPERM: the call failed with EPERM.
	ExpectEPERM Expectation = "EPERM"
	// ExpectENOMEM: an allocation past RLIMIT_AS failed.
	ExpectENOMEM Expectation = "ENOMEM"
	// ExpectDenied: EACCES or EPERM (access checks outside seccomp).
	ExpectDenied Expectation = "EACCES or EPERM"
)

// ProbeResult is one probe's outcome as the parent saw it.
type ProbeResult struct {
	Probe  string      `json:"probe"`
	Want   Expectation `json:"want"`
	Got    string      `json:"got"`
	Passed bool        `json:"passed"`
}

// Report is the whole self-test.
type Report struct {
	Results []ProbeResult `json:"results"`
}

// Passed reports whether every probe behaved as specified.
func (r Report) Passed() bool {
	for _, p := range r.Results {
		if !p.Passed {
			return false
		}
	}
	return len(r.Results) > 0
}

// Failed lists the probes that did not behave as specified.
func (r Report) Failed() []ProbeResult {
	var out []ProbeResult
	for _, p := range r.Results {
		if !p.Passed {
			out = append(out, p)
		}
	}
	return out
}

// ErrSelfTestFailed is returned by SelfTest when an isolation layer did not
// hold; the service must not start (I7).
var ErrSelfTestFailed = errors.New("lockdown: isolation self-test failed")

// childReport is what a surviving probe child prints on stdout.
type childReport struct {
	Probe  string `json:"probe"`
	OK     bool   `json:"ok"`
	Errno  string `json:"errno,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// SelfTest runs every probe of §8.6 in its own child of exe (each kill
// probe ends its process) and decides pass or fail. exe must dispatch
// SelfTestArg to SelfTestMain; production passes /proc/self/exe. The error
// wraps ErrSelfTestFailed when a probe failed; the report says which.
func SelfTest(ctx context.Context, exe string) (Report, error) {
	var r Report
	for _, p := range probes() {
		r.Results = append(r.Results, runProbe(ctx, exe, p))
	}
	if !r.Passed() {
		names := make([]string, 0, len(r.Results))
		for _, f := range r.Failed() {
			names = append(names, fmt.Sprintf("%s (want %s, got %s)", f.Probe, f.Want, f.Got))
		}
		return r, fmt.Errorf("%w: %s", ErrSelfTestFailed, strings.Join(names, "; "))
	}
	return r, nil
}

// ProbeNames lists the probes SelfTest runs on this architecture, in order.
func ProbeNames() []string {
	ps := probes()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// RunProbe runs the named probe in a child of exe and judges it.
func RunProbe(ctx context.Context, exe, name string) (ProbeResult, error) {
	for _, p := range probes() {
		if p.name == name {
			return runProbe(ctx, exe, p), nil
		}
	}
	return ProbeResult{}, fmt.Errorf("lockdown: no probe %q", name)
}

func runProbe(ctx context.Context, exe string, p probe) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var stdout, stderr cappedBuffer
	cmd := Command(ctx, exe, 1, SelfTestArg, p.name)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	got := observe(p.name, cmd.ProcessState, err, stdout.Bytes(), stderr.Bytes())
	return ProbeResult{Probe: p.name, Want: p.want, Got: got, Passed: judge(p.want, got)}
}

// observe describes what happened to a probe child.
func observe(name string, ps *os.ProcessState, runErr error, stdout, stderr []byte) string {
	if ps == nil {
		return "not started: " + runErr.Error()
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + sigName(ws.Signal())
	}
	var rep childReport
	if err := json.Unmarshal(bytes.TrimSpace(stdout), &rep); err != nil || rep.Probe != name {
		first, _, _ := strings.Cut(strings.TrimSpace(string(stderr)), "\n")
		if len(first) > 200 {
			first = first[:200]
		}
		return fmt.Sprintf("exit status %d without a report (stderr: %q)", ps.ExitCode(), first)
	}
	switch {
	case rep.OK:
		return "ok"
	case rep.Errno != "":
		return rep.Errno
	}
	return "failed: " + rep.Detail
}

func judge(want Expectation, got string) bool {
	if want == ExpectDenied {
		return got == "EACCES" || got == "EPERM"
	}
	return got == string(want)
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGSYS {
		return "SIGSYS"
	}
	return s.String()
}

// cappedBuffer keeps the first 64 KiB written to it.
type cappedBuffer struct{ b bytes.Buffer }

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) Bytes() []byte { return c.b.Bytes() }

// SelfTestMain is the child side of SelfTest: args[0] names the probe. It
// checks the environment, locks the process down as a worker running a job
// (except for the probes that test what precedes lockdown), runs the probe,
// prints a one-line JSON report on stdout if it survives, and returns the
// exit code.
func SelfTestMain(args []string, stdout io.Writer) int {
	if len(args) != 1 {
		return 2
	}
	var p probe
	for _, q := range probes() {
		if q.name == args[0] {
			p = q
		}
	}
	if p.run == nil {
		return 2
	}
	rep := childReport{Probe: p.name}
	switch err := CheckEnv(os.Environ()); {
	case err != nil:
		rep.Detail = err.Error()
	case p.beforeLockdown:
		rep = p.run()
	default:
		if err := lockForProbe(); err != nil {
			rep.Detail = err.Error()
			break
		}
		rep = p.run()
	}
	rep.Probe = p.name
	b, err := json.Marshal(rep)
	if err != nil {
		return 2
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		return 2
	}
	if rep.OK || rep.Errno != "" {
		return 0
	}
	return 1
}

// lockForProbe locks down exactly as a worker that received a job.
func lockForProbe() error {
	w, err := Lock(Limits{MaxMemoryMB: selfTestMaxMemoryMB})
	if err != nil {
		return err
	}
	return w.TightenForJob(JobLimits{MemoryMB: selfTestJobMemoryMB, Timeout: 10 * time.Second, Procs: 1})
}

// Probe child memory: the job limit the alloc probe must not pass.
const (
	selfTestMaxMemoryMB = 512
	selfTestJobMemoryMB = 256
)

// errnoReport turns a probe call's error into a report.
func errnoReport(err error, what string) childReport {
	if err == nil {
		return childReport{OK: true, Detail: what + " succeeded"}
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return childReport{Errno: errnoName(e), Detail: what}
	}
	return childReport{Detail: what + ": " + err.Error()}
}
