package tool

import "context"

type Input struct {
	Name string `json:"name"`
}

type Output struct {
	Greeting string `json:"greeting"`
}

// Main greets someone by name.
func Main(ctx context.Context, in Input) (*Output, error) {
	return &Output{Greeting: "hello " + in.Name}, nil
}
