module github.com/mcpbox/mcpbox/services/edge

go 1.26.0

require github.com/mcpbox/mcpbox/proto v0.0.0

require github.com/prometheus/client_golang v1.25.0 // indirect

replace github.com/mcpbox/mcpbox/proto => ../../proto
