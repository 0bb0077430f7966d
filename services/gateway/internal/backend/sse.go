package backend

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits of the event stream parser: the backend's events are a few dozen
// bytes, so anything near these is hostile or broken.
const (
	maxSSELine  = 16 << 10
	maxSSEEvent = 64 << 10
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	// name is the "event:" field, "message" when absent.
	name string
	// data is the "data:" lines joined by "\n".
	data []byte
}

// sseReader reads the events of a text/event-stream body the way the
// WHATWG HTML standard ("Interpreting an event stream") does: lines end
// with CRLF, LF or CR; a line starting with ':' is a comment; a field's
// value starts after the first ':' and one optional space; "event" sets the
// name, "data" appends a line; "id", "retry" and unknown fields are
// ignored; an empty line dispatches the event if it has data; a leading
// UTF-8 BOM is dropped; an event cut off by the end of the stream is
// discarded. Lines over 16 KiB and events over 64 KiB are errors.
type sseReader struct {
	sc    *bufio.Scanner
	lines lineSplitter
	first bool
}

// newSSEReader returns a reader of r.
func newSSEReader(r io.Reader) *sseReader {
	s := &sseReader{sc: bufio.NewScanner(r), first: true}
	s.sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	s.sc.Split(s.lines.split)
	return s
}

// Errors of a stream that breaks the parser's limits.
var (
	errSSEEventTooLarge = fmt.Errorf("event stream: an event larger than %d KiB", maxSSEEvent>>10)
	errSSELineTooLong   = fmt.Errorf("event stream: a line longer than %d KiB", maxSSELine>>10)
)

// next returns the next event. At the end of the stream it returns io.EOF
// (an unterminated last event is dropped); a read error is returned as is.
func (s *sseReader) next() (sseEvent, error) {
	var (
		name    string
		data    []byte
		hasData bool
	)
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if s.first {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			s.first = false
		}
		if len(line) == 0 {
			if !hasData {
				name = ""
				continue
			}
			if name == "" {
				name = "message"
			}
			return sseEvent{name: name, data: data}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
			if len(data) > maxSSEEvent {
				return sseEvent{}, errSSEEventTooLarge
			}
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, fmt.Errorf("%w: %w", errSSELineTooLong, err)
		}
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}

// lineSplitter is a bufio.SplitFunc that ends lines at CRLF, LF or a lone
// CR without waiting for the byte after a CR: when a chunk ends with CR, the
// line is returned at once and a LF starting the next chunk is skipped.
// Waiting would hold an event back until the next ping.
type lineSplitter struct {
	skipLF bool
}

// split implements bufio.SplitFunc.
func (l *lineSplitter) split(data []byte, atEOF bool) (int, []byte, error) {
	if l.skipLF && len(data) > 0 {
		l.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		l.skipLF = true
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
