package lockdown

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// CrashClass is the class label of mcpbox_sandbox_worker_crashes_total.
type CrashClass string

// The crash classes of sandbox.md §10 and §15.1.
const (
	ClassNone           CrashClass = "" // not a crash (result received, cancelled)
	ClassOOM            CrashClass = "oom"
	ClassStackOverflow  CrashClass = "stack_overflow"
	ClassGoroutinePanic CrashClass = "goroutine_panic"
	ClassCPU            CrashClass = "cpu"
	ClassSeccomp        CrashClass = "seccomp"
	ClassTimeout        CrashClass = "timeout"
	ClassThreads        CrashClass = "threads"
	ClassIPCViolation   CrashClass = "ipc_violation"
	ClassOther          CrashClass = "other"
)

// CrashClasses lists every class label, for initialising the metric at zero.
func CrashClasses() []CrashClass {
	return []CrashClass{
		ClassOOM, ClassStackOverflow, ClassGoroutinePanic, ClassCPU, ClassSeccomp,
		ClassTimeout, ClassThreads, ClassIPCViolation, ClassOther,
	}
}

// Exit is how a worker process ended.
type Exit struct {
	Exited   bool // exited normally, with ExitCode
	ExitCode int
	Signaled bool // killed by Signal
	Signal   syscall.Signal
	// CPUTime is user + system time from the wait rusage.
	CPUTime time.Duration
}

// ExitOf reads an Exit from a finished process (nil: not finished).
func ExitOf(ps *os.ProcessState) Exit {
	if ps == nil {
		return Exit{}
	}
	e := Exit{CPUTime: ps.UserTime() + ps.SystemTime()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			e.Signaled, e.Signal = true, ws.Signal()
		case ws.Exited():
			e.Exited, e.ExitCode = true, ws.ExitStatus()
		}
	}
	return e
}

// Observation is everything the parent saw of one execution (I5: only the
// parent's own observations count).
type Observation struct {
	// Cancelled: the caller went away.
	Cancelled bool
	// DeadlinePassed: timeout_ms + 500 ms passed before a result.
	DeadlinePassed bool
	// IPCViolation: any ipc error matching ipc.ErrViolation;
	// OversizeFrame when it matched ipc.ErrFrameTooLarge.
	IPCViolation  bool
	OversizeFrame bool
	// WatchdogKilled: the parent's RSS watchdog killed the worker.
	WatchdogKilled bool
	// ResultReceived: a valid result frame arrived; its content decides.
	ResultReceived bool
	// KilledByParent: the parent sent the SIGKILL that ended the worker.
	KilledByParent bool
	// Exit is how the process ended.
	Exit Exit
	// CPUSoftLimit is the job's RLIMIT_CPU soft value.
	CPUSoftLimit time.Duration
	// Stderr is the (already redacted) tail of the worker's stderr.
	Stderr []byte
}

// Outcome is the classification of sandbox.md §10.
type Outcome struct {
	// Cancelled: no response body is sent (row 1).
	Cancelled bool
	// FromResult: the result frame decides ok or the error (row 5).
	FromResult bool
	// ErrorType and Message describe the failure otherwise.
	ErrorType proto.SandboxErrorType
	Message   string
	// Class is the crash class, ClassNone when nothing crashed.
	Class CrashClass
}

// Classify applies the table of §10: first match wins.
func Classify(o Observation) Outcome {
	x := o.Exit
	killed := x.Signaled && x.Signal == syscall.SIGKILL
	switch {
	case o.Cancelled:
		return Outcome{Cancelled: true}
	case o.DeadlinePassed:
		return crash(proto.ErrTypeTimeout, ClassTimeout, "the execution did not finish within its timeout")
	case o.IPCViolation && o.OversizeFrame:
		return crash(proto.ErrTypeOutputLimitExceeded, ClassIPCViolation, "the worker sent a message over the size limit")
	case o.IPCViolation:
		return crash(proto.ErrTypeWorkerCrashed, ClassIPCViolation, "the worker broke the IPC protocol and was stopped")
	case o.WatchdogKilled:
		return crash(proto.ErrTypeMemoryLimitExceeded, ClassOOM, "the execution used more memory than memory_mb")
	case o.ResultReceived:
		return Outcome{FromResult: true}
	case x.Signaled && x.Signal == syscall.SIGSYS:
		return crash(proto.ErrTypeSecurityViolation, ClassSeccomp, "the code attempted a forbidden system call and was stopped")
	case x.Signaled && x.Signal == syscall.SIGXCPU,
		killed && o.CPUSoftLimit > 0 && x.CPUTime >= o.CPUSoftLimit:
		return crash(proto.ErrTypeCPULimitExceeded, ClassCPU, "the execution used more CPU time than allowed")
	case killed && !o.KilledByParent:
		return crash(proto.ErrTypeMemoryLimitExceeded, ClassOOM, "the worker was killed by the out-of-memory killer")
	}
	return classifyStderr(o.Stderr, x)
}

func crash(t proto.SandboxErrorType, c CrashClass, msg string) Outcome {
	return Outcome{ErrorType: t, Class: c, Message: msg}
}

// classifyStderr is rows 9–14: the runtime's own crash report.
func classifyStderr(stderr []byte, x Exit) Outcome {
	s := string(stderr)
	switch {
	case strings.Contains(s, "out of memory"):
		return crash(proto.ErrTypeMemoryLimitExceeded, ClassOOM, "the execution ran out of memory")
	case strings.Contains(s, "stack overflow"), strings.Contains(s, "goroutine stack exceeds"):
		return crash(proto.ErrTypeStackOverflow, ClassStackOverflow, "the stack grew past its limit (unbounded recursion?)")
	case strings.Contains(s, "thread exhaustion"), threadLimit(s):
		return crash(proto.ErrTypeThreadLimitExceeded, ClassThreads, "the execution needed too many OS threads")
	case strings.Contains(s, "fatal error: concurrent map"):
		return crash(proto.ErrTypePanic, ClassGoroutinePanic, firstLine(s, "fatal error: concurrent map"))
	case strings.Contains(s, "panic:"):
		return crash(proto.ErrTypePanic, ClassGoroutinePanic, "panic in a goroutine: "+panicValue(s))
	case x.Signaled:
		return crash(proto.ErrTypeWorkerCrashed, ClassOther, "the worker was killed by "+x.Signal.String())
	case x.Exited:
		return crash(proto.ErrTypeWorkerCrashed, ClassOther, fmt.Sprintf("the worker exited with status %d without a result", x.ExitCode))
	}
	return crash(proto.ErrTypeWorkerCrashed, ClassOther, "the worker ended without a result")
}

// threadLimit matches "program exceeds 64-thread limit".
func threadLimit(s string) bool {
	_, after, ok := strings.Cut(s, "program exceeds")
	if !ok {
		return false
	}
	line, _, _ := strings.Cut(after, "\n")
	return strings.Contains(line, "thread limit")
}

// firstLine returns the line of s that starts with prefix.
func firstLine(s, prefix string) string {
	i := strings.Index(s, prefix)
	line, _, _ := strings.Cut(s[i:], "\n")
	return strings.TrimSpace(line)
}

// panicValue is the value of the first "panic: " line, without the
// runtime's [recovered] annotations.
func panicValue(s string) string {
	v := strings.TrimPrefix(firstLine(s, "panic:"), "panic:")
	for _, noise := range []string{" [recovered, repanicked]", " [recovered]"} {
		v = strings.ReplaceAll(v, noise, "")
	}
	return strings.TrimSpace(v)
}
