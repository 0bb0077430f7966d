// Package canon is the one canonical JSON encoder of MCPbox and the pinned
// hash built on it (backend.md §5.3, contracts.md §4).
//
// Canonical JSON is RFC 8785 (JCS): Marshal encodes with encoding/json (HTML
// escaping off) and hands the bytes to github.com/gowebpki/jcs, which sorts
// object keys by UTF-16 code units, removes whitespace, writes numbers in
// the ECMAScript form and strings with only '"', '\\' and U+0000–U+001F
// escaped. encoding/json output alone is not canonical; never hash it.
//
// The pinned hash is "sha256:" + lowercase hex of SHA-256 over the canonical
// JSON of {"code", "manifest"} (go tools, HashGo) or {"definition",
// "manifest"} (external tools, HashExternal). The backend pins it on
// approval, the gateway compares plan and catalog, and the sandbox
// recomputes it before running anything: all three call this package, so a
// change here is a change of every pinned hash. The test vectors in
// hash_test.go freeze it; they must never be edited to make a change pass.
//
// Layout: the content types (proto.Manifest, proto.ExternalDefinition) and
// the manifest normaliser (proto.Manifest.Normalize, proto.NormalizeHost)
// live in package proto, because they are wire types; canon imports proto
// and proto must never import canon. NormalizeManifest here is the same
// function, so callers that think of "the canon normaliser" find it.
package canon
