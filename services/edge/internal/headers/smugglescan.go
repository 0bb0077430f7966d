package headers

import "bytes"

// scanner follows the inbound bytes of one HTTP/1.x connection with
// bounded state (a fixed-size struct, nothing buffered beyond the first
// lineKeep bytes of the current line) and records whether a header block
// held both a Content-Length and a Transfer-Encoding field line.
//
// It tracks message framing the way Go's server does, so that request
// bodies are skipped rather than read as header lines: a body that merely
// contains the text "Content-Length: 1\r\nTransfer-Encoding: chunked" must
// not taint the connection, because behind a load balancer one connection
// carries the requests of many clients and a taint refuses them all.
// Framing follows net/http: Transfer-Encoding counts from HTTP/1.1 on and
// only as a single "chunked" line; otherwise Content-Length; otherwise no
// body. Chunk-size lines need CRLF, chunk data ends in CRLF, trailers end
// at an empty line.
//
// Whenever the framing is not one the scanner can follow exactly (a value
// longer than it keeps, a bad chunk line, a Transfer-Encoding Go would
// refuse), it falls back for the rest of the connection to the plain line
// scan: every line is a header line, flags reset at each empty line. Go's
// server closes the connection in nearly all of those cases anyway; the
// fallback guarantees the scanner never misses a header block that the
// simple line scan would have caught.
//
// An h2c connection preface ("PRI * HTTP/2.0") switches scanning off:
// HTTP/2 has no Transfer-Encoding (Go refuses it as a connection-specific
// header) and Go serves no further HTTP/1 requests on such a connection.
type scanner struct {
	state uint8

	line [lineKeep]byte // first bytes of the current line
	n    int            // bytes of the current line so far (saturating)
	tail [16]byte       // last bytes of the current line (request-line version)

	// current header block
	started   bool // request line seen
	teIgnored bool // version below HTTP/1.1: Transfer-Encoding ignored
	cl, te    bool
	clBad     bool // a Content-Length value the scanner cannot follow
	clVal     uint64
	teLines   int
	teChunked bool

	remaining uint64 // body or chunk bytes left to skip
	crlf      uint8  // bytes of the CRLF after chunk data seen

	tainted bool
}

const lineKeep = 64

const (
	scanHead      uint8 = iota // request line and header fields
	scanBody                   // skipping a Content-Length body
	scanChunkSize              // chunk-size line
	scanChunkData              // skipping chunk data
	scanChunkEnd               // CRLF after chunk data
	scanTrailer                // trailer fields after the last chunk
	scanLines                  // fallback: every line is a header line
	scanOff                    // tainted, or not HTTP/1.x
)

// feed consumes the next bytes of the connection.
func (s *scanner) feed(p []byte) {
	for len(p) > 0 {
		switch s.state {
		case scanOff:
			return
		case scanBody, scanChunkData:
			k := min(uint64(len(p)), s.remaining)
			p = p[k:]
			s.remaining -= k
			if s.remaining == 0 {
				if s.state == scanBody {
					s.state = scanHead
				} else {
					s.state, s.crlf = scanChunkEnd, 0
				}
			}
		case scanChunkEnd:
			if p[0] != "\r\n"[s.crlf] {
				s.fallback() // the byte is read again as part of a line
				continue
			}
			p = p[1:]
			if s.crlf++; s.crlf == 2 {
				s.state = scanChunkSize
			}
		default:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				s.add(p)
				return
			}
			s.add(p[:i])
			p = p[i+1:]
			s.endLine()
		}
	}
}

// add appends bytes of the current line.
func (s *scanner) add(b []byte) {
	if s.n < lineKeep {
		copy(s.line[s.n:], b)
	}
	if len(b) >= len(s.tail) {
		copy(s.tail[:], b[len(b)-len(s.tail):])
	} else {
		copy(s.tail[:], s.tail[len(b):])
		copy(s.tail[len(s.tail)-len(b):], b)
	}
	if s.n < 1<<30 {
		s.n += min(len(b), 1<<30)
	}
}

