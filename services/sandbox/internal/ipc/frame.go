package ipc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Per-direction frame caps (sandbox.md §11). A frame's total length N counts
// the 4-byte header length, the header and the payload, not the leading
// 4-byte length itself.
const (
	// MaxWorkerFrame caps one worker→parent frame.
	MaxWorkerFrame = 8 << 20
	// MaxParentFrame caps one parent→worker frame.
	MaxParentFrame = 12 << 20
	// prefixLen is the two 4-byte big-endian lengths in front of a header.
	prefixLen = 8
	// growStep bounds how much the reader allocates ahead of the bytes that
	// actually arrived, so a frame that declares 8 MiB and sends ten bytes
	// costs at most this much memory.
	growStep = 64 << 10
	// maxEmptyReads stops a reader that keeps returning (0, nil).
	maxEmptyReads = 100
)

// Direction says who sends a frame; it selects the size cap and the
// message types that may travel that way.
type Direction int

// The two directions of the worker pipes (fd 4 and fd 3).
const (
	WorkerToParent Direction = iota + 1
	ParentToWorker
)

// Limit is the largest total length N a frame may declare in this direction.
func (d Direction) Limit() int {
	if d == ParentToWorker {
		return MaxParentFrame
	}
	return MaxWorkerFrame
}

func (d Direction) String() string {
	switch d {
	case WorkerToParent:
		return "worker→parent"
	case ParentToWorker:
		return "parent→worker"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Frame is one undecoded frame: the raw JSON header and the binary payload.
type Frame struct {
	Header  []byte
	Payload []byte
}

// Reader reads frames of one direction from a pipe with a bounded buffer.
// It is not safe for concurrent use; one goroutine owns each pipe's reader.
type Reader struct {
	r     io.Reader
	dir   Direction
	limit int
}

// NewReader returns a Reader that refuses frames over dir's cap.
func NewReader(r io.Reader, dir Direction) *Reader {
	return &Reader{r: r, dir: dir, limit: dir.Limit()}
}

// ReadFrame reads the next frame. At a clean end of stream between frames it
// returns an error matching ErrClosed; every other failure matches
// ErrViolation (oversize, malformed or truncated frame) and the stream must
// not be read further.
func (r *Reader) ReadFrame() (Frame, error) {
	var prefix [prefixLen]byte
	n, err := readFull(r.r, prefix[:])
	if err != nil {
		if n == 0 {
			return Frame{}, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return Frame{}, fmt.Errorf("%w: frame length: %w", ErrTruncated, err)
	}
	total := binary.BigEndian.Uint32(prefix[0:4])
	hlen := binary.BigEndian.Uint32(prefix[4:8])
	switch {
	case total > uint32(r.limit): //nolint:gosec // limit is 8 or 12 MiB
		return Frame{}, fmt.Errorf("%w: %s frame of %d bytes, cap %d", ErrFrameTooLarge, r.dir, total, r.limit)
	case total < 4:
		return Frame{}, fmt.Errorf("%w: frame length %d is shorter than its header length field", ErrMalformed, total)
	case hlen == 0 || uint64(hlen) > uint64(total)-4:
		return Frame{}, fmt.Errorf("%w: header length %d does not fit frame length %d", ErrMalformed, hlen, total)
	}
	body, err := readBounded(r.r, int(total)-4)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: frame body: %w", ErrTruncated, err)
	}
	f := Frame{Header: body[:hlen:hlen], Payload: body[hlen:]}
	if len(f.Payload) == 0 {
		f.Payload = nil
	}
	if !json.Valid(f.Header) {
		return Frame{}, fmt.Errorf("%w: header is not valid JSON", ErrMalformed)
	}
	return f, nil
}

// ReadMessage reads and decodes the next frame; a message type that may not
// travel in the reader's direction is a violation.
func (r *Reader) ReadMessage() (Message, error) {
	f, err := r.ReadFrame()
	if err != nil {
		return nil, err
	}
	return Decode(f, r.dir)
}

// readFull is io.ReadFull without relying on the io package's error
// variables (tool code runs in the same process as the worker's framing).
func readFull(r io.Reader, buf []byte) (int, error) {
	read, empty := 0, 0
	for read < len(buf) {
		n, err := r.Read(buf[read:])
		read += n
		if read == len(buf) {
			return read, nil
		}
		if err != nil {
			return read, err
		}
		if n == 0 {
			empty++
			if empty >= maxEmptyReads {
				return read, ErrNoProgress
			}
			continue
		}
		empty = 0
	}
	return read, nil
}

// readBounded reads exactly n bytes, growing its buffer by at most growStep
// ahead of the data received.
func readBounded(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, growStep))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			next := make([]byte, len(buf), min(n, cap(buf)+max(cap(buf), growStep)))
			copy(next, buf)
			buf = next
		}
		chunk := buf[len(buf):cap(buf)]
		got, err := readFull(r, chunk)
		buf = buf[:len(buf)+got]
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// Writer writes frames of one direction. Each frame goes out in a single
// Write, under a mutex, so goroutines (stdout pump, HTTP client, harness) may
// share one Writer without interleaving.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	dir Direction
}

// NewWriter returns a Writer that refuses to send frames over dir's cap.
func NewWriter(w io.Writer, dir Direction) *Writer {
	return &Writer{w: w, dir: dir}
}

// WriteFrame sends one frame.
func (w *Writer) WriteFrame(f Frame) error {
	buf, err := AppendFrame(nil, f, w.dir)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(buf); err != nil {
		return fmt.Errorf("ipc: write frame: %w", err)
	}
	return nil
}

// WriteMessage encodes m and sends it; m's type must belong to the writer's
// direction.
func (w *Writer) WriteMessage(m Message) error {
	if m.Direction() != w.dir {
		return fmt.Errorf("%w: %q cannot be sent %s", ErrUnknownMessage, m.MessageType(), w.dir)
	}
	f, err := Encode(m)
	if err != nil {
		return err
	}
	return w.WriteFrame(f)
}

// AppendFrame appends the wire form of f to dst, refusing frames that dir's
// reader would refuse.
func AppendFrame(dst []byte, f Frame, dir Direction) ([]byte, error) {
	total := 4 + len(f.Header) + len(f.Payload)
	if total > dir.Limit() {
		return dst, fmt.Errorf("%w: %s frame of %d bytes, cap %d", ErrFrameTooLarge, dir, total, dir.Limit())
	}
	if len(f.Header) == 0 {
		return dst, fmt.Errorf("%w: empty header", ErrMalformed)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))         //nolint:gosec // total ≤ 12 MiB, checked above
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Header))) //nolint:gosec // len(header) < total
	dst = append(dst, f.Header...)
	return append(dst, f.Payload...), nil
}
