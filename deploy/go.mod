module github.com/mcpbox/mcpbox/deploy

go 1.26.0
