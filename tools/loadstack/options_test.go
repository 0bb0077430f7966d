package main

import (
	"errors"
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgsDefaultsAreTheTargetsOfGateway15(t *testing.T) {
	t.Parallel()
	o, err := parseArgs([]string{"-loadgen", "lg"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.runs, []string{runP1, runP2}) || !slices.Equal(o.p1Rates, []float64{250}) {
		t.Errorf("runs %v, P1 rates %v", o.runs, o.p1Rates)
	}
	if o.p1Duration != 60*time.Second || o.p1Warmup != 5*time.Second || o.p2Rate != 50 || o.p2Duration != 20*time.Second {
		t.Errorf("P1 %s after %s, P2 %g/s for %s", o.p1Duration, o.p1Warmup, o.p2Rate, o.p2Duration)
	}
	if o.listTools != 500 || o.era != "initialize" || o.portOffset != 10000 || o.adminDB != defaultAdminDB {
		t.Errorf("list tools %d, era %s, offset %d, db %s", o.listTools, o.era, o.portOffset, o.adminDB)
	}
}

func TestParseArgsTakesTheTestDatabaseFromTheEnvironmentUnlessGiven(t *testing.T) {
	t.Parallel()
	env := "postgres://ci@127.0.0.1:5433/postgres"
	o, err := parseArgs([]string{"-loadgen", "lg"}, env, io.Discard)
	if err != nil || o.adminDB != env {
		t.Fatalf("db %q, err %v", o.adminDB, err)
	}
	o, err = parseArgs([]string{"-loadgen", "lg", "-db", "postgres://x@127.0.0.1/postgres"}, env, io.Discard)
	if err != nil || o.adminDB != "postgres://x@127.0.0.1/postgres" {
		t.Fatalf("db %q, err %v", o.adminDB, err)
	}
}

func TestParseArgsRunsAndRates(t *testing.T) {
	t.Parallel()
	o, err := parseArgs([]string{"-loadgen", "lg", "-runs", " P2 ,p1,p2", "-p1-rates", "100, 150,250"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.runs, []string{runP1, runP2}) || !slices.Equal(o.p1Rates, []float64{100, 150, 250}) {
		t.Errorf("runs %v, rates %v", o.runs, o.p1Rates)
	}
}

func TestParseArgsRejectsBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-loadgen: required"},
		{[]string{"-loadgen", "lg", "-runs", "p3"}, `"p3" is not a run`},
		{[]string{"-loadgen", "lg", "-runs", ""}, `"" is not a run`},
		{[]string{"-loadgen", "lg", "-p1-rates", "100,0"}, `"0" is not a positive rate`},
		{[]string{"-loadgen", "lg", "-p1-rates", "NaN"}, `"NaN" is not a positive rate`},
		{[]string{"-loadgen", "lg", "-p2-rate", "-1"}, "-p2-rate -1"},
		{[]string{"-loadgen", "lg", "-p1-duration", "0s"}, "must be positive"},
		{[]string{"-loadgen", "lg", "-p2-warmup", "-1s"}, "zero or positive"},
		{[]string{"-loadgen", "lg", "-list-tools", "0"}, "-list-tools 0"},
		{[]string{"-loadgen", "lg", "-era", "sse"}, `-era "sse"`},
		{[]string{"-loadgen", "lg", "-workers", "0"}, "-workers 0"},
		{[]string{"-loadgen", "lg", "-port-offset", "-5"}, "-port-offset -5"},
		{[]string{"-loadgen", "lg", "extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined"},
	} {
		_, err := parseArgs(tc.args, "", io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseArgs([]string{"-h"}, "", io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestResolveFillsPathsUnderTheRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	o := options{loadgen: "lg"}
	if err := o.resolve(root); err != nil {
		t.Fatal(err)
	}
	if o.root != root || o.bin != filepath.Join(root, "bin") || o.out != filepath.Join(root, ".cache", "load") || !filepath.IsAbs(o.loadgen) {
		t.Errorf("resolved %+v", o)
	}
}

// -bench and -soak replace P1 and P2, write to .cache/bench by default and check their own flags.
func TestParseArgsBenchAndSoak(t *testing.T) {
	t.Parallel()
	o, err := parseArgs([]string{"-loadgen", "lg", "-bench"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.runs) != 0 || !o.benchOut || o.benchDuration != 10*time.Second || o.benchWarmup != 3*time.Second ||
		o.concurrency != 8 || o.users != 8 || o.soak != 0 || o.soakInterval != 30*time.Second {
		t.Errorf("bench defaults %+v", o)
	}
	if err := o.resolve("/r"); err != nil || o.out != "/r/.cache/bench" {
		t.Errorf("out %s, %v", o.out, err)
	}
	o, err = parseArgs([]string{"-loadgen", "lg", "-soak", "10m", "-out", "/x"}, "", io.Discard)
	if err != nil || o.benchOut || o.soak != 10*time.Minute || len(o.runs) != 0 {
		t.Errorf("soak: %+v, %v", o, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bench", "-runs", "p1"}, "-runs"},
		{[]string{"-update-docs"}, "-update-docs: only with -bench"},
		{[]string{"-bench", "-concurrency", "0"}, "-concurrency 0"},
		{[]string{"-bench", "-users", "101"}, "-users 101"},
		{[]string{"-soak", "1m", "-soak-rate", "-3"}, "-soak-rate -3"},
		{[]string{"-bench", "-bench-duration", "0s"}, "-bench-duration"},
	} {
		_, err := parseArgs(append([]string{"-loadgen", "lg"}, tc.args...), "", io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
