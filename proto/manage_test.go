package proto

import "testing"

func TestCallerActor(t *testing.T) {
	t.Parallel()
	tests := map[Caller]string{
		{Kind: CallerLocal}: "llm:local",
		{Kind: CallerLocal, Email: "ignored@example.com"}:          "llm:local",
		{Kind: CallerRemote, Email: "alice@example.com", Sub: "1"}: "llm:alice@example.com",
		{Kind: CallerRemote, Sub: "abc"}:                           "llm:remote",
		{Kind: CallerRemote}:                                       "llm:remote",
		{Kind: CallerAdmin}:                                        "admin",
	}
	for c, want := range tests {
		if got := c.Actor(); got != want {
			t.Errorf("%+v.Actor() = %q, want %q", c, got, want)
		}
	}
}
