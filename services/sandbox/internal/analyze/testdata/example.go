package tool

import (
	"context"
	"strconv"

	"mcpbox"
)

type Input struct {
	Repo  string `json:"repo" jsonschema:"Repository as owner/name, e.g. golang/go"`
	Limit int    `json:"limit,omitempty" jsonschema:"How many releases to return (default 5)"`
}

type Output struct {
	Releases []Release `json:"releases"`
}

type Release struct {
	Tag       string `json:"tag_name"`
	Published string `json:"published_at"`
}

// Main lists the latest releases of a GitHub repository.
func Main(ctx context.Context, in Input) (Output, error) {
	if in.Limit <= 0 {
		in.Limit = 5
	}
	var out Output
	u := "https://api.github.com/repos/" + in.Repo + "/releases?per_page=" + strconv.Itoa(in.Limit)
	h := mcpbox.Header{"Authorization": "Bearer " + mcpbox.Secret("GITHUB_TOKEN")}
	err := mcpbox.HTTP.GetJSON(ctx, u, &out.Releases, h) // an HTTPError or EgressError keeps its detail
	return out, err
}
