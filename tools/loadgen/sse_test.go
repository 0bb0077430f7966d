package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// collect returns the data of every event of in.
func collect(t *testing.T, in string) ([]string, error) {
	t.Helper()
	var out []string
	err := readEvents(strings.NewReader(in), func(data []byte) bool {
		out = append(out, string(data))
		return true
	})
	return out, err
}

func TestReadEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"go-sdk response", "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", []string{`{"jsonrpc":"2.0","id":1,"result":{}}`}},
		{"keepalive comment between events", "data: a\n\n: keepalive\n\ndata: b\n\n", []string{"a", "b"}},
		{"multi-line data", "data: a\ndata:b\ndata\n\n", []string{"a\nb\n"}},
		{"CRLF line ends", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"CR line ends", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"only one space removed", "data:  a\n\n", []string{" a"}},
		{"no data: not dispatched", "event: message\nid: 3\n\n", nil},
		{"cut off at the end", "data: a\n\ndata: b\n", []string{"a"}},
		{"other fields and comments", "retry: 10\n:c\nevent: x\ndata: a\nfoo: bar\n\n", []string{"a"}},
		{"empty data line", "data:\n\n", []string{""}},
		{"datax is not data", "datax: a\n\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got, err := collect(t, tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// fn returning false stops the reading; an oversized event is an error, not a huge allocation.
func TestReadEventsStopsAndBounds(t *testing.T) {
	t.Parallel()
	n := 0
	err := readEvents(strings.NewReader("data: a\n\ndata: b\n\n"), func([]byte) bool { n++; return false })
	if err != nil || n != 1 {
		t.Errorf("err %v, %d events read, want 1", err, n)
	}
	big := "data: " + strings.Repeat("x", maxEventBytes) + "\n\n"
	if _, err := collect(t, big); !errors.Is(err, errEventTooLarge) {
		t.Errorf("an event over %d bytes: err %v", maxEventBytes, err)
	}
	lines := strings.Repeat("data: "+strings.Repeat("y", 1<<20)+"\n", 17) + "\n"
	if _, err := collect(t, lines); !errors.Is(err, errEventTooLarge) {
		t.Errorf("17 data lines of 1 MiB: err %v", err)
	}
}

// The event stream is untrusted input: readEvents never panics, never dispatches more data than it read, and
// recovers events written in the canonical form.
func FuzzReadEvents(f *testing.F) {
	f.Add("event: message\ndata: {\"id\":1}\n\n", "x")
	f.Add(": keepalive\r\n\r\ndata: a\rdata: b\r\r", "")
	f.Add("data\n\ndata:\n\n\n\n", "a\nb")
	f.Add("\r\n\r", "\r")
	f.Fuzz(func(t *testing.T, in, payload string) {
		total := 0
		_ = readEvents(strings.NewReader(in), func(data []byte) bool {
			total += len(data)
			return true
		})
		if total > len(in) {
			t.Fatalf("%d data bytes from %d input bytes", total, len(in))
		}
		if strings.ContainsAny(payload, "\r\n") || len(payload) > 1<<16 {
			return
		}
		var got []string
		err := readEvents(bytes.NewReader([]byte(": c\ndata: "+payload+"\n\n")), func(data []byte) bool {
			got = append(got, string(data))
			return true
		})
		if err != nil || len(got) != 1 || got[0] != payload {
			t.Fatalf("payload %q read back as %q (%v)", payload, got, err)
		}
	})
}
