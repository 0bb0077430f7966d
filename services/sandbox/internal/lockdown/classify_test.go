package lockdown

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	sig := func(s syscall.Signal) Exit { return Exit{Signaled: true, Signal: s} }
	kill := sig(syscall.SIGKILL)
	code := func(c int) Exit { return Exit{Exited: true, ExitCode: c} }
	tests := []struct {
		name string
		o    Observation
		typ  proto.SandboxErrorType
		cls  CrashClass
	}{
		{"1 cancelled wins over everything", Observation{Cancelled: true, DeadlinePassed: true, Exit: kill}, "", ClassNone},
		{"2 deadline", Observation{DeadlinePassed: true, KilledByParent: true, Exit: kill, ResultReceived: false}, proto.ErrTypeTimeout, ClassTimeout},
		{"2 deadline before ipc", Observation{DeadlinePassed: true, IPCViolation: true}, proto.ErrTypeTimeout, ClassTimeout},
		{"3 oversize frame", Observation{IPCViolation: true, OversizeFrame: true, KilledByParent: true, Exit: kill}, proto.ErrTypeOutputLimitExceeded, ClassIPCViolation},
		{"3 other violation", Observation{IPCViolation: true, KilledByParent: true, Exit: kill}, proto.ErrTypeWorkerCrashed, ClassIPCViolation},
		{"3 violation after result", Observation{IPCViolation: true, ResultReceived: true}, proto.ErrTypeWorkerCrashed, ClassIPCViolation},
		{"4 watchdog", Observation{WatchdogKilled: true, KilledByParent: true, Exit: kill}, proto.ErrTypeMemoryLimitExceeded, ClassOOM},
		{"5 result, later death ignored", Observation{ResultReceived: true, Exit: sig(syscall.SIGSYS)}, "", ClassNone},
		{"6 SIGSYS", Observation{Exit: sig(syscall.SIGSYS)}, proto.ErrTypeSecurityViolation, ClassSeccomp},
		{"7 SIGXCPU", Observation{Exit: sig(syscall.SIGXCPU)}, proto.ErrTypeCPULimitExceeded, ClassCPU},
		{"7 SIGKILL at the CPU limit", Observation{Exit: Exit{Signaled: true, Signal: syscall.SIGKILL, CPUTime: 3 * time.Second}, CPUSoftLimit: 3 * time.Second}, proto.ErrTypeCPULimitExceeded, ClassCPU},
		{"8 SIGKILL by the kernel", Observation{Exit: Exit{Signaled: true, Signal: syscall.SIGKILL, CPUTime: time.Second}, CPUSoftLimit: 3 * time.Second}, proto.ErrTypeMemoryLimitExceeded, ClassOOM},
		{"9 runtime out of memory", Observation{Exit: code(2), Stderr: []byte("fatal error: runtime: out of memory\n\ngoroutine 1")}, proto.ErrTypeMemoryLimitExceeded, ClassOOM},
		{"10 stack overflow", Observation{Exit: code(2), Stderr: []byte("runtime: goroutine stack exceeds 67108864-byte limit\nfatal error: stack overflow")}, proto.ErrTypeStackOverflow, ClassStackOverflow},
		{"11 thread limit", Observation{Exit: code(2), Stderr: []byte("runtime: program exceeds 64-thread limit\nfatal error: thread exhaustion")}, proto.ErrTypeThreadLimitExceeded, ClassThreads},
		{"12 concurrent map", Observation{Exit: code(2), Stderr: []byte("fatal error: concurrent map writes\n")}, proto.ErrTypePanic, ClassGoroutinePanic},
		{"13 goroutine panic", Observation{Exit: code(2), Stderr: []byte("panic: x [recovered]\n\ngoroutine 7 [running]:")}, proto.ErrTypePanic, ClassGoroutinePanic},
		{"14 exit without result", Observation{Exit: code(0)}, proto.ErrTypeWorkerCrashed, ClassOther},
		{"14 SIGKILL by parent", Observation{KilledByParent: true, Exit: kill}, proto.ErrTypeWorkerCrashed, ClassOther},
		{"14 SIGSEGV", Observation{Exit: sig(syscall.SIGSEGV)}, proto.ErrTypeWorkerCrashed, ClassOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tc.o)
			if got.ErrorType != tc.typ || got.Class != tc.cls {
				t.Fatalf("got %+v, want %s/%q", got, tc.typ, tc.cls)
			}
			if tc.typ != "" && got.Message == "" {
				t.Fatal("no message")
			}
		})
	}
	if got := Classify(Observation{Cancelled: true}); !got.Cancelled {
		t.Errorf("cancelled: %+v", got)
	}
	if got := Classify(Observation{ResultReceived: true}); !got.FromResult {
		t.Errorf("result: %+v", got)
	}
	got := Classify(Observation{Exit: code(2), Stderr: []byte("panic: boom [recovered, repanicked]\n")})
	if got.Message != "panic in a goroutine: boom" {
		t.Errorf("panic message %q", got.Message)
	}
	if n := len(CrashClasses()); n != 9 {
		t.Errorf("%d crash classes, want the 9 of §15.1", n)
	}
}

// ExitOf reads real wait statuses and CPU time.
func TestExitOf(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), "/bin/sh", "-c", "exit 3")
	_ = cmd.Run()
	if x := ExitOf(cmd.ProcessState); !x.Exited || x.ExitCode != 3 || x.Signaled {
		t.Fatalf("exit 3: %+v", x)
	}
	cmd = exec.CommandContext(t.Context(), "/bin/sh", "-c", "kill -XCPU $$")
	_ = cmd.Run()
	x := ExitOf(cmd.ProcessState)
	if !x.Signaled || x.Signal != syscall.SIGXCPU {
		t.Fatalf("SIGXCPU: %+v", x)
	}
	if c := Classify(Observation{Exit: x}); c.Class != ClassCPU {
		t.Fatalf("classified %+v", c)
	}
	if x := ExitOf(nil); x.Exited || x.Signaled {
		t.Fatalf("nil: %+v", x)
	}
}
