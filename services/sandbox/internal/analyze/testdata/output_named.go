package tool

import (
	"context"
	"time"
)

type Item struct {
	ID   int      `json:"id"`
	Tags []string `json:"tags"`
}

type Result struct {
	Items   []Item            `json:"items"`
	Next    *string           `json:"next"`
	Meta    map[string]string `json:"meta,omitempty"`
	Fetched time.Time         `json:"fetched"`
	Raw     []byte            `json:"raw,omitempty"`
	Total   uint              `json:"total"`
}

// Lists items.
func Main(ctx context.Context) (Result, error) {
	return Result{}, nil
}
