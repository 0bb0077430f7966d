package page_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// FuzzDecode: Decode never panics on client bytes, refuses with a rule error
// for the cursor field, and accepts only what Encode produces: a decoded
// cursor re-encodes to itself.
func FuzzDecode(f *testing.F) {
	const filter = `["servers","",""]`
	id := uuid.MustParse("0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6")
	at := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	f.Add(page.Encode(filter, "alpha", id), filter)
	f.Add(page.Encode(filter, "", uuid.Nil), filter)
	f.Add(page.Encode(filter, "a<b>&\u2028", id), filter)
	f.Add(page.Encode(`["tools"]`, "alpha", id), filter)
	f.Add(page.Encode(filter, int64(5), at), filter)
	f.Add("", filter)
	f.Add("eyJ2IjoxLCJrIjpbXSwiZiI6IiJ9", filter)
	f.Add("eyJ2IjoxfQ", "")
	f.Add("!!!", filter)
	f.Fuzz(func(t *testing.T, cursor, filter string) {
		var s string
		var u uuid.UUID
		err := page.Decode(cursor, filter, &s, &u)
		if err != nil {
			var re *proto.RuleError
			if !errors.As(err, &re) || re.Field != page.FieldCursor {
				t.Fatalf("Decode(%q) = %v, not a rule error for the cursor", cursor, err)
			}
			return
		}
		if again := page.Encode(filter, s, u); again != cursor {
			t.Fatalf("Decode accepted %q, which re-encodes to %q", cursor, again)
		}
		var n int64
		var tm time.Time
		if page.Decode(cursor, filter, &n, &tm) == nil {
			t.Fatalf("%q decoded with two key type lists", cursor)
		}
	})
}
