package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// States of a capReader.
const (
	bodyReading  int32 = iota
	bodyDone           // read to its end within the cap
	bodyTooLarge       // more than the cap arrived
	bodyFailed         // the client's body read failed (deadline, disconnect, bad chunking)
)

// errBodyTooLarge ends the upstream body when the client's passes MAX_BODY;
// the transport then aborts the upstream request.
var errBodyTooLarge = errors.New("proxy: request body over MAX_BODY")

// capReader streams the client's body to the transport: it fails past
// limit, records how the body ended for Serve to map (413, 408), counts
// the bytes, and clears the body read deadline once the body has ended.
// Only the transport's write goroutine reads it; Serve reads the atomics.
type capReader struct {
	r     io.Reader
	limit int64
	rc    *http.ResponseController
	n     atomic.Int64
	state atomic.Int32
}

func (c *capReader) Read(p []byte) (int, error) {
	switch c.state.Load() {
	case bodyDone:
		return 0, io.EOF
	case bodyTooLarge:
		return 0, errBodyTooLarge
	case bodyFailed:
		return 0, errors.New("proxy: client body read failed")
	}
	rem := c.limit - c.n.Load()
	if int64(len(p)) > rem+1 {
		p = p[:rem+1] // one byte more than allowed reveals an oversized body
	}
	n, err := c.r.Read(p)
	if int64(n) > rem {
		c.n.Add(rem)
		c.state.Store(bodyTooLarge)
		return int(rem), errBodyTooLarge
	}
	c.n.Add(int64(n))
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		c.state.Store(bodyDone)
		// The body is complete: BODY_TIMEOUT must not bound the answer.
		_ = c.rc.SetReadDeadline(time.Time{})
		return n, io.EOF
	default:
		c.state.Store(bodyFailed)
	}
	return n, err
}

// Close leaves the client's body to net/http, which closes it after the
// handler returns.
func (c *capReader) Close() error { return nil }
