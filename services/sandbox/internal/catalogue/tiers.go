package catalogue

import "github.com/mcpbox/mcpbox/proto"

// genericNote is the limit of the generic collection packages (§5.6).
const genericNote = "generic helpers partly unavailable in the interpreter; use package sort and plain loops"

func def(path, description string) Package {
	return Package{Path: path, Tier: proto.TierDefault, Description: description}
}

func opt(path, description string) Package {
	return Package{Path: path, Tier: proto.TierOptIn, Description: description}
}

func never(path, description, reason string) Package {
	return Package{Path: path, Tier: proto.TierNever, Description: description, Note: reason}
}

func withNote(p Package, note string) Package {
	p.Note = note
	return p
}

func filtered(p Package, include, exclude []string, note string) Package {
	p.Filtered, p.Include, p.Exclude, p.Note = true, include, exclude, note
	return p
}

// defaultTier is always importable (§6).
func defaultTier() []Package {
	return []Package{
		// text
		withNote(def("fmt", "Formatted I/O; Print* goes to the captured stdout"), "always loaded; Print*, Printf and Println write to the tool's captured stdout"),
		def("strings", "String search, splitting, joining and building"),
		def("strconv", "Conversions between strings and numbers or booleans"),
		def("bytes", "Byte-slice helpers and bytes.Buffer"),
		def("unicode", "Unicode character classes"),
		def("unicode/utf8", "UTF-8 encoding and decoding"),
		def("unicode/utf16", "UTF-16 encoding and decoding"),
		withNote(def("regexp", "Regular expressions (RE2 syntax)"), "RE2: matching runs in linear time; no backreferences"),
		def("text/tabwriter", "Aligned text columns"),
		def("html", "HTML entity escaping and unescaping"),
		// data formats
		def("encoding/json", "JSON encoding and decoding"),
		def("encoding/base64", "Base64 encoding"),
		def("encoding/base32", "Base32 encoding"),
		def("encoding/hex", "Hexadecimal encoding"),
		def("encoding/csv", "CSV reading and writing"),
		def("encoding/binary", "Fixed-size binary numbers and varints"),
		// time and math
		withNote(def("time", "Times, durations, formatting and time zones"), "time zone database embedded; time.Local is UTC"),
		def("math", "Floating-point math functions and constants"),
		def("math/big", "Arbitrary-precision integers, rationals and floats"),
		def("math/bits", "Bit counting and manipulation"),
		def("math/cmplx", "Complex-number math"),
		def("math/rand", "Pseudo-random numbers"),
		def("math/rand/v2", "Pseudo-random numbers (v2 API)"),
		// addresses
		def("net/url", "URL parsing, building and query escaping"),
		def("net/netip", "IP address and prefix values"),
		withNote(def("net/mail", "E-mail address and message header parsing"), "parsing only; nothing is sent"),
		// collections
		def("sort", "Sorting slices and user-defined collections"),
		def("container/heap", "Heap operations on a user-defined collection"),
		def("container/list", "Doubly linked list"),
		def("container/ring", "Circular list"),
		withNote(def("slices", "Generic slice helpers"), genericNote),
		withNote(def("maps", "Generic map helpers"), genericNote+"; iterator functions (Keys, Values, All) cannot be ranged over"),
		withNote(def("cmp", "Ordered-value comparison helpers"), genericNote),
		// utilities
		def("errors", "Error creation, wrapping and inspection"),
		def("context", "Deadlines and cancellation; Main's ctx carries the execution deadline"),
		withNote(def("sync", "Mutexes, WaitGroup, Once and other synchronisation"), "sync/atomic is opt-in"),
		def("io", "Reader and Writer interfaces and helpers"),
		def("bufio", "Buffered readers, writers and scanners"),
		def("path", "Slash-separated path manipulation (no file system access)"),
		// hashing
		def("crypto/sha256", "SHA-224 and SHA-256 hashes"),
		def("crypto/sha1", "SHA-1 hash"),
		def("crypto/sha512", "SHA-384 and SHA-512 hashes"),
		def("crypto/md5", "MD5 hash"),
		def("crypto/hmac", "HMAC message authentication"),
		def("crypto/subtle", "Constant-time comparisons"),
		def("crypto/rand", "Cryptographically secure random bytes"),
		def("hash", "Hash interfaces"),
		def("hash/crc32", "CRC-32 checksum"),
		def("hash/fnv", "FNV non-cryptographic hashes"),
		// HTTP types
		filtered(def("net/http", "HTTP types for building requests sent through mcpbox.HTTP"),
			[]string{
				"Header", "Request", "Response", "Cookie", "NewRequest", "NewRequestWithContext",
				"StatusText", "CanonicalHeaderKey", "ParseTime", "Method*", "Status*",
			}, nil,
			"types only: Header, Request, Response, Cookie, NewRequest, NewRequestWithContext, StatusText, CanonicalHeaderKey, ParseTime, Method* and Status* constants; send requests with mcpbox.HTTP (no Get, Post, Client, DefaultClient, Transport or servers)"),
		// host
		withNote(def(HostPackage, "MCPbox host package: HTTP through the egress broker, secrets, logging"),
			"HTTP, Header, Response, HTTPError, EgressError, Secret, LookupSecret, SecretNames, Log"),
	}
}

