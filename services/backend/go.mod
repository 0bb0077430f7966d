module github.com/mcpbox/mcpbox/services/backend

go 1.26.0

require (
	github.com/mcpbox/mcpbox/db v0.0.0
	github.com/mcpbox/mcpbox/proto v0.0.0
)

replace github.com/mcpbox/mcpbox/proto => ../../proto

replace github.com/mcpbox/mcpbox/db => ../../db
