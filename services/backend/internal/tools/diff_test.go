package tools

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"both empty", "", "", ""},
		{
			"one line changed", "a\nb\nc\n", "a\nB\nc\n",
			"--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
		},
		{
			"from nothing", "", "x\ny\n",
			"--- old\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			"to nothing", "x\n", "",
			"--- old\n+++ new\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			"insert in the middle keeps three lines of context",
			"1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nnew\n5\n6\n7\n8\n",
			"--- old\n+++ new\n@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n",
		},
		{
			"no newline at end",
			"a\nb", "a\nc",
			"--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
		},
		{
			"newline added at end",
			"a", "a\n",
			"--- old\n+++ new\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n",
		},
		{
			"two hunks when changes are more than six lines apart",
			lines(20), strings.Replace(strings.Replace(lines(20), "2\n", "two\n", 1), "18\n", "eighteen\n", 1),
			"--- old\n+++ new\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n" +
				"@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n",
		},
		{
			"one hunk when changes are six lines apart",
			lines(12), strings.Replace(strings.Replace(lines(12), "2\n", "x\n", 1), "9\n", "y\n", 1),
			"--- old\n+++ new\n@@ -1,12 +1,12 @@\n 1\n-2\n+x\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+y\n 10\n 11\n 12\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := UnifiedDiff("old", "new", tc.a, tc.b)
			if got != tc.want {
				t.Fatalf("UnifiedDiff:\n%s\nwant:\n%s", got, tc.want)
			}
			if got != "" {
				if back, err := applyDiff(tc.a, got); err != nil || back != tc.b {
					t.Fatalf("applying the diff gives %q (%v), want %q", back, err, tc.b)
				}
			}
		})
	}
}

// The script is the shortest one: a moved block costs its lines twice, not
// the whole file.
func TestLineEditsMinimal(t *testing.T) {
	t.Parallel()
	a := splitLines("a\nb\nc\nd\ne\nf\n")
	b := splitLines("a\nc\nd\nb\ne\nf\n")
	changes := 0
	for _, e := range lineEdits(a, b) {
		if e.kind != opEqual {
			changes++
		}
	}
	if changes != 2 {
		t.Fatalf("%d inserted+deleted lines, want 2", changes)
	}
}

// Past maxEditDistance the middle is replaced whole, still a correct diff.
func TestUnifiedDiffBounded(t *testing.T) {
	t.Parallel()
	var a, b strings.Builder
	for i := range 3 * maxEditDistance {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := UnifiedDiff("old", "new", a.String(), b.String())
	if back, err := applyDiff(a.String(), d); err != nil || back != b.String() {
		t.Fatalf("bounded diff does not apply: %v", err)
	}
}

func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nc\nd\n")
	f.Add("", "x")
	f.Add("x\ny", "x\ny\n")
	f.Add(lines(30), strings.Replace(lines(30), "7\n", "", 1)+"31")
	f.Add("\n\n\n", "\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := UnifiedDiff("old", "new", a, b)
		if (d == "") != (a == b) {
			t.Fatalf("diff of %q and %q is %q", a, b, d)
		}
		if d == "" {
			return
		}
		back, err := applyDiff(a, d)
		if err != nil || back != b {
			t.Fatalf("applying\n%s\nto %q gives %q (%v), want %q", d, a, back, err, b)
		}
	})
}

// lines is "1\n2\n…n\n".
func lines(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(strconv.Itoa(i) + "\n")
	}
	return sb.String()
}

// applyDiff applies a unified diff to a, checking every context and
// deleted line, the way patch(1) would.
func applyDiff(a, diff string) (string, error) {
	src := splitLines(a)
	dl := splitLines(diff)
	if len(dl) < 2 || !strings.HasPrefix(dl[0], "--- ") || !strings.HasPrefix(dl[1], "+++ ") {
		return "", fmt.Errorf("no header")
	}
	var out []string
	pos := 0 // next line of src to copy
	var last *string
	for i := 2; i < len(dl); i++ {
		l := dl[i]
		switch {
		case strings.HasPrefix(l, "@@ -"):
			var aStart, aCount int
			spec := strings.Fields(l)[1][1:]
			startText, countText, ok := strings.Cut(spec, ",")
			aStart, _ = strconv.Atoi(startText)
			aCount = 1
			if ok {
				aCount, _ = strconv.Atoi(countText)
			}
			if aCount == 0 {
				aStart++
			}
			for pos < aStart-1 {
				out = append(out, src[pos])
				pos++
			}
			last = nil
		case l == "\\ No newline at end of file\n":
			if last == nil {
				return "", fmt.Errorf("marker without a line")
			}
			*last = strings.TrimSuffix(*last, "\n")
		default:
			body := l[1:]
			switch l[0] {
			case ' ', '-':
				if pos >= len(src) {
					return "", fmt.Errorf("line %d: past the end", i)
				}
				if strings.TrimSuffix(src[pos], "\n") != strings.TrimSuffix(body, "\n") {
					return "", fmt.Errorf("line %d: %q does not match %q", i, body, src[pos])
				}
				if l[0] == ' ' {
					out = append(out, src[pos])
					last = &out[len(out)-1]
					*last = body
				} else {
					last = new(string)
				}
				pos++
			case '+':
				out = append(out, body)
				last = &out[len(out)-1]
			default:
				return "", fmt.Errorf("line %d: unknown prefix in %q", i, l)
			}
		}
	}
	out = append(out, src[pos:]...)
	return strings.Join(out, ""), nil
}
