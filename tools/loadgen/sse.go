package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxEventBytes bounds one server-sent event's data: a tools/list page of 100 large definitions or a 4 MiB tool
// result fits with room to spare.
const maxEventBytes = 16 << 20

// errEventTooLarge is an event whose data passed maxEventBytes.
var errEventTooLarge = errors.New("a server-sent event is larger than 16 MiB")

// readEvents reads a text/event-stream (the WHATWG server-sent events format) and calls fn with the data of each
// event, the data lines joined by "\n", until fn returns false or the stream ends. Lines end with "\n", "\r\n" or
// "\r"; comments (": keepalive"), event, id and retry fields are skipped; an event without data lines is not
// dispatched, and neither is one cut off by the end of the stream. data is reused after fn returns.
func readEvents(r io.Reader, fn func(data []byte) bool) error {
	br := bufio.NewReaderSize(r, 16<<10)
	var (
		data    []byte
		hasData bool
		line    []byte
		lastCR  bool // the previous line ended with "\r": a "\n" right after it ends nothing
	)
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the event stream: %w", err)
		}
		if b == '\n' && lastCR {
			lastCR = false
			continue
		}
		lastCR = b == '\r'
		if b != '\n' && b != '\r' {
			if len(line) >= maxEventBytes {
				return errEventTooLarge
			}
			line = append(line, b)
			continue
		}
		if len(line) == 0 { // a blank line dispatches the event
			if hasData && !fn(data) {
				return nil
			}
			data, hasData = data[:0], false
			continue
		}
		if value, ok := dataField(line); ok {
			if hasData {
				data = append(data, '\n')
			}
			if len(data)+len(value) > maxEventBytes {
				return errEventTooLarge
			}
			data, hasData = append(data, value...), true
		}
		line = line[:0]
	}
}

// dataField returns the value of a "data" field line ("data:x", "data: x" or a bare "data"), ok false for any
// other line.
func dataField(line []byte) ([]byte, bool) {
	name, value, found := bytes.Cut(line, []byte(":"))
	if !bytes.Equal(name, []byte("data")) {
		return nil, false
	}
	if !found {
		return nil, true
	}
	return bytes.TrimPrefix(value, []byte(" ")), true
}
