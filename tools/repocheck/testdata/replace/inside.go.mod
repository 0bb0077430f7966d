// Fixture (OPS-41): replace directives that stay inside the repository.
module example.com/fixture/inside

go 1.26.0

require example.com/proto v0.0.0

replace example.com/proto => ../../../../proto

replace (
	example.com/db => ../../../../db
)
