package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
)

// Exit statuses of benchgate.
const (
	exitPass  = 0 // the ratio is at most the limit
	exitFail  = 1 // the ratio is above the limit
	exitUsage = 2 // bad command line, unreadable input or a benchmark without results
)

// Defaults of gateway.md §15: the gateway with an in-memory sandbox may cost at most 1.5× a bare go-sdk server.
const (
	defaultNumerator   = "BenchmarkGatewayCallStubSandbox"
	defaultDenominator = "BenchmarkBareSDKCall"
	defaultMax         = 1.5
)

// run is benchgate without the process around it: the arguments without the program name, the benchmark output,
// and the exit status as the result.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	num := fs.String("num", defaultNumerator, "benchmark measured (numerator), without the -GOMAXPROCS suffix")
	den := fs.String("den", defaultDenominator, "baseline benchmark (denominator), without the -GOMAXPROCS suffix")
	limit := fs.Float64("max", defaultMax, "highest acceptable ratio of the medians")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *num == "" || *den == "" || *num == *den || !(*limit > 0) || math.IsInf(*limit, 0) {
		_, _ = fmt.Fprintln(stderr, "benchgate: want two different benchmark names (-num, -den), a positive finite -max and no arguments; the output of go test -bench comes on stdin")
		return exitUsage
	}
	samples, err := parse(stdin)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "benchgate: %v\n", err)
		return exitUsage
	}
	v, err := judge(samples, *num, *den, *limit)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "benchgate: %v\n", err)
		return exitUsage
	}
	_, _ = fmt.Fprintln(stdout, v)
	if !v.Pass {
		return exitFail
	}
	return exitPass
}
