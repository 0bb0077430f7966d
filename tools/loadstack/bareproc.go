package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// bareServer is `loadgen bare` running as a process of its own, so that the bare go-sdk server does not share a
// process (its scheduler, its garbage collector) with the load generator: the same footing as the gateway.
type bareServer struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startBare starts `loadgen bare -tool <tool>` and reads the URL it prints; its stderr goes to stderr.
func startBare(ctx context.Context, loadgen, tool string, stderr io.Writer) (*bareServer, error) {
	cmd := exec.CommandContext(context.WithoutCancel(ctx), loadgen, "bare", "-tool", tool)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("loadgen bare: %w", err)
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start loadgen bare: %w", err)
	}
	b := &bareServer{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
		b.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if u, found := strings.CutPrefix(line, "listening "); ok && found {
			b.url = u
			return b, nil
		}
		_ = b.stop()
		return nil, fmt.Errorf("loadgen bare printed %q, want listening <url>", line)
	case <-time.After(10 * time.Second):
		_ = b.stop()
		return nil, errors.New("loadgen bare printed no URL within 10 s")
	case <-ctx.Done():
		_ = b.stop()
		return nil, fmt.Errorf("interrupted while loadgen bare started: %w", ctx.Err())
	}
}

// stop sends SIGINT and waits for the exit (killing it after 10 s).
func (b *bareServer) stop() error {
	if err := b.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal loadgen bare: %w", err)
	}
	select {
	case err := <-b.done:
		if err != nil {
			return fmt.Errorf("loadgen bare: %w", err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		return errors.New("loadgen bare did not stop within 10 s after SIGINT; killed")
	}
}
