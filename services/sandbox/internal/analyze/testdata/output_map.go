package tool

import "context"

// Main returns a map, so there is no output schema.
func Main(ctx context.Context) (map[string]any, error) {
	return map[string]any{"ok": true}, nil
}
