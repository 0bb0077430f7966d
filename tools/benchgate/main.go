// Command benchgate is the ratio gate of gateway.md §15 (P3) that `make bench` runs: it reads `go test -bench`
// output on stdin, takes the median ns/op of two benchmarks over their runs (-count 6), prints the ratio of the
// first over the second and fails when it is above the limit.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./... | benchgate [-num NAME] [-den NAME] [-max 1.5]
//
// Names are given without the -GOMAXPROCS suffix; the lines of every package read count. The ratio is the ratio of
// the medians: go test runs the six runs of one benchmark back to back, so runs of the two benchmarks do not pair up.
//
// Exit status: 0 when the ratio is at most -max, 1 when it is above, 2 on a bad command line or when a benchmark has
// no result on stdin.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
