package tokencheck

import (
	"testing"

	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// BenchmarkCheck verifies one valid token per iteration (the hot path of
// every proxied request).
func BenchmarkCheck(b *testing.B) {
	e := newEnv(b, nil)
	h := bearer(e.token(nil))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := e.v.Check(ctx, h); rej != nil {
			b.Fatalf("rejected: %+v", *rej)
		}
	}
}

// BenchmarkCheckForged is a token refused at the alg check (what a flood of
// forged tokens costs).
func BenchmarkCheckForged(b *testing.B) {
	e := newEnv(b, nil)
	h := bearer(testissuer.Sign(header(map[string]any{"alg": "HS256"}), e.claims(nil), []byte("secret")))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := e.v.Check(ctx, h); rej == nil || rej.Reason != AlgNotAllowed {
			b.Fatalf("got %+v", rej)
		}
	}
}
