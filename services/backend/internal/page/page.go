// Package page is the pagination of every admin API list (backend.md §8,
// §15.2): a limit of 1–200 rows (default 50, never clamped) and an opaque
// cursor naming the position after the last row of the previous page.
//
// Each list sorts by a fixed total order that ends in a unique column (id or
// seq) and reads the next page with a keyset condition, so pages neither skip
// nor repeat rows while rows are inserted. A list asks the database for
// limit+1 rows; Cut keeps limit of them and, when a row was left over,
// returns the cursor after the last row kept:
//
//	filter := page.Filter("servers", q, status)
//	if raw != "" {
//		err := page.Decode(raw, filter, &afterName, &afterID)
//	}
//	rows := query(..., limit+1)
//	items, next := page.Cut(rows, limit, filter, func(r Row) []any { return []any{r.Name, r.ID} })
//
// # Cursor format
//
// A cursor is the unpadded base64url encoding of the JSON object
// {"v":1,"k":[<sort key values>...],"f":"<check>"}, where the last key is
// the unique tiebreak and the check is the first 16 bytes, base64url, of the
// SHA-256 of the list's Filter string, a NUL byte and the JSON of "k". The
// check binds the cursor to its list and filter and exposes edits; it is
// not a signature (anyone can compute it), and needs none: a cursor only
// names a position in a list the caller may read anyway, and every replica
// must accept every other's. Decode accepts only the exact bytes Encode
// produces for the same filter and key types; anything else (another list
// or filter, a changed value, another key count or type, non-canonical JSON
// or base64) is a *proto.RuleError for the field "cursor".
//
// Key types are string, int, int32, int64, bool, time.Time (encoded in UTC,
// RFC 3339 with nanoseconds) and uuid.UUID; Decode's destinations are
// pointers to the same types.
package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// Limits of backend.md §15.2.
const (
	// DefaultLimit is the page size when the request names none.
	DefaultLimit = 50
	// MaxLimit is the largest page a request may ask for.
	MaxLimit = 200
	// MaxCursorLen bounds the cursors Decode reads, in bytes; cursors hold a
	// few short keys and stay far below it.
	MaxCursorLen = 2048
)

// Field names of the errors, as the query parameters are named.
const (
	FieldLimit  = "limit"
	FieldCursor = "cursor"
)

// version is the cursor format's "v".
const version = 1

// wire is a cursor's JSON. The field order is the encoding's.
type wire struct {
	V int               `json:"v"`
	K []json.RawMessage `json:"k"`
	F string            `json:"f"`
}

// ParseLimit reads the limit query parameter: "" is DefaultLimit; otherwise
// decimal digits naming 1–MaxLimit. Anything else is a *proto.RuleError for
// the field "limit" (a request is never clamped).
func ParseLimit(raw string) (int, error) {
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || !digits(raw) {
		return 0, limitError()
	}
	return n, CheckLimit(n)
}

// CheckLimit checks a page size of 1–MaxLimit, for callers that did not
// parse it with ParseLimit; a failure is a *proto.RuleError for "limit".
func CheckLimit(n int) error {
	if n < 1 || n > MaxLimit {
		return limitError()
	}
	return nil
}

