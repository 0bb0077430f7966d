package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxLineBytes bounds one line of benchmark output (custom metrics can make long lines).
const maxLineBytes = 1 << 20

// parse reads `go test -bench` output and returns the ns/op of every result line, by benchmark name without its
// -GOMAXPROCS suffix, in input order. Lines that are not results (goos:, pkg:, PASS, ok, test output) are skipped;
// a result line without a usable ns/op is skipped too, since only ns/op is compared.
func parse(r io.Reader) (map[string][]float64, error) {
	out := map[string][]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for sc.Scan() {
		name, nsPerOp, ok := parseLine(sc.Text())
		if ok {
			out[name] = append(out[name], nsPerOp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the benchmark output: %w", err)
	}
	return out, nil
}

// parseLine reads one result line, "BenchmarkName-2  <iterations>  <value> ns/op  [<value> <unit>]...", as the
// testing package prints it.
func parseLine(line string) (name string, nsPerOp float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", 0, false
	}
	if n, err := strconv.ParseInt(f[1], 10, 64); err != nil || n <= 0 {
		return "", 0, false
	}
	for i := 2; i+1 < len(f); i += 2 {
		if f[i+1] != "ns/op" {
			continue
		}
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return "", 0, false
		}
		return trimProcs(f[0]), v, true
	}
	return "", 0, false
}

// trimProcs removes the -GOMAXPROCS suffix the testing package adds to names ("BenchmarkX-2" → "BenchmarkX").
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}
