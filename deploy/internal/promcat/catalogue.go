package promcat

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Metric is one entry of catalogue.json.
type Metric struct {
	// Name is the full metric name, mcpbox_<service>_<what>_<unit>.
	Name string `json:"name"`
	// Type is counter, gauge or histogram.
	Type string `json:"type"`
	// Labels are the label names, sorted.
	Labels []string `json:"labels"`
	// Unit is seconds, bytes, timestamp_seconds, or "" as the name's suffix says (before any _total).
	Unit string `json:"unit"`
	// Service is backend, gateway, sandbox or edge.
	Service string `json:"service"`
}

// ParseCatalogue decodes catalogue JSON strictly: unknown fields and trailing data are errors.
func ParseCatalogue(data []byte) ([]Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var metrics []Metric
	if err := dec.Decode(&metrics); err != nil {
		return nil, fmt.Errorf("decode catalogue: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode catalogue: trailing data after the array")
	}
	return metrics, nil
}

// SeriesNames returns the names a query may select for a catalogued metric: the name itself, and for a
// histogram also its _bucket, _sum and _count series.
func (m Metric) SeriesNames() []string {
	if m.Type != "histogram" {
		return []string{m.Name}
	}
	return []string{m.Name, m.Name + "_bucket", m.Name + "_sum", m.Name + "_count"}
}
