package headers

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scanCases are byte streams of one connection and whether a header block
// in them holds both Content-Length and Transfer-Encoding.
var scanCases = []struct {
	name    string
	stream  string
	tainted bool
}{
	{"CL+TE", "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	{"TE+CL", "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", true},
	{"lower case", "POST /mcp HTTP/1.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n", true},
	{"mixed case", "POST /mcp HTTP/1.1\r\nCONTENT-LENGTH: 5\r\nTransfer-encoding: identity\r\n\r\n", true},
	{"bare LF", "POST /mcp HTTP/1.1\nContent-Length: 5\nTransfer-Encoding: chunked\n\n", true},
	{"HTTP/1.0 too", "POST /mcp HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"blank value", "POST /mcp HTTP/1.1\r\nContent-Length:\r\nTransfer-Encoding:\r\n\r\n", true},
	{"after a CL request", "POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" +
		"POST /mcp HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"after a chunked request", "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\nX-T: 1\r\n\r\n" +
		"GET /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", true},
	{"after a GET", "GET /mcp HTTP/1.1\r\nHost: a\r\n\r\nPOST /mcp HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"after POST with stray CRLF", "POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\r\n" +
		"POST /mcp HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"huge CL value: fallback still sees the next block", "POST / HTTP/1.1\r\nContent-Length: " + strings.Repeat("9", 30) + "\r\n\r\n" +
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"bad chunk size: fallback", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n" +
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"missing CRLF after chunk: fallback", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz\r\n\r\n" +
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"padded CL value: fallback", "POST / HTTP/1.1\r\nContent-Length:" + strings.Repeat(" ", 80) + "2\r\n\r\n{}" +
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	{"gzip TE: fallback", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n" +
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},

	{"CL only", "POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", false},
	{"chunked only", "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", false},
	{"GET", "GET /mcp HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n", false},
	{"fields in separate blocks", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	{"lookalike names", "POST / HTTP/1.1\r\nX-Content-Length: 1\r\nContent-Lengthy: 1\r\nTransfer-Encoding-X: chunked\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", false},
	{"underscore is another name", "POST / HTTP/1.1\r\nTransfer_Encoding: chunked\r\nContent-Length: 0\r\n\r\n", false},
	{"CL body holding header text", "POST /mcp HTTP/1.1\r\nContent-Length: 52\r\n\r\n" +
		"x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"GET /mcp HTTP/1.1\r\n\r\n", false},
	{"chunk data holding header text", "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"34\r\nx\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n0\r\n\r\n" +
		"GET /mcp HTTP/1.1\r\n\r\n", false},
	{"HTTP/1.0 ignores TE for framing", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/0.x ignores TE for framing", "GET / HTTP/0.1\nTransfer-Encoding: chunked\n\nGET / HTTP/1.1\nContent-Length: 0\n\n", false},
	{"h2c preface switches off", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n", false},
	{"trailers skipped", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 1\r\n\r\n" +
		"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false},
	{"empty", "", false},
}

func scanAll(stream string, step int) *scanner {
	s := new(scanner)
	b := []byte(stream)
	for len(b) > 0 {
		n := min(step, len(b))
		s.feed(b[:n])
		b = b[n:]
	}
	return s
}

func TestSmuggleScan(t *testing.T) {
	t.Parallel()
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			whole := scanAll(c.stream, len(c.stream)+1)
			if whole.tainted != c.tainted {
				t.Fatalf("tainted = %v, want %v", whole.tainted, c.tainted)
			}
			for _, step := range []int{1, 2, 3, 7, 64} {
				if got := scanAll(c.stream, step); *got != *whole {
					t.Fatalf("feeding %d bytes at a time ends in another state: %+v vs %+v", step, *got, *whole)
				}
			}
		})
	}
}

func TestSmuggleScanSkipsLargeBodiesWithoutBuffering(t *testing.T) {
	t.Parallel()
	s := new(scanner)
	s.feed([]byte("POST / HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n"))
	body := []byte(strings.Repeat("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", 1000))
	for range 10 {
		s.feed(body)
	}
	if s.tainted || s.state != scanBody {
		t.Fatalf("state %d tainted %v: the body must be skipped", s.state, s.tainted)
	}
}

func FuzzSmuggleScan(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c.stream), uint8(3))
	}
	f.Add([]byte("\r\r\r\n\n\n"), uint8(1))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := scanAll(string(data), len(data)+1)
		pieces := scanAll(string(data), int(step%32)+1)
		if *whole != *pieces {
			t.Fatalf("state depends on how the bytes were split: %+v vs %+v", *whole, *pieces)
		}
		// A block that is a prefix of the stream and holds both fields
		// always taints.
		if strings.HasPrefix(string(data), "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n") && !whole.tainted {
			t.Fatal("missed a leading CL+TE block")
		}
	})
}

// FuzzSmuggleScanFraming checks the scanner's framing against Go's own
// request parser: wherever net/http finishes a request (body and trailers
// read), a scanner fed exactly those bytes is at the start of a new header
// block, unless it stopped (tainted, h2c) or fell back to the line scan.
func FuzzSmuggleScanFraming(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c.stream))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		br := bufio.NewReader(src)
		for {
			req, err := http.ReadRequest(br)
			if err != nil || req.Method == "PRI" {
				return
			}
			_, err = io.Copy(io.Discard, req.Body)
			_ = req.Body.Close()
			if err != nil {
				return
			}
			off := len(data) - src.Len() - br.Buffered()
			s := scanAll(string(data[:off]), off+1)
			if s.state == scanOff || s.state == scanLines {
				continue
			}
			if s.state != scanHead || s.started || s.n != 0 {
				t.Fatalf("after %q Go is at a request boundary, the scanner is not: %+v", data[:off], *s)
			}
		}
	})
}
