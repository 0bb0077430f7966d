package tool

import "context"

// Main is broken.
func Main(ctx context.Context) (string, error) {
	x := []int{1, 2
	return "x", nil
}
