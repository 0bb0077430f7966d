package console_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/console"
)

func TestStreamPrefixesWholeLinesAndKeepsTail(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := console.New(&out)
	s := c.Stream("sandbox", 3)
	for _, chunk := range []string{"one\ntw", "o\r\nthree\n", "four\nfive"} {
		if _, err := s.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	c.Printf("started %s", "sandbox")
	s.Flush()
	want := "sandbox  | one\nsandbox  | two\nsandbox  | three\nsandbox  | four\ndevstack | started sandbox\nsandbox  | five\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := strings.Join(s.Tail(), ","); got != "three,four,five" {
		t.Errorf("tail %q", got)
	}
}

func TestStreamKeepsTwentyLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := console.New(&out).Stream("edge", 20)
	for i := range 50 {
		if _, err := fmt.Fprintf(s, "line %d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	tail := s.Tail()
	if len(tail) != 20 || tail[0] != "line 30" || tail[19] != "line 49" {
		t.Errorf("tail %v", tail)
	}
}
