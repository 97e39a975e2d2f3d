// This file only fences off the npm side of the repository: a directory with
// its own go.mod is a separate module, so `go vet ./...` and `go test ./...`
// in the root never walk into conformance/node_modules (npm packages sometimes
// ship .go files, and the tree is large). There is no Go code here.
module github.com/rewindhq/rewind/conformance-npm-guard

go 1.26.0
