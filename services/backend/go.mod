module github.com/mcpbox/mcpbox/services/backend

go 1.26.0

require (
	github.com/mcpbox/mcpbox/db v0.0.0
	github.com/mcpbox/mcpbox/proto v0.0.0
)

require (
	github.com/labstack/echo/v5 v5.4.4 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
)

replace github.com/mcpbox/mcpbox/proto => ../../proto

replace github.com/mcpbox/mcpbox/db => ../../db
