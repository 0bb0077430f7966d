package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// KillGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL: long enough for a test to stop a cluster it started,
// short enough to fit in .ci/run's 30 s --kill-after.
const KillGrace = 5 * time.Second

// Command is a process a stage runs.
type Command struct {
	// Dir is the working directory; Env the complete environment (nil
	// inherits testrun's).
	Dir string
	Env []string
	// Args is the program and its arguments.
	Args []string
	// Stdout receives standard output; nil means the stage log.
	Stdout io.Writer
}

// String renders the command as the log shows it.
func (c Command) String() string {
	s := strings.Join(c.Args, " ")
	if c.Dir != "" {
		s = "(cd " + c.Dir + " && " + s + ")"
	}
	return s
}

// Exec runs c with its output in log, in its own process group, which is sent
// SIGTERM when ctx is cancelled and SIGKILL KillGrace later. It returns a
// non-nil error when the command could not start or exited non-zero.
func Exec(ctx context.Context, log io.Writer, c Command) error {
	if len(c.Args) == 0 {
		return errors.New("exec: no command")
	}
	_, _ = fmt.Fprintf(log, "$ %s\n", c)
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.Stdout = log
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(KillGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return nil
	}
	// Grandchildren that keep the output pipes open must not hang the stage.
	cmd.WaitDelay = 2 * KillGrace
	start := time.Now()
	err := cmd.Run()
	_, _ = fmt.Fprintf(log, "$ exit: %s after %.1fs\n", exitText(err), time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("%s: %w", c.Args[0], err)
	}
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}