// optInTier is importable when approved through mcpbox_request_package and
// sent in extra_packages (§6).
func optInTier() []Package {
	const bombNote = "decompression bombs are bounded by the memory limit"
	return []Package{
		opt("encoding/xml", "XML encoding and decoding"),
		opt("encoding/pem", "PEM encoding of keys and certificates"),
		opt("encoding/asn1", "ASN.1 DER encoding"),
		withNote(opt("compress/gzip", "gzip compression and decompression"), bombNote),
		withNote(opt("compress/zlib", "zlib compression and decompression"), bombNote),
		withNote(opt("compress/flate", "DEFLATE compression and decompression"), bombNote),
		withNote(opt("archive/tar", "Reading and writing tar archives in memory"), bombNote),
		filtered(opt("archive/zip", "Reading zip archives held in memory"),
			[]string{"NewReader", "Reader", "File", "FileHeader", "Store", "Deflate", "Err*"}, nil,
			"NewReader only (over in-memory data; no OpenReader, no writing); "+bombNote),
		opt("crypto/aes", "AES block cipher"),
		opt("crypto/cipher", "Block cipher modes (GCM, CTR, CBC)"),
		opt("crypto/rsa", "RSA encryption and signatures"),
		opt("crypto/ecdsa", "ECDSA signatures"),
		opt("crypto/ed25519", "Ed25519 signatures"),
		opt("crypto/elliptic", "Elliptic curves"),
		filtered(opt("crypto/x509", "X.509 certificate and key parsing"),
			nil, []string{"SystemCertPool"}, "no system certificate pool (SystemCertPool)"),
		opt("hash/crc64", "CRC-64 checksum"),
		opt("hash/adler32", "Adler-32 checksum"),
		opt("image", "Basic 2-D images"),
		opt("image/color", "Colour models"),
		opt("image/png", "PNG decoding and encoding"),
		opt("image/jpeg", "JPEG decoding and encoding"),
		opt("image/gif", "GIF decoding and encoding"),
		withNote(opt("mime", "MIME types and media-type parameters"), "built-in type table only; no system mime files"),
		opt("mime/multipart", "Multipart bodies (form uploads)"),
		opt("mime/quotedprintable", "Quoted-printable encoding"),
		opt("index/suffixarray", "Substring search with suffix arrays"),
		opt("text/scanner", "Tokenizer for Go-like text"),
		withNote(opt("log", "Simple logging"), "writes to the captured stdout; Fatal* panics instead of exiting"),
		filtered(opt("sync/atomic", "Atomic integer operations"),
			nil, []string{"*Pointer*"}, "no Pointer type or *Pointer functions"),
	}
}

// neverTier cannot be approved; the note is the reason given to the LLM (§6).
func neverTier() []Package {
	const (
		fsReason   = "tools have no file system; send data in the arguments or fetch it with mcpbox.HTTP"
		netReason  = "tools have no direct network access; use mcpbox.HTTP, which goes through the egress policy"
		escReason  = "it would bypass the interpreter's isolation"
		tmplReason = "templates can read files (ParseFiles, ParseGlob) and cannot be filtered; build strings with fmt, strings or strings.Builder"
	)
	return []Package{
		never("os/...", "Operating system access", "no files, environment or processes; use mcpbox.Secret for secrets and the arguments for data"),
		never("syscall", "System calls", escReason),
		never("unsafe", "Unsafe memory access", escReason),
		never("reflect", "Run-time reflection", escReason+"; use encoding/json or type switches"),
		never("runtime/...", "Go runtime control", escReason),
		never("plugin", "Loading native plugins", escReason),
		never("C", "cgo", "cgo is not supported; write the tool in pure Go"),
		never("net", "Sockets and DNS", netReason),
		never("net/http/...", "HTTP clients, servers and test helpers", netReason+"; net/http itself exposes the request and response types"),
		never("net/rpc/...", "RPC clients and servers", netReason),
		never("net/smtp", "SMTP client", netReason),
		never("net/textproto", "Text protocol connections", netReason),
		never("crypto/tls", "TLS connections", netReason+"; mcpbox.HTTP handles TLS"),
		never("io/ioutil", "Deprecated file helpers", fsReason+"; use io and bytes"),
		never("io/fs", "File system interfaces", fsReason),
		never("path/filepath", "File system paths", fsReason+"; use package path for slash-separated paths"),
		never("embed", "Embedded files", fsReason),
		never("log/syslog", "System log", "tools have no system log; use fmt or mcpbox.Log"),
		never("log/slog", "Structured logging", "not available; use fmt or mcpbox.Log, which write to the captured stdout"),
		never("debug/...", "Binary and debug-format readers", escReason),
		never("go/...", "Go source tooling", "not available in tools"),
		never("testing/...", "Test framework", "not available in tools"),
		never("expvar", "Exported variables over HTTP", netReason),
		never("database/sql/...", "SQL databases", netReason+"; call an HTTP API with mcpbox.HTTP instead"),
		never("text/template/...", "Text templates", tmplReason),
		never("html/template", "HTML templates", tmplReason),
		never("iter", "Iterators (range over func)", "range over a function is an unsupported language feature in the interpreter; use slices and maps with ordinary loops"),
		never("github.com/traefik/yaegi/...", "The interpreter's own packages", escReason),
	}
}
