package worker

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"unicode/utf8"
)

// capture is the interpreter's stdout: it keeps the first `keep` bytes,
// forwards them to sink, and only counts the rest, so a print flood costs no
// memory (SB-19, SB-20).
type capture struct {
	mu      sync.Mutex
	buf     []byte
	keep    int
	dropped int64
	sink    io.Writer
}

func newCapture(keep int, sink io.Writer) *capture {
	return &capture{keep: keep, sink: sink}
}

// Write never fails, so tool code never sees an error from fmt.Print.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := max(c.keep-len(c.buf), 0)
	take := min(room, len(p))
	if take > 0 {
		c.buf = append(c.buf, p[:take]...)
		if c.sink != nil {
			_, _ = c.sink.Write(p[:take])
		}
	}
	c.dropped += int64(len(p) - take)
	return len(p), nil
}

func (c *capture) setSink(sink io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sink = sink
}

func (c *capture) result() ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf), c.dropped
}

// limited is a bounded buffer for the interpreter's stderr.
type limited struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.buf); room > 0 {
		l.buf = append(l.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limited) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// CapStdout returns stdout in its response form (sandbox.md §4.2.4): valid
// UTF-8 (invalid bytes replaced) and, when over StdoutCap (or dropped > 0),
// cut at a UTF-8 boundary to at most StdoutCap bytes followed by
// StdoutMarker. The parent applies it after redaction.
func CapStdout(stdout []byte, dropped int64) (string, bool) {
	s := bytes.ToValidUTF8(stdout, []byte("\uFFFD"))
	if len(s) <= StdoutCap && dropped == 0 {
		return string(s), false
	}
	return string(cutUTF8(s, StdoutCap)) + StdoutMarker, true
}

// CapResult applies the response cap to a result's JSON text (sandbox.md
// §4.2.4): a JSON string over ResultCap is cut at a UTF-8 boundary and ends
// with ResultMarker (truncated true); any other value over ResultCap is
// refused (ok false: OutputLimitExceeded). The parent applies it after
// redaction.
func CapResult(result []byte) (capped []byte, truncated, ok bool) {
	if len(result) <= ResultCap {
		return result, false, true
	}
	var s string
	if len(result) == 0 || result[0] != '"' || json.Unmarshal(result, &s) != nil {
		return nil, false, false
	}
	// The cut string plus marker must encode to at most ResultCap bytes.
	budget := ResultCap - len(ResultMarker) - 64
	for {
		cut := string(cutUTF8([]byte(s), budget)) + ResultMarker
		out, err := encodeJSON(cut)
		if err != nil {
			return nil, false, false
		}
		if len(out) <= ResultCap || budget <= 0 {
			return out, true, true
		}
		budget -= len(out) - ResultCap
	}
}

// cutUTF8 returns the longest prefix of b of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(b[i]) {
		i--
	}
	return b[:i]
}

// encodeJSON encodes v without HTML escaping and without the trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