// endLine handles the line just ended by '\n'.
func (s *scanner) endLine() {
	n := s.n
	s.n = 0
	cr := n > 0 && s.tail[len(s.tail)-1] == '\r'
	if cr {
		n--
	}
	truncated := n > lineKeep
	content := s.line[:min(n, lineKeep)]
	switch s.state {
	case scanHead:
		s.headLine(content, n, truncated, cr)
	case scanChunkSize:
		s.chunkSizeLine(content, truncated, cr)
	case scanTrailer:
		if n == 0 {
			s.state = scanHead
		}
	case scanLines:
		if n == 0 {
			s.resetBlock()
			return
		}
		s.field(content, truncated)
	}
}

func (s *scanner) headLine(content []byte, n int, truncated, cr bool) {
	switch {
	case !s.started && !truncated && len(bytes.Trim(content, "\r")) == 0:
		// Empty lines (or stray CRs) before a request line: Go skips the
		// CRLF some clients send after a POST body; otherwise it refuses.
	case n == 0:
		s.endBlock()
	case !s.started:
		s.started = true
		if !truncated && string(content) == "PRI * HTTP/2.0" {
			s.state = scanOff
			return
		}
		// The version ends the line: " HTTP/x.y". Go ignores
		// Transfer-Encoding below HTTP/1.1.
		end := len(s.tail)
		if cr {
			end--
		}
		v := s.tail[end-9 : end]
		s.teIgnored = n >= len(v) && v[0] == ' ' && string(v[1:6]) == "HTTP/" && isDigit(v[6]) && v[7] == '.' && isDigit(v[8]) &&
			(v[6] < '1' || (v[6] == '1' && v[8] < '1'))
	default:
		s.field(content, truncated)
	}
}

// field notes a Content-Length or Transfer-Encoding field line and taints
// as soon as the block has both.
func (s *scanner) field(content []byte, truncated bool) {
	name, value, ok := bytes.Cut(content, []byte(":"))
	if !ok {
		return // no colon in the kept bytes: not one of the two short names
	}
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		v, ok := parseDecimal(trimOWS(value))
		if truncated || !ok || (s.cl && v != s.clVal) {
			s.clBad = true
		}
		s.cl, s.clVal = true, v
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		s.te = true
		s.teLines++
		s.teChunked = !truncated && bytes.EqualFold(trimOWS(value), []byte("chunked"))
	}
	if s.cl && s.te {
		s.tainted = true
		s.state = scanOff
	}
}

// endBlock picks the body framing of the block that just ended.
func (s *scanner) endBlock() {
	switch {
	case s.te && !s.teIgnored:
		if s.teLines == 1 && s.teChunked {
			s.state = scanChunkSize
		} else {
			s.state = scanLines // Go answers 501 and closes
		}
	case s.cl && s.clBad:
		s.state = scanLines
	case s.cl && s.clVal > 0:
		s.state, s.remaining = scanBody, s.clVal
	}
	s.resetBlock()
}

func (s *scanner) chunkSizeLine(content []byte, truncated, cr bool) {
	if !cr || truncated {
		s.fallback()
		return
	}
	hex, _, _ := bytes.Cut(bytes.TrimRight(content, " \t"), []byte(";"))
	size, ok := parseHex(hex)
	switch {
	case !ok:
		s.fallback()
	case size == 0:
		s.state = scanTrailer
	default:
		s.state, s.remaining = scanChunkData, size
	}
}

func (s *scanner) fallback() {
	s.state = scanLines
	s.resetBlock()
}

func (s *scanner) resetBlock() {
	s.started, s.teIgnored = false, false
	s.cl, s.te, s.clBad, s.clVal = false, false, false, 0
	s.teLines, s.teChunked = 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

// parseDecimal parses a Content-Length value as Go does (digits only, at
// most 63 bits).
func parseDecimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v < 1<<63
}

// parseHex parses a chunk size as Go does (1–16 hex digits).
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}
