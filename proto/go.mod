module github.com/mcpbox/mcpbox/proto

go 1.26.0