func limitError() *proto.RuleError {
	return &proto.RuleError{Field: FieldLimit, Message: fmt.Sprintf(
		"must be an integer from 1 to %d (default %d); page through longer lists with next_cursor.", MaxLimit, DefaultLimit)}
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Filter returns the filter identity of a list request: the list's name and
// its filter values (query parameters after validation, "" for absent) in a
// fixed order. A cursor is valid only for the identity it was made for.
func Filter(list string, values ...string) string {
	raw, err := json.Marshal(append([]string{list}, values...))
	if err != nil {
		// A []string always marshals.
		panic(err)
	}
	return string(raw)
}

// check is the "f" of a cursor with keys k (their JSON) for filter.
func check(filter string, k []byte) string {
	h := sha256.New()
	h.Write([]byte(filter))
	h.Write([]byte{0})
	h.Write(k)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// Encode returns the cursor after a row whose sort key values are keys (the
// unique tiebreak last), for the list request identified by filter. It
// panics when a key's type is not one of the package's key types: that is a
// programming error, which a list's tests find.
func Encode(filter string, keys ...any) string {
	k := make([]json.RawMessage, len(keys))
	for i, key := range keys {
		raw, err := marshalKey(key)
		if err != nil {
			panic(fmt.Sprintf("page: key %d: %v", i, err))
		}
		k[i] = raw
	}
	kj, err := json.Marshal(k)
	if err != nil {
		panic(fmt.Sprintf("page: %v", err))
	}
	raw, err := json.Marshal(wire{V: version, K: k, F: check(filter, kj)})
	if err != nil {
		panic(fmt.Sprintf("page: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// marshalKey encodes one key value; times in UTC.
func marshalKey(k any) (json.RawMessage, error) {
	switch v := k.(type) {
	case string, int, int32, int64, bool, uuid.UUID:
		return json.Marshal(v)
	case time.Time:
		return json.Marshal(v.UTC())
	default:
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
}

// Decode reads cursor for the list request identified by filter into dst,
// pointers to the key types in the order Encode was given the values. Any
// cursor that Encode would not have produced for this filter and these key
// types is a *proto.RuleError for the field "cursor"; the destinations then
// hold no meaningful values. Decode panics when a
// destination is not a pointer to a key type (a programming error).
func Decode(cursor, filter string, dst ...any) error {
	for i, d := range dst {
		if !isKeyPointer(d) {
			panic(fmt.Sprintf("page: destination %d: unsupported type %T", i, d))
		}
	}
	if len(cursor) > MaxCursorLen {
		return invalidCursor()
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil {
		return invalidCursor()
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil || w.V != version || len(w.K) != len(dst) {
		return invalidCursor()
	}
	values := make([]any, len(dst))
	for i, d := range dst {
		if bytes.Equal(bytes.TrimSpace(w.K[i]), []byte("null")) {
			return invalidCursor()
		}
		if err := json.Unmarshal(w.K[i], d); err != nil {
			return invalidCursor()
		}
		values[i] = deref(d)
	}
	// Only the canonical encoding for this filter is a cursor: this refuses
	// another filter or list, an edited value or check, whitespace,
	// duplicate or differently cased fields, escapes, and non-canonical
	// numbers, uuids and times.
	if Encode(filter, values...) != cursor {
		return invalidCursor()
	}
	return nil
}

// isKeyPointer reports whether d is a non-nil pointer to a key type.
func isKeyPointer(d any) bool {
	switch p := d.(type) {
	case *string:
		return p != nil
	case *int:
		return p != nil
	case *int32:
		return p != nil
	case *int64:
		return p != nil
	case *bool:
		return p != nil
	case *uuid.UUID:
		return p != nil
	case *time.Time:
		return p != nil
	}
	return false
}

// deref returns the value a key pointer points to.
func deref(d any) any {
	switch p := d.(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *int32:
		return *p
	case *int64:
		return *p
	case *bool:
		return *p
	case *uuid.UUID:
		return *p
	case *time.Time:
		return *p
	}
	return nil
}

func invalidCursor() *proto.RuleError {
	return &proto.RuleError{Field: FieldCursor, Message: "is not a cursor of this list and filter; pass the next_cursor " +
		"of the previous page unchanged with the same filter and sort parameters, or start again without cursor."}
}

// Cut trims rows, read with a limit of limit+1, to the page of limit rows
// and returns the cursor after its last row, or "" when no row follows (the
// API's next_cursor null). keys gives a row's sort key values for Encode.
func Cut[T any](rows []T, limit int, filter string, keys func(T) []any) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	if limit == 0 {
		return rows, ""
	}
	return rows, Encode(filter, keys(rows[limit-1])...)
}
