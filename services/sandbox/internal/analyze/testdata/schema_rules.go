package tool

import (
	"context"
	"encoding/json"
	"time"
)

// Level is how loud a message is.
type Level string

type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitempty"`
}

type Paging struct {
	Page    int `json:"page,omitempty"`
	PerPage int `json:"per_page,omitempty"`
}

type Audit struct {
	Reason string `json:"reason"`
}

type Input struct {
	Paging
	*Audit
	Query    string            `json:"query" jsonschema:"What to search for"`
	Level    Level             `json:"level" enum:"debug,info,warn"`
	Count    uint16            `json:"count,omitzero" enum:"10, 20, 50"`
	Strict   bool              `json:"strict" enum:"true"`
	Ratio    float64           `json:"ratio,omitempty"`
	Tags     []string          `json:"tags,omitempty" enum:"a,b"`
	Payload  []byte            `json:"payload"`
	Pair     [2]int            `json:"pair"`
	Labels   map[string]string `json:"labels,omitempty"`
	Window   Window            `json:"window"`
	Since    *time.Time        `json:"since"`
	Extra    json.RawMessage   `json:"extra,omitempty"`
	Anything any               `json:"anything,omitempty"`
	Options  struct {
		Deep bool `json:"deep"` // Search sub-folders too.
	} `json:"options"`
	// Mode says how matches are combined.
	Mode    string `json:"mode,omitempty"`
	Quoted  int    `json:"quoted,string"`
	Skipped string `json:"-"`
	hidden  string
	NoTag   string
}

// Main searches the archive
// for messages.
//
// It returns matching ids.
func Main(ctx context.Context, in Input) ([]string, error) {
	_ = in.hidden
	return nil, nil
}
