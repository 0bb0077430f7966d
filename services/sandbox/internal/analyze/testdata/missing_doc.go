package tool

import "context"

func Main(ctx context.Context) (string, error) {
	return "no description", nil
}
