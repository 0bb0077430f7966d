package tool

import "context"

type Input struct {
	Name string `json:"name"`
}

type Output struct {
	Greeting string `json:"greeting"`
	Length   int    `json:"length"`
}

// Main greets the caller.
func Main(ctx context.Context, in Input) (Output, error) {
	return Output{Greeting: "hello " + in.Name, Length: len(in.Name)}, nil
}
