// Negative fixture (OPS-41): replace directives that leave the repository.
module example.com/fixture/outside

go 1.26.0

require (
	example.com/a v1.0.0
	example.com/b v1.0.0
	example.com/c v1.0.0
)

replace example.com/a => ../../../../../elsewhere/a

replace (
	example.com/b v1.0.0 => github.com/someone/b-fork v1.0.1 // a fork
	example.com/c => ./vendor-c
)
