module github.com/arqhost/arqhost/modules/examples/extism-go

go 1.26

require github.com/extism/go-pdk v1.1.3
