package tool

//go:generate echo hi

import (
	"context"
	"maps"
	"os"
	"sort"

	"mcpbox"
)

var mcpboxState = 1

type Input struct {
	Names []string `json:"names"`
	Count int      `json:"count"`
}

func numbers(yield func(int) bool) {}

// Main shows every kind of diagnostic.
func Main(ctx context.Context, in Input) (int, error) {
	m := map[string]int{}
	for k := range maps.Keys(m) {
		_ = k
	}
	for n := range numbers {
		_ = n
	}
	for i := range 10 {
		_ = i
	}
	for i := range in.Count {
		_ = i
	}
	for _, name := range in.Names {
		go func() { _ = name }()
	}
	name := "TOKEN"
	_ = mcpbox.Secret(name)
	_, _ = mcpbox.LookupSecret("lower")
	read := mcpbox.Secret
	_ = read
	_ = os.Args
	sort.Strings(in.Names)
	return max(1, 2), nil
}
