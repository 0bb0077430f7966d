package procfs

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

func TestParseStatm(t *testing.T) {
	t.Parallel()
	m, err := ParseStatm([]byte("384750 2283 1500 700 0 5000 0\n"), 4096)
	if err != nil || m != (Mem{SizeKB: 1539000, ResidentKB: 9132}) {
		t.Fatalf("got %+v, %v", m, err)
	}
	for _, bad := range []string{"", "1 2 3\n", "x 2 3 4 5 6 7\n", "-1 2 3 4 5 6 7\n", "1 99999999999999 3 4 5 6 7\n"} {
		if _, err := ParseStatm([]byte(bad), 4096); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseStatm([]byte("1 2 3 4 5 6 7"), 1000); err == nil {
		t.Error("page size 1000 accepted")
	}
}

// statusKB reads one "Name:   N kB" field of /proc/self/status.
func statusKB(t *testing.T, name string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte(name+":")); ok {
			v, err := strconv.ParseInt(string(bytes.Fields(rest)[0]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s in status", name)
	return 0
}

// statm and status are two views of the same counters: VmSize matches
// exactly (nothing maps between the reads), VmRSS within what the reads
// themselves may fault in.
func TestStatmAgreesWithStatus(t *testing.T) { //nolint:paralleltest // other tests would map memory between the reads
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	byPid, err := ReadStatm(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	at, err := ReadStatmAt(f)
	if err != nil {
		t.Fatal(err)
	}
	size, rss := statusKB(t, "VmSize"), statusKB(t, "VmRSS")
	for _, m := range []Mem{byPid, at} {
		if d := m.SizeKB - size; d < -4096 || d > 4096 {
			t.Errorf("statm size %d KiB, status VmSize %d KiB", m.SizeKB, size)
		}
		if d := m.ResidentKB - rss; d < -1024 || d > 1024 {
			t.Errorf("statm resident %d KiB, status VmRSS %d KiB", m.ResidentKB, rss)
		}
	}
}
