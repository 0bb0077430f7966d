// Package console serialises devstack's terminal output: its own messages and every child's output,
// one whole line at a time, each child line prefixed with the service name (operations.md §1.3 step 6),
// and keeps each stream's last lines for the report printed when a child dies.
package console

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// prefixWidth fits the longest name, "postgres".
const prefixWidth = 8

// Console writes whole lines to one destination.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a console writing to w.
func New(w io.Writer) *Console { return &Console{w: w} }

// Printf writes one of devstack's own messages, prefixed "devstack | ".
func (c *Console) Printf(format string, args ...any) {
	c.line("devstack", fmt.Sprintf(format, args...))
}

// Raw writes text as is (the banner, a child's tail).
func (c *Console) Raw(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.w, text)
}

func (c *Console) line(name, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = fmt.Fprintf(c.w, "%-*s | %s\n", prefixWidth, name, text)
}

// Stream returns a writer for one child's output that prefixes each line with name and remembers the
// last tail lines.
func (c *Console) Stream(name string, tail int) *Stream {
	return &Stream{c: c, name: name, max: tail}
}

// Stream is an io.Writer that emits whole prefixed lines.
type Stream struct {
	c    *Console
	name string
	max  int

	mu      sync.Mutex
	partial []byte
	tail    []string
}

// Write implements io.Writer.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.emit(string(bytes.TrimRight(s.partial[:i], "\r")))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 { // a child writing without newlines still shows up
		s.emit(string(s.partial))
		s.partial = nil
	}
	return len(p), nil
}

// Flush emits a final line without a newline, if any.
func (s *Stream) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.emit(string(s.partial))
		s.partial = nil
	}
}

// Tail returns the last lines written, oldest first.
func (s *Stream) Tail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail...)
}

func (s *Stream) emit(line string) {
	s.c.line(s.name, line)
	if s.max <= 0 {
		return
	}
	s.tail = append(s.tail, line)
	if len(s.tail) > s.max {
		s.tail = s.tail[len(s.tail)-s.max:]
	}
}
