package backend

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// parseAll reads every event of r; err is the terminal error (io.EOF at a
// clean end).
func parseAll(r io.Reader) ([]sseEvent, error) {
	rd := newSSEReader(r)
	var out []sseEvent
	for {
		ev, err := rd.next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []sseEvent
	}{
		{"one event", "event: hello\ndata: {}\n\n", []sseEvent{{"hello", []byte("{}")}}},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []sseEvent{{"a", []byte("1")}}},
		{"cr", "event: a\rdata: 1\r\r", []sseEvent{{"a", []byte("1")}}},
		{"comments and pings", ": ping\n\n: ping\n\nevent: a\n: inside\ndata: 1\n\n", []sseEvent{{"a", []byte("1")}}},
		{"no space after colon", "event:a\ndata:1\n\n", []sseEvent{{"a", []byte("1")}}},
		{"only one space stripped", "data:  x\n\n", []sseEvent{{"message", []byte(" x")}}},
		{"multi-line data", "data: a\ndata: b\ndata\n\n", []sseEvent{{"message", []byte("a\nb\n")}}},
		{"no data: not dispatched", "event: a\n\ndata: 2\n\n", []sseEvent{{"message", []byte("2")}}},
		{"id and retry ignored", "id: 7\nretry: 10\nevent: a\ndata: 1\n\n", []sseEvent{{"a", []byte("1")}}},
		{"bom", "\uFEFFevent: a\ndata: 1\n\n", []sseEvent{{"a", []byte("1")}}},
		{"unterminated event dropped", "event: a\ndata: 1\n\nevent: b\ndata: 2\n", []sseEvent{{"a", []byte("1")}}},
		{"colon in value", "data: {\"a\":\"b:c\"}\n\n", []sseEvent{{"message", []byte(`{"a":"b:c"}`)}}},
	} {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if chunked {
				r = iotest.OneByteReader(r)
			}
			got, err := parseAll(r)
			if !errors.Is(err, io.EOF) {
				t.Errorf("%s: err = %v", tc.name, err)
			}
			if !sameEvents(got, tc.want) {
				t.Errorf("%s (one byte at a time: %v): got %q, want %q", tc.name, chunked, got, tc.want)
			}
		}
	}
}

func TestSSEReaderLimits(t *testing.T) {
	t.Parallel()
	long := "data: " + strings.Repeat("x", maxSSELine) + "\n\n"
	if _, err := parseAll(strings.NewReader(long)); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("long line: err = %v", err)
	}
	big := strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", 70) + "\n"
	if _, err := parseAll(strings.NewReader(big)); !errors.Is(err, errSSEEventTooLarge) {
		t.Errorf("big event: err = %v", err)
	}
}

// sameEvents compares event lists (nil and empty data alike).
func sameEvents(a, b []sseEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

// FuzzSSEReader feeds arbitrary bytes to the event stream parser: it never
// panics, reads the same events whatever the chunking (whole, one byte at a
// time, split at an arbitrary point), never returns a name or data holding
// a line break it should have split on, and never exceeds its limits.
func FuzzSSEReader(f *testing.F) {
	for _, seed := range []string{
		"event: hello\ndata: {\"catalog_revision\":1,\"policy_revision\":2}\n\n",
		": ping\n\n",
		"event: a\r\ndata: 1\r\n\r\n",
		"event: a\rdata: 1\r\r",
		"\uFEFFdata: x\n\n",
		"data\n\n",
		"data:\n\n",
		"event: a\r",
		"\r\n\r\n\n\r",
		"data: a\ndata: b\n\nevent: c\ndata: d\n",
		"id: 1\nretry: x\nfoo: bar\n:comment\n\n",
	} {
		f.Add([]byte(seed), uint16(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		whole, errWhole := parseAll(bytes.NewReader(in))
		oneByte, errOne := parseAll(iotest.OneByteReader(bytes.NewReader(in)))
		at := int(split) % (len(in) + 1)
		halves, errHalves := parseAll(io.MultiReader(bytes.NewReader(in[:at]), bytes.NewReader(in[at:])))
		if !sameEvents(whole, oneByte) || !sameEvents(whole, halves) {
			t.Fatalf("chunking changed the events: whole %q, one byte %q, split at %d %q", whole, oneByte, at, halves)
		}
		if (errWhole == nil) != (errOne == nil) || errors.Is(errWhole, io.EOF) != errors.Is(errOne, io.EOF) ||
			errors.Is(errWhole, io.EOF) != errors.Is(errHalves, io.EOF) {
			t.Fatalf("chunking changed the end: %v / %v / %v", errWhole, errOne, errHalves)
		}
		for _, ev := range whole {
			if ev.name == "" || strings.ContainsAny(ev.name, "\r\n") || bytes.ContainsAny(ev.data, "\r") {
				t.Fatalf("bad event %q", ev)
			}
			if len(ev.data) > maxSSEEvent {
				t.Fatalf("event of %d bytes", len(ev.data))
			}
		}
	})
}
