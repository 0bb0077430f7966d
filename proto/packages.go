package proto

import "slices"

// DefaultPackages returns the default tier of the package catalogue
// (sandbox.md §6): always importable, never requested. Sorted.
// The sandbox's catalogue (services/sandbox/internal/catalogue) is checked
// against this list and ApprovablePackages by its tests (backend.md §6.2).
func DefaultPackages() []string {
	return []string{
		"bufio", "bytes", "cmp", "container/heap", "container/list", "container/ring", "context",
		"crypto/hmac", "crypto/md5", "crypto/rand", "crypto/sha1", "crypto/sha256", "crypto/sha512", "crypto/subtle",
		"encoding/base32", "encoding/base64", "encoding/binary", "encoding/csv", "encoding/hex", "encoding/json",
		"errors", "fmt", "hash", "hash/crc32", "hash/fnv", "html", "io", "maps", "math", "math/big", "math/bits",
		"math/cmplx", "math/rand", "math/rand/v2", "mcpbox", "net/http", "net/mail", "net/netip", "net/url", "path",
		"regexp", "slices", "sort", "strconv", "strings", "sync", "text/tabwriter", "time", "unicode",
		"unicode/utf16", "unicode/utf8",
	}
}

// ApprovablePackages returns the opt-in tier of the package catalogue
// (sandbox.md §6): the only packages a request may name. Sorted.
func ApprovablePackages() []string {
	return []string{
		"archive/tar", "archive/zip", "compress/flate", "compress/gzip", "compress/zlib", "crypto/aes",
		"crypto/cipher", "crypto/ecdsa", "crypto/ed25519", "crypto/elliptic", "crypto/rsa", "crypto/x509",
		"encoding/asn1", "encoding/pem", "encoding/xml", "hash/adler32", "hash/crc64", "image", "image/color",
		"image/gif", "image/jpeg", "image/png", "index/suffixarray", "log", "mime", "mime/multipart",
		"mime/quotedprintable", "sync/atomic", "text/scanner",
	}
}

// IsDefaultPackage reports whether a package needs no approval.
func IsDefaultPackage(p string) bool {
	_, ok := slices.BinarySearch(DefaultPackages(), p)
	return ok
}

// IsApprovablePackage reports whether a package may be requested.
func IsApprovablePackage(p string) bool {
	_, ok := slices.BinarySearch(ApprovablePackages(), p)
	return ok
}
