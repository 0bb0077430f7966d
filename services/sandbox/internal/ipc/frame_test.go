package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// rawFrame builds wire bytes with arbitrary (possibly lying) lengths.
func rawFrame(total, hlen uint32, rest []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, total)
	b = binary.BigEndian.AppendUint32(b, hlen)
	return append(b, rest...)
}

func TestReadFrameTable(t *testing.T) {
	t.Parallel()
	hdr := []byte(`{"type":"stdout"}`)
	valid := rawFrame(uint32(4+len(hdr)+3), uint32(len(hdr)), append(append([]byte{}, hdr...), "abc"...))
	tests := []struct {
		name string
		in   []byte
		dir  Direction
		want error // nil: success
	}{
		{"valid", valid, WorkerToParent, nil},
		{"empty stream", nil, WorkerToParent, ErrClosed},
		{"partial prefix", []byte{0, 0, 1}, WorkerToParent, ErrTruncated},
		{"worker frame over 8 MiB", rawFrame(MaxWorkerFrame+1, 2, nil), WorkerToParent, ErrFrameTooLarge},
		{"worker frame of exactly 8 MiB declared, body missing", rawFrame(MaxWorkerFrame, 2, []byte("{}")), WorkerToParent, ErrTruncated},
		{"parent frame of 12 MiB allowed size, body missing", rawFrame(MaxParentFrame, 2, nil), ParentToWorker, ErrTruncated},
		{"parent frame over 12 MiB", rawFrame(MaxParentFrame+1, 2, nil), ParentToWorker, ErrFrameTooLarge},
		{"length 0xffffffff", rawFrame(0xffffffff, 2, nil), ParentToWorker, ErrFrameTooLarge},
		{"total shorter than its field", rawFrame(3, 0, nil), WorkerToParent, ErrMalformed},
		{"zero header", rawFrame(4, 0, nil), WorkerToParent, ErrMalformed},
		{"header longer than frame", rawFrame(6, 3, []byte("{}")), WorkerToParent, ErrMalformed},
		{"header not JSON", rawFrame(7, 3, []byte("{x}")), WorkerToParent, ErrMalformed},
		{"truncated body", rawFrame(100, 2, []byte("{}")), WorkerToParent, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(bytes.NewReader(tc.in), tc.dir)
			f, err := r.ReadFrame()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ReadFrame: %v", err)
				}
				if string(f.Header) != string(hdr) || string(f.Payload) != "abc" {
					t.Fatalf("got header %q payload %q", f.Header, f.Payload)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !errors.Is(tc.want, ErrClosed) && !errors.Is(err, ErrViolation) {
				t.Fatalf("err = %v does not match ErrViolation", err)
			}
		})
	}
}

// oversize frames are refused after reading only the 8-byte prefix: nothing
// of the declared length is allocated or consumed.
func TestReadFrameOversizeReadsOnlyPrefix(t *testing.T) {
	t.Parallel()
	in := &countingReader{r: bytes.NewReader(rawFrame(MaxWorkerFrame+1, 2, bytes.Repeat([]byte("x"), 1024)))}
	_, err := NewReader(in, WorkerToParent).ReadFrame()
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if in.n != prefixLen {
		t.Fatalf("read %d bytes, want %d", in.n, prefixLen)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// zeroReader never makes progress.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReadFrameNoProgress(t *testing.T) {
	t.Parallel()
	_, err := NewReader(zeroReader{}, WorkerToParent).ReadFrame()
	if !errors.Is(err, ErrNoProgress) {
		t.Fatalf("err = %v", err)
	}
}

// one byte per Read exercises the chunked body reader.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestWriteReadLargeFrames(t *testing.T) {
	t.Parallel()
	for _, dir := range []Direction{WorkerToParent, ParentToWorker} {
		hdr := []byte(`{"type":"x"}`)
		f := Frame{Header: hdr, Payload: bytes.Repeat([]byte{7}, dir.Limit()-4-len(hdr))}
		var buf bytes.Buffer
		w := NewWriter(&buf, dir)
		if err := w.WriteFrame(f); err != nil {
			t.Fatalf("%s: write at cap: %v", dir, err)
		}
		got, err := NewReader(&buf, dir).ReadFrame()
		if err != nil {
			t.Fatalf("%s: read at cap: %v", dir, err)
		}
		if !bytes.Equal(got.Payload, f.Payload) {
			t.Fatalf("%s: payload differs", dir)
		}
		f.Payload = append(f.Payload, 0)
		if err := w.WriteFrame(f); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("%s: write over cap: %v", dir, err)
		}
	}
	// small reads
	var buf bytes.Buffer
	f := Frame{Header: []byte(`{"type":"stdout"}`), Payload: bytes.Repeat([]byte("ab"), 3*growStep)}
	if err := NewWriter(&buf, WorkerToParent).WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(&byteReader{b: buf.Bytes()}, WorkerToParent).ReadFrame()
	if err != nil || !bytes.Equal(got.Payload, f.Payload) {
		t.Fatalf("byte-wise read: %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, s := range [][]byte{
		rawFrame(19, 15, []byte(`{"type":"ready"}`)),
		rawFrame(MaxWorkerFrame+1, 2, nil),
		rawFrame(6, 2, []byte("{}")),
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, dir := range []Direction{WorkerToParent, ParentToWorker} {
			cr := &countingReader{r: bytes.NewReader(in)}
			fr, err := NewReader(cr, dir).ReadFrame()
			if err != nil {
				if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrViolation) {
					t.Fatalf("%s: unclassified error %v", dir, err)
				}
				if len(in) >= prefixLen && binary.BigEndian.Uint32(in) > uint32(dir.Limit()) {
					if !errors.Is(err, ErrFrameTooLarge) || cr.n != prefixLen {
						t.Fatalf("%s: oversize frame: err %v after %d bytes", dir, err, cr.n)
					}
				}
				continue
			}
			total := 4 + len(fr.Header) + len(fr.Payload)
			if total > dir.Limit() || cap(fr.Header)+cap(fr.Payload) > dir.Limit()+growStep {
				t.Fatalf("%s: frame of %d bytes (cap %d) exceeds limit", dir, total, dir.Limit())
			}
			// Round trip: re-encoding gives back exactly the bytes consumed.
			out, err := AppendFrame(nil, fr, dir)
			if err != nil {
				t.Fatalf("%s: re-encode: %v", dir, err)
			}
			if !bytes.Equal(out, in[:cr.n]) || len(out) != 4+total {
				t.Fatalf("%s: round trip differs", dir)
			}
			// Decoding never panics; a decoded message re-encodes and decodes again.
			if m, err := Decode(fr, dir); err == nil {
				f2, err := Encode(m)
				if err != nil {
					t.Fatalf("%s: encode decoded %s: %v", dir, m.MessageType(), err)
				}
				if _, err := Decode(f2, dir); err != nil {
					t.Fatalf("%s: decode re-encoded %s: %v", dir, m.MessageType(), err)
				}
			} else if !errors.Is(err, ErrViolation) {
				t.Fatalf("%s: unclassified decode error %v", dir, err)
			}
		}
	})
}
